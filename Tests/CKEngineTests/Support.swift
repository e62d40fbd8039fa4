import CKEngine
import Testing

/// A tensor of `shape` with entries drawn uniformly from [lo, hi).
func randomTensor(_ shape: [Int], _ gen: RandomGenerator, _ lo: Float = -1, _ hi: Float = 1)
  -> Tensor
{
  let n = shape.reduce(1, *)
  return try! Tensor(shape: shape, scalars: (0..<n).map { _ in lo + (hi - lo) * gen.nextFloat() })
}

/// The largest |a − b| relative to max(1, |b|) over all elements.
func maxRelativeError(_ a: [Float], _ b: [Double]) -> Double {
  zip(a, b).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
}

/// Reference product in Double: op(a)·op(b) for rank-2 row-major inputs.
func referenceMatmul(
  _ a: Tensor, _ b: Tensor, m: Int, n: Int, k: Int, ta: Bool, tb: Bool
) -> [Double] {
  let (x, y) = (a.scalars, b.scalars)
  var c = [Double](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n {
      var s = 0.0
      for p in 0..<k {
        s += Double(x[ta ? p * m + i : i * k + p]) * Double(y[tb ? j * k + p : p * n + j])
      }
      c[i * n + j] = s
    }
  }
  return c
}

/// The root of all engine suites, run one test at a time: some tests change engine-wide settings
/// (`CKEngine.threadCount`, `useNativeKernel`) that would otherwise leak into concurrent tests.
@Suite(.serialized) struct EngineTests {}
