#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A scalar binary function, specialised into the broadcasting loop.
protocol _BinaryOp {
  static func apply(_ a: Float, _ b: Float) -> Float
}

enum _AddOp: _BinaryOp {
  @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
}
enum _SubOp: _BinaryOp {
  @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b }
}
enum _MulOp: _BinaryOp {
  @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
}
enum _DivOp: _BinaryOp {
  @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b }
}
/// Keeps `a` and ignores `b`: broadcasting `a` to the shape of `b`.
enum _FirstOp: _BinaryOp {
  @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a }
}

/// The NumPy broadcast of two shapes (aligned on the right; extents equal or 1).
func _broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
  let r = max(a.count, b.count)
  var out = [Int](repeating: 1, count: r)
  for i in 0..<r {
    let da = i < r - a.count ? 1 : a[i - (r - a.count)]
    let db = i < r - b.count ? 1 : b[i - (r - b.count)]
    precondition(da == db || da == 1 || db == 1, "cannot broadcast shapes \(a) and \(b)")
    out[i] = da == 1 ? db : da
  }
  return out
}

/// Strides of `shape` seen as a broadcast operand of `out` (0 along broadcast axes).
func _broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
  let r = out.count
  var strides = [Int](repeating: 0, count: r)
  var s = 1
  for i in stride(from: shape.count - 1, through: 0, by: -1) {
    let oi = i + r - shape.count
    strides[oi] = shape[i] == 1 ? 0 : s
    s *= shape[i]
  }
  return strides
}

/// `op(a, b)` elementwise with broadcasting to `shape` (at least the broadcast of both).
func _binaryKernel<Op: _BinaryOp>(
  _ a: Tensor, _ b: Tensor, _: Op.Type, shape given: [Int]? = nil
) -> Tensor {
  let shape = given ?? _broadcastShape(a.shape, b.shape)
  let n = _product(shape)
  let pa = a.storage.base
  let pb = b.storage.base
  let (sa0, sb0) = (_SendablePointer(pa), _SendablePointer(pb))
  if a.shape == shape && b.shape == shape {
    return Tensor(shape: shape) { o in
      let so = _SendablePointer(o)
      _parallelRanges(n, grain: _elementwiseGrain) { r in
        for i in r { so.p[i] = Op.apply(sa0.p[i], sb0.p[i]) }
      }
    }
  }
  if b.count == 1 && a.shape == shape {
    let s = pb[0]
    return Tensor(shape: shape) { o in
      let so = _SendablePointer(o)
      _parallelRanges(n, grain: _elementwiseGrain) { r in
        for i in r { so.p[i] = Op.apply(sa0.p[i], s) }
      }
    }
  }
  if a.count == 1 && b.shape == shape {
    let s = pa[0]
    return Tensor(shape: shape) { o in
      let so = _SendablePointer(o)
      _parallelRanges(n, grain: _elementwiseGrain) { r in
        for i in r { so.p[i] = Op.apply(s, sb0.p[i]) }
      }
    }
  }
  let r = shape.count
  let sa = _broadcastStrides(a.shape, to: shape)
  let sb = _broadcastStrides(b.shape, to: shape)
  let inner = shape[r - 1]
  let ia = sa[r - 1]
  let ib = sb[r - 1]
  return Tensor(shape: shape) { o in
    if n == 0 { return }
    var index = [Int](repeating: 0, count: r)
    var oa = 0
    var ob = 0
    var out = o
    for _ in 0..<(n / inner) {
      if ia == 1 && ib == 1 {
        for j in 0..<inner { out[j] = Op.apply(pa[oa + j], pb[ob + j]) }
      } else if ia == 1 && ib == 0 {
        let s = pb[ob]
        for j in 0..<inner { out[j] = Op.apply(pa[oa + j], s) }
      } else if ia == 0 && ib == 1 {
        let s = pa[oa]
        for j in 0..<inner { out[j] = Op.apply(s, pb[ob + j]) }
      } else {
        for j in 0..<inner { out[j] = Op.apply(pa[oa + j * ia], pb[ob + j * ib]) }
      }
      out += inner
      // Advance the index over all axes but the last, carrying like an odometer.
      var d = r - 2
      while d >= 0 {
        index[d] += 1
        oa += sa[d]
        ob += sb[d]
        if index[d] < shape[d] { break }
        oa -= sa[d] * shape[d]
        ob -= sb[d] * shape[d]
        index[d] = 0
        d -= 1
      }
    }
  }
}

/// A scalar unary function, specialised into the elementwise loop.
protocol _UnaryOp {
  static func apply(_ x: Float) -> Float
}

/// `op(x)` elementwise.
func _unaryKernel<Op: _UnaryOp>(_ x: Tensor, _: Op.Type) -> Tensor {
  let n = x.count
  let p = _SendablePointer(x.storage.base)
  return Tensor(shape: x.shape) { o in
    let so = _SendablePointer(o)
    _parallelRanges(n, grain: _elementwiseGrain) { r in
      for i in r { so.p[i] = Op.apply(p.p[i]) }
    }
  }
}

/// Elements per thread below which an elementwise loop stays on one thread (dispatch costs
/// microseconds; a loop this size takes about as long).
let _elementwiseGrain = 1 << 15

enum _NegOp: _UnaryOp { @inline(__always) static func apply(_ x: Float) -> Float { -x } }
enum _ExpOp: _UnaryOp { @inline(__always) static func apply(_ x: Float) -> Float { _exp(x) } }
enum _LogOp: _UnaryOp { @inline(__always) static func apply(_ x: Float) -> Float { logf(x) } }
enum _SqrtOp: _UnaryOp {
  @inline(__always) static func apply(_ x: Float) -> Float { x.squareRoot() }
}
enum _TanhOp: _UnaryOp { @inline(__always) static func apply(_ x: Float) -> Float { _tanh(x) } }
enum _SigmoidOp: _UnaryOp {
  @inline(__always) static func apply(_ x: Float) -> Float { _sigmoid(x) }
}
enum _ReluOp: _UnaryOp {
  @inline(__always) static func apply(_ x: Float) -> Float { x > 0 ? x : 0 }
}
enum _ReluGradOp: _UnaryOp {
  @inline(__always) static func apply(_ x: Float) -> Float { x > 0 ? 1 : 0 }
}

/// GELU, tanh form (as in GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
enum _GeluOp: _UnaryOp {
  static let c: Float = 0.7978845608
  @inline(__always) static func apply(_ x: Float) -> Float {
    0.5 * x * (1 + _tanh(c * (x + 0.044715 * x * x * x)))
  }
}

/// The derivative of `_GeluOp`.
enum _GeluGradOp: _UnaryOp {
  @inline(__always) static func apply(_ x: Float) -> Float {
    let u = _GeluOp.c * (x + 0.044715 * x * x * x)
    let t = _tanh(u)
    let du = _GeluOp.c * (1 + 3 * 0.044715 * x * x)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
  }
}
