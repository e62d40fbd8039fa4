// Micro-kernels the Swift engine calls when the CPU supports them. Swift's default code generation
// targets baseline x86-64 (SSE2, no FMA); these functions are compiled for AVX2+FMA through a
// function attribute and are only called after ck_has_avx2_fma() said yes, so the package needs
// no unsafe flags.
#ifndef CKKERNELS_H
#define CKKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// 1 if the CPU supports AVX2 and FMA (the kernels below may be called), else 0.
int ck_has_avx2_fma(void);

/// C[6x16] (+)= A[6 x kc] * B[kc x 16], both read through strides:
/// A(i, p) = a[i*ars + p*aks] (packed panels: ars 1, aks 6); B(p, j) = b[p*bks + j], 16 floats
/// per k step (packed panels: bks 16); c: row-major with row stride ldc; accumulate: 0 overwrites
/// C, 1 adds to it. Every C element is one chain of fused multiply-adds over p = 0, 1, ... kc-1.
void ck_sgemm_6x16_avx2(long kc, const float *a, long ars, long aks, const float *b, long bks,
                        float *c, long ldc, int accumulate);

/// One Adam/AdamW step over n elements, in place:
/// w' = w*keep; g' = g + l2*w'; m = b1*m + (1-b1)*g'; v = b2*v + (1-b2)*g'^2;
/// w = w' - lr * (m/c1) / (sqrt(v/c2) + eps).
/// Uses AVX2/FMA when ck_has_avx2_fma() (8 lanes, fused multiply-adds), SSE2 otherwise.
void ck_adam_update(long n, float *w, const float *g, float *m, float *v, float lr, float b1,
                    float b2, float eps, float c1, float c2, float keep, float l2);

#ifdef __cplusplus
}
#endif
#endif
