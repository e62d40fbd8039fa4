#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Softmax along the last axis, stable for large inputs (the row maximum is subtracted first).
public func softmax(_ x: Tensor) -> Tensor {
  let out = _softmaxKernel(x, log: false)
  guard let tape = _activeTape(x) else { return out }
  return tape._append(out, inputs: [x]) { g in
    [out * (g - (g * out).sum(axes: [-1], keepDims: true))]
  }
}

/// log(softmax(x)) along the last axis, computed as x − max − log Σ exp(x − max).
public func logSoftmax(_ x: Tensor) -> Tensor {
  let out = _softmaxKernel(x, log: true)
  guard let tape = _activeTape(x) else { return out }
  return tape._append(out, inputs: [x]) { g in
    [g - out.exp() * g.sum(axes: [-1], keepDims: true)]
  }
}

/// Row-wise (log-)softmax over the last axis.
func _softmaxKernel(_ x: Tensor, log: Bool) -> Tensor {
  precondition(x.rank >= 1, "softmax of a scalar")
  let n = x.shape[x.rank - 1]
  let rows = n == 0 ? 0 : x.count / n
  let sp = _SendablePointer(x.storage.base)
  return Tensor(shape: x.shape) { out in
    let so = _SendablePointer(out)
    _parallelRanges(rows, grain: max(1, _elementwiseGrain / max(n, 1))) { range in
      _softmaxRows(range, n, sp.p, so.p, log: log)
    }
  }
}

/// Softmax of `rows` rows of length `n` from `p` into `o`.
@inline(__always)
func _softmaxRows(
  _ rows: Range<Int>, _ n: Int, _ p: UnsafeMutablePointer<Float>, _ o: UnsafeMutablePointer<Float>,
  log: Bool
) {
  for r in rows {
    let src = p + r * n
    let dst = o + r * n
    var m = -Float.infinity
    for j in 0..<n { m = Swift.max(m, src[j]) }
    // Exponentials in their own loop so it vectorises; the sum follows in index order.
    for j in 0..<n { dst[j] = _exp(src[j] - m) }
    var s: Float = 0
    for j in 0..<n { s += dst[j] }
    if log {
      let ls = logf(s)
      for j in 0..<n { dst[j] = (src[j] - m) - ls }
    } else {
      let inv = 1 / s
      for j in 0..<n { dst[j] *= inv }
    }
  }
}
