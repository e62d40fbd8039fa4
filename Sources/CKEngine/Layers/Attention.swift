/// Multi-head self-attention over [batch, time, width] inputs, optionally causal.
///
/// Projections `wq`, `wk`, `wv`, `wo` are Dense layers of width × width; heads split the width.
/// Scores are scaled by 1/√(headWidth); a causal layer gives weight exactly 0 above the diagonal
/// (`scaledSoftmax`) so position t only attends to positions ≤ t.
public final class MultiHeadSelfAttention: Layer {
  /// Query projection.
  public let wq: Dense
  /// Key projection.
  public let wk: Dense
  /// Value projection.
  public let wv: Dense
  /// Output projection.
  public let wo: Dense
  /// The number of heads.
  public let heads: Int
  /// Whether position t may only attend to positions ≤ t.
  public let causal: Bool

  /// An attention layer of `width` split over `heads` heads.
  ///
  /// - Precondition: `width` is a multiple of `heads`.
  public init(width: Int, heads: Int, causal: Bool, generator: RandomGenerator) {
    precondition(
      heads > 0 && width % heads == 0, "width \(width) is not a multiple of \(heads) heads")
    wq = Dense(inputSize: width, outputSize: width, generator: generator)
    wk = Dense(inputSize: width, outputSize: width, generator: generator)
    wv = Dense(inputSize: width, outputSize: width, generator: generator)
    wo = Dense(inputSize: width, outputSize: width, generator: generator)
    self.heads = heads
    self.causal = causal
  }

  /// Attends over `input` [batch, time, width], giving the same shape.
  public func callAsFunction(_ input: Tensor) -> Tensor {
    precondition(
      input.rank == 3, "attention input must be [batch, time, width], got \(input.shape)")
    let (b, t, d) = (input.shape[0], input.shape[1], input.shape[2])
    let hd = d / heads
    func split(_ x: Tensor) -> Tensor { x.reshaped([b, t, heads, hd]).transposed([0, 2, 1, 3]) }
    let q = split(wq(input))
    let k = split(wk(input))
    let v = split(wv(input))
    let scores = matmul(q, k, transposeB: true)
    let weights = scaledSoftmax(scores, scale: 1 / Float(hd).squareRoot(), causal: causal)
    let mixed = matmul(weights, v)  // [b, heads, t, hd]
    return wo(mixed.transposed([0, 2, 1, 3]).reshaped([b, t, d]))
  }
}

/// A pre-norm transformer block: x + attention(ln1(x)), then + mlp(ln2(·)).
public final class TransformerBlock: Layer {
  /// Normalisation before attention.
  public let ln1: LayerNorm
  /// Self-attention.
  public let attention: MultiHeadSelfAttention
  /// Normalisation before the MLP.
  public let ln2: LayerNorm
  /// The position-wise MLP (width → 4·width → width by default).
  public let mlp: MLP

  /// A block of the given width and heads; `causal` for language models.
  public init(
    width: Int, heads: Int, hidden: Int? = nil, causal: Bool = true, generator: RandomGenerator
  ) {
    ln1 = LayerNorm(size: width)
    attention = MultiHeadSelfAttention(
      width: width, heads: heads, causal: causal, generator: generator)
    ln2 = LayerNorm(size: width)
    mlp = MLP(width: width, hidden: hidden ?? 4 * width, generator: generator)
  }

  /// Applies the block to [batch, time, width].
  public func callAsFunction(_ input: Tensor) -> Tensor {
    let h = input + attention(ln1(input))
    return h + mlp(ln2(h))
  }
}

/// A small causal transformer language model: token and position embeddings, blocks, a final
/// layer norm and a linear head to vocabulary logits.
public final class TransformerLM: Module {
  /// Token embeddings [vocabularySize, width].
  public let tokenEmbedding: Embedding
  /// Learned position embeddings [maxLength, width].
  public let positionEmbedding: Embedding
  /// The transformer blocks, named `blocks.<i>`.
  public let blocks: [TransformerBlock]
  /// The final normalisation.
  public let finalNorm: LayerNorm
  /// The projection to logits.
  public let head: Dense
  /// The longest sequence the position table covers.
  public let maxLength: Int

  /// A model with `layers` causal blocks of `width` and `heads`.
  public init(
    vocabularySize: Int, width: Int, heads: Int, layers: Int, maxLength: Int,
    generator: RandomGenerator
  ) {
    tokenEmbedding = Embedding(
      vocabularySize: vocabularySize, dimension: width, generator: generator)
    positionEmbedding = Embedding(vocabularySize: maxLength, dimension: width, generator: generator)
    blocks = (0..<layers).map { _ in
      TransformerBlock(width: width, heads: heads, causal: true, generator: generator)
    }
    finalNorm = LayerNorm(size: width)
    head = Dense(inputSize: width, outputSize: vocabularySize, generator: generator)
    self.maxLength = maxLength
  }

  /// Logits [batch, time, vocabularySize] for token ids [batch, time].
  ///
  /// - Precondition: time ≤ maxLength and ids are in the vocabulary.
  public func callAsFunction(_ ids: IntTensor) -> Tensor {
    precondition(
      ids.shape.count == 2 && ids.shape[1] <= maxLength,
      "ids must be [batch, ≤\(maxLength)], got \(ids.shape)")
    let t = ids.shape[1]
    let positions = IntTensor((0..<t).map { Int32($0) })
    var h = tokenEmbedding(ids) + positionEmbedding(positions)
    for block in blocks { h = block(h) }
    return head(finalNorm(h))
  }
}
