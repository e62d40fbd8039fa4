/// How a parameter's initial values are drawn.
public enum Initializer: Sendable {
  /// All zeros.
  case zeros
  /// All ones.
  case ones
  /// Normal with mean 0 and the given standard deviation.
  case normal(standardDeviation: Float)
  /// Glorot/Xavier uniform: U(−a, a) with a = √(6 / (fanIn + fanOut)).
  case glorotUniform
  /// He/Kaiming normal: N(0, 2 / fanIn), for ReLU layers.
  case heNormal

  /// A tensor of `shape` drawn from `generator`. Fan-in is `shape[0]` and fan-out the product of
  /// the remaining axes (the [in, out] layout of `Dense.weight`).
  public func make(shape: [Int], generator: RandomGenerator) -> Tensor {
    let fanIn = Float(shape.first ?? 1)
    let fanOut = Float(shape.dropFirst().reduce(1, *))
    let n = _product(shape)
    switch self {
    case .zeros: return Tensor(shape: shape, repeating: 0)
    case .ones: return Tensor(shape: shape, repeating: 1)
    case .normal(let sd):
      return Tensor(shape: shape) { p in for i in 0..<n { p[i] = generator.nextNormal() * sd } }
    case .glorotUniform:
      let a = (6 / (fanIn + fanOut)).squareRoot()
      return Tensor(shape: shape) { p in
        for i in 0..<n { p[i] = (generator.nextFloat() * 2 - 1) * a }
      }
    case .heNormal:
      let sd = (2 / fanIn).squareRoot()
      return Tensor(shape: shape) { p in for i in 0..<n { p[i] = generator.nextNormal() * sd } }
    }
  }
}
