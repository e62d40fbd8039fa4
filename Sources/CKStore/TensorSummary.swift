/// Summary statistics of one tensor's values, for `ckstore show REV TENSOR`.
///
/// Values are widened to Double. `min`, `max`, `mean` and `std` (population) are over the finite
/// elements; NaN and ±inf are counted. The histogram has `bins` equal-width bins from `min` to
/// `max` over the finite elements (one bin when they are all equal).
public struct TensorSummary: Equatable, Sendable {
  /// All elements.
  public var elements: Int
  /// NaN elements.
  public var nanCount: Int
  /// +inf and −inf elements.
  public var positiveInfCount: Int, negativeInfCount: Int
  /// Elements equal to zero.
  public var zeroCount: Int
  /// Over the finite elements; nil when there are none.
  public var min: Double?, max: Double?, mean: Double?, std: Double?
  /// Counts per bin over [min, max] of the finite elements; empty when there are none.
  public var histogram: [Int]
  /// The first `firstCount` values, in storage order.
  public var first: [Double]

  /// Summarises canonical little-endian bytes of `dtype`, or nil when the dtype has no scalar
  /// values (complex and sub-byte packed types).
  public static func compute(
    _ bytes: UnsafeRawBufferPointer, dtype: DType, bins: Int = 10, firstCount: Int = 8
  ) -> TensorSummary? {
    guard TensorValues.hasScalarValues(dtype) else { return nil }
    let n = bytes.count / dtype.size
    var s = TensorSummary(
      elements: n, nanCount: 0, positiveInfCount: 0, negativeInfCount: 0, zeroCount: 0,
      histogram: [], first: [])
    var low = Double.infinity
    var high = -Double.infinity
    var sum = 0.0
    var finite = 0
    for i in 0..<n {
      let x = TensorValues.value(bytes, dtype, i)
      if i < firstCount { s.first.append(x) }
      if x.isNaN {
        s.nanCount += 1
      } else if x.isInfinite {
        if x > 0 { s.positiveInfCount += 1 } else { s.negativeInfCount += 1 }
      } else {
        finite += 1
        sum += x
        low = Swift.min(low, x)
        high = Swift.max(high, x)
        if x == 0 { s.zeroCount += 1 }
      }
    }
    guard finite > 0 else { return s }
    let mean = sum / Double(finite)
    var squares = 0.0
    var histogram = [Int](repeating: 0, count: high > low ? Swift.max(1, bins) : 1)
    for i in 0..<n {
      let x = TensorValues.value(bytes, dtype, i)
      guard x.isFinite else { continue }
      squares += (x - mean) * (x - mean)
      let bin = high > low ? Int((x - low) / (high - low) * Double(histogram.count)) : 0
      histogram[Swift.min(bin, histogram.count - 1)] += 1
    }
    s.min = low
    s.max = high
    s.mean = mean
    s.std = (squares / Double(finite)).squareRoot()
    s.histogram = histogram
    return s
  }
}
