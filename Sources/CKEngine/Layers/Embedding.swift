/// A learned lookup table from token ids to vectors.
public final class Embedding: Module {
  /// The [vocabularySize, dimension] table.
  public let weight: Parameter

  /// A table with N(0, 0.02²) entries drawn from `generator` (as in GPT-2).
  public init(vocabularySize: Int, dimension: Int, generator: RandomGenerator) {
    weight = Parameter(
      Initializer.normal(standardDeviation: 0.02).make(
        shape: [vocabularySize, dimension], generator: generator))
  }

  /// The rows for `ids` (any shape), giving [ids.shape..., dimension].
  ///
  /// - Precondition: every id is in 0..<vocabularySize.
  public func callAsFunction(_ ids: IntTensor) -> Tensor { embedding(weight.value, ids) }
}

/// Layer normalisation over the last axis with a learned scale (`weight`) and offset (`bias`).
public final class LayerNorm: Layer {
  /// The per-feature scale, initialised to 1.
  public let weight: Parameter
  /// The per-feature offset, initialised to 0.
  public let bias: Parameter
  /// Added to the variance for stability.
  public let epsilon: Float

  /// A layer norm over features of size `size`.
  public init(size: Int, epsilon: Float = 1e-5) {
    weight = Parameter(Tensor(shape: [size], repeating: 1))
    bias = Parameter(Tensor(shape: [size]))
    self.epsilon = epsilon
  }

  /// Normalises `input` over its last axis.
  public func callAsFunction(_ input: Tensor) -> Tensor {
    layerNorm(input, gamma: weight.value, beta: bias.value, epsilon: epsilon)
  }
}
