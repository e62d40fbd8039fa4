/// An elementwise nonlinearity applied after a layer.
public enum Activation: String, Sendable, Codable {
  /// No activation.
  case identity
  /// max(x, 0).
  case relu
  /// GELU (tanh approximation).
  case gelu
  /// tanh.
  case tanh
  /// Logistic sigmoid.
  case sigmoid

  /// Applies the activation.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    switch self {
    case .identity: return x
    case .relu: return x.relu()
    case .gelu: return x.gelu()
    case .tanh: return x.tanh()
    case .sigmoid: return x.sigmoid()
    }
  }
}

/// A fully connected layer: `activation(x · weight + bias)`.
///
/// `weight` is [inputSize, outputSize] (so `x` [..., inputSize] needs no transpose) and `bias` is
/// [outputSize]. Inputs of rank > 2 are treated as rows of the last axis.
public final class Dense: Layer {
  /// The [inputSize, outputSize] weight matrix.
  public let weight: Parameter
  /// The [outputSize] bias, or nil for a layer without bias.
  public let bias: Parameter?
  /// The activation applied to the output.
  public let activation: Activation

  /// A layer with Glorot-uniform weights (He-normal for ReLU) drawn from `generator` and zero bias.
  public init(
    inputSize: Int, outputSize: Int, activation: Activation = .identity, useBias: Bool = true,
    generator: RandomGenerator
  ) {
    let initializer: Initializer = activation == .relu ? .heNormal : .glorotUniform
    weight = Parameter(initializer.make(shape: [inputSize, outputSize], generator: generator))
    bias = useBias ? Parameter(Tensor(shape: [outputSize])) : nil
    self.activation = activation
  }

  /// Applies the layer to `input` [..., inputSize], giving [..., outputSize].
  public func callAsFunction(_ input: Tensor) -> Tensor {
    let y = matmul(input, weight.value)
    guard let bias else { return activation(y) }
    return _biasActivation(y, bias.value, activation)
  }
}

/// A stack of layers applied in order; parameters are named `layers.<index>.<name>`.
public final class Sequential: Layer {
  /// The layers, first applied first.
  public let layers: [any Layer]

  /// A stack of `layers`.
  public init(_ layers: [any Layer]) { self.layers = layers }

  /// Applies every layer in turn.
  public func callAsFunction(_ input: Tensor) -> Tensor {
    layers.reduce(input) { $1($0) }
  }
}

/// Two dense layers with an activation between: width → hidden → width (the transformer MLP).
public final class MLP: Layer {
  /// The expanding layer, with the activation.
  public let fc1: Dense
  /// The projecting layer back to the input width.
  public let fc2: Dense

  /// An MLP of the given widths.
  public init(width: Int, hidden: Int, activation: Activation = .gelu, generator: RandomGenerator) {
    fc1 = Dense(inputSize: width, outputSize: hidden, activation: activation, generator: generator)
    fc2 = Dense(inputSize: hidden, outputSize: width, generator: generator)
  }

  /// fc2(fc1(x)).
  public func callAsFunction(_ input: Tensor) -> Tensor { fc2(fc1(input)) }
}
