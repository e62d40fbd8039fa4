extension Tensor {
  /// Elementwise sum with broadcasting.
  public static func + (a: Tensor, b: Tensor) -> Tensor {
    let out = _binaryKernel(a, b, _AddOp.self)
    guard let tape = _activeTape(a, b) else { return out }
    let (sa, sb) = (a.shape, b.shape)
    return tape._append(out, inputs: [a, b]) { g in [g._sumTo(sa), g._sumTo(sb)] }
  }

  /// Elementwise difference with broadcasting.
  public static func - (a: Tensor, b: Tensor) -> Tensor {
    let out = _binaryKernel(a, b, _SubOp.self)
    guard let tape = _activeTape(a, b) else { return out }
    let (sa, sb) = (a.shape, b.shape)
    return tape._append(out, inputs: [a, b]) { g in [g._sumTo(sa), (-g)._sumTo(sb)] }
  }

  /// Elementwise product with broadcasting.
  public static func * (a: Tensor, b: Tensor) -> Tensor {
    let out = _binaryKernel(a, b, _MulOp.self)
    guard let tape = _activeTape(a, b) else { return out }
    let (na, nb) = (_needs(a, tape), _needs(b, tape))
    return tape._append(out, inputs: [a, b]) { g in
      [na ? (g * b)._sumTo(a.shape) : nil, nb ? (g * a)._sumTo(b.shape) : nil]
    }
  }

  /// Elementwise quotient with broadcasting.
  public static func / (a: Tensor, b: Tensor) -> Tensor {
    let out = _binaryKernel(a, b, _DivOp.self)
    guard let tape = _activeTape(a, b) else { return out }
    let (na, nb) = (_needs(a, tape), _needs(b, tape))
    return tape._append(out, inputs: [a, b]) { g in
      [na ? (g / b)._sumTo(a.shape) : nil, nb ? (-(g * out) / b)._sumTo(b.shape) : nil]
    }
  }

  /// Elementwise negation.
  public static prefix func - (x: Tensor) -> Tensor {
    let out = _unaryKernel(x, _NegOp.self)
    guard let tape = _activeTape(x) else { return out }
    return tape._append(out, inputs: [x]) { g in [-g] }
  }

  /// Adds a scalar to every element.
  public static func + (a: Tensor, b: Float) -> Tensor { a + Tensor(b) }
  /// Subtracts a scalar from every element.
  public static func - (a: Tensor, b: Float) -> Tensor { a - Tensor(b) }
  /// Multiplies every element by a scalar.
  public static func * (a: Tensor, b: Float) -> Tensor { a * Tensor(b) }
  /// Divides every element by a scalar.
  public static func / (a: Tensor, b: Float) -> Tensor { a / Tensor(b) }
  /// Adds a scalar to every element.
  public static func + (a: Float, b: Tensor) -> Tensor { Tensor(a) + b }
  /// Subtracts every element from a scalar.
  public static func - (a: Float, b: Tensor) -> Tensor { Tensor(a) - b }
  /// Multiplies every element by a scalar.
  public static func * (a: Float, b: Tensor) -> Tensor { Tensor(a) * b }

  /// Sums a broadcast gradient back to `shape` (the shape of the operand that was broadcast).
  func _sumTo(_ shape: [Int]) -> Tensor {
    if self.shape == shape { return self }
    let pad = rank - shape.count
    var t = self
    for axis in 0..<rank where (axis < pad || shape[axis - pad] == 1) && self.shape[axis] != 1 {
      t = _reduceSum(t, axis: axis)
    }
    return Tensor(shape: shape, storage: t.storage)
  }

  /// This tensor broadcast to `shape` (a copy).
  public func broadcast(to shape: [Int]) -> Tensor {
    if self.shape == shape { return self }
    precondition(
      _broadcastShape(self.shape, shape) == shape, "cannot broadcast \(self.shape) to \(shape)")
    let out = _binaryKernel(self, Tensor(0), _FirstOp.self, shape: shape)
    guard let tape = _activeTape(self) else { return out }
    let s = self.shape
    return tape._append(out, inputs: [self]) { g in [g._sumTo(s)] }
  }
}

extension Tensor {
  /// eˣ elementwise.
  public func exp() -> Tensor {
    let out = _unaryKernel(self, _ExpOp.self)
    guard let tape = _activeTape(self) else { return out }
    return tape._append(out, inputs: [self]) { g in [g * out] }
  }

  /// Natural logarithm elementwise.
  public func log() -> Tensor {
    let out = _unaryKernel(self, _LogOp.self)
    guard let tape = _activeTape(self) else { return out }
    let x = self
    return tape._append(out, inputs: [self]) { g in [g / x] }
  }

  /// Square root elementwise.
  public func sqrt() -> Tensor {
    let out = _unaryKernel(self, _SqrtOp.self)
    guard let tape = _activeTape(self) else { return out }
    return tape._append(out, inputs: [self]) { g in [g * 0.5 / out] }
  }

  /// Hyperbolic tangent elementwise.
  public func tanh() -> Tensor {
    let out = _unaryKernel(self, _TanhOp.self)
    guard let tape = _activeTape(self) else { return out }
    return tape._append(out, inputs: [self]) { g in [g * (1 - out * out)] }
  }

  /// Logistic sigmoid 1/(1+e⁻ˣ) elementwise, stable for large |x|.
  public func sigmoid() -> Tensor {
    let out = _unaryKernel(self, _SigmoidOp.self)
    guard let tape = _activeTape(self) else { return out }
    return tape._append(out, inputs: [self]) { g in [g * out * (1 - out)] }
  }

  /// max(x, 0) elementwise; the gradient at 0 is taken as 0.
  public func relu() -> Tensor {
    let out = _unaryKernel(self, _ReluOp.self)
    guard let tape = _activeTape(self) else { return out }
    let x = self
    return tape._append(out, inputs: [self]) { g in [g * _unaryKernel(x, _ReluGradOp.self)] }
  }

  /// GELU (tanh approximation) elementwise.
  public func gelu() -> Tensor {
    let out = _unaryKernel(self, _GeluOp.self)
    guard let tape = _activeTape(self) else { return out }
    let x = self
    return tape._append(out, inputs: [self]) { g in [g * _unaryKernel(x, _GeluGradOp.self)] }
  }

  /// x² elementwise.
  public func squared() -> Tensor { self * self }
}
