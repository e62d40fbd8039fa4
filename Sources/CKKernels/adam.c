#include "CKKernels.h"
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// Square roots and divisions dominate a scalar Adam loop; these versions keep them in vector
// registers (Swift's SIMD square root is scalarised on baseline x86-64).
__attribute__((target("avx2,fma"))) static void adam_avx2(long n, float *w, const float *g,
                                                          float *m, float *v, float lr, float b1,
                                                          float b2, float eps, float c1, float c2,
                                                          float keep, float l2) {
  const __m256 vkeep = _mm256_set1_ps(keep), vl2 = _mm256_set1_ps(l2);
  const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
  const __m256 va1 = _mm256_set1_ps(1 - b1), va2 = _mm256_set1_ps(1 - b2);
  const __m256 vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
  const __m256 veps = _mm256_set1_ps(eps), vlr = _mm256_set1_ps(lr);
  long i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 wi = _mm256_mul_ps(_mm256_loadu_ps(w + i), vkeep);
    __m256 gi = _mm256_fmadd_ps(vl2, wi, _mm256_loadu_ps(g + i));
    __m256 mi = _mm256_fmadd_ps(va1, gi, _mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)));
    __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(va2, gi), gi, _mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vi, vc2)), veps);
    __m256 step = _mm256_div_ps(_mm256_div_ps(mi, vc1), den);
    _mm256_storeu_ps(w + i, _mm256_fnmadd_ps(vlr, step, wi));
  }
  for (; i < n; ++i) {
    float wi = w[i] * keep;
    float gi = fmaf(l2, wi, g[i]);
    m[i] = fmaf(1 - b1, gi, b1 * m[i]);
    v[i] = fmaf((1 - b2) * gi, gi, b2 * v[i]);
    w[i] = fmaf(-lr, (m[i] / c1) / (sqrtf(v[i] / c2) + eps), wi);
  }
}

static void adam_sse2(long n, float *w, const float *g, float *m, float *v, float lr, float b1,
                      float b2, float eps, float c1, float c2, float keep, float l2) {
  const __m128 vkeep = _mm_set1_ps(keep), vl2 = _mm_set1_ps(l2);
  const __m128 vb1 = _mm_set1_ps(b1), vb2 = _mm_set1_ps(b2);
  const __m128 va1 = _mm_set1_ps(1 - b1), va2 = _mm_set1_ps(1 - b2);
  const __m128 vc1 = _mm_set1_ps(c1), vc2 = _mm_set1_ps(c2);
  const __m128 veps = _mm_set1_ps(eps), vlr = _mm_set1_ps(lr);
  long i = 0;
  for (; i + 4 <= n; i += 4) {
    __m128 wi = _mm_mul_ps(_mm_loadu_ps(w + i), vkeep);
    __m128 gi = _mm_add_ps(_mm_loadu_ps(g + i), _mm_mul_ps(vl2, wi));
    __m128 mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(va1, gi));
    __m128 vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)), _mm_mul_ps(_mm_mul_ps(va2, gi), gi));
    _mm_storeu_ps(m + i, mi);
    _mm_storeu_ps(v + i, vi);
    __m128 den = _mm_add_ps(_mm_sqrt_ps(_mm_div_ps(vi, vc2)), veps);
    _mm_storeu_ps(w + i, _mm_sub_ps(wi, _mm_mul_ps(vlr, _mm_div_ps(_mm_div_ps(mi, vc1), den))));
  }
  for (; i < n; ++i) {
    float wi = w[i] * keep;
    float gi = g[i] + l2 * wi;
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + ((1 - b2) * gi) * gi;
    w[i] = wi - lr * ((m[i] / c1) / (sqrtf(v[i] / c2) + eps));
  }
}
#endif

void ck_adam_update(long n, float *w, const float *g, float *m, float *v, float lr, float b1,
                    float b2, float eps, float c1, float c2, float keep, float l2) {
#if defined(__x86_64__) || defined(__i386__)
  static int avx2 = -1;
  if (avx2 < 0) avx2 = ck_has_avx2_fma();
  if (avx2) {
    adam_avx2(n, w, g, m, v, lr, b1, b2, eps, c1, c2, keep, l2);
  } else {
    adam_sse2(n, w, g, m, v, lr, b1, b2, eps, c1, c2, keep, l2);
  }
#else
  for (long i = 0; i < n; ++i) {
    float wi = w[i] * keep;
    float gi = g[i] + l2 * wi;
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + ((1 - b2) * gi) * gi;
    w[i] = wi - lr * ((m[i] / c1) / (sqrtf(v[i] / c2) + eps));
  }
#endif
}
