import CKEngine
import Testing

extension EngineTests {
  /// Gradients of every layer's parameters and inputs against central differences.
  @Suite struct LayerGradientTests {
    let check = GradientChecker()

    @Test func denseSequentialMLP() {
      let g = RandomGenerator(seed: 11)
      let model = Sequential([
        Dense(inputSize: 3, outputSize: 4, activation: .tanh, generator: g),
        MLP(width: 4, hidden: 6, generator: g),
        Dense(inputSize: 4, outputSize: 2, activation: .sigmoid, generator: g),
      ])
      let x = randomTensor([2, 3, 3], g)  // rank 3: rows of the last axis
      #expect(check.maxError(parametersOf: model) { model(x).squared().sum() } < check.tolerance)
      #expect(check.maxError([x]) { model($0[0]) } < check.tolerance)
    }

    @Test func embeddingAndLayerNorm() {
      let g = RandomGenerator(seed: 12)
      let e = Embedding(vocabularySize: 5, dimension: 4, generator: g)
      try! e.weight.assign(randomTensor([5, 4], g))  // O(1) entries: h = 1e-2 is then small
      let ln = LayerNorm(size: 4)
      try! ln.weight.assign(randomTensor([4], g, 0.5, 1.5))
      let ids = try! IntTensor(shape: [2, 3], scalars: [0, 4, 4, 2, 1, 0])
      let r = randomTensor([2, 3, 4], g)
      #expect(check.maxError(parametersOf: e) { (ln(e(ids)) * r).sum() } < check.tolerance)
      #expect(check.maxError(parametersOf: ln) { (ln(e(ids)) * r).sum() } < check.tolerance)
    }

    @Test(arguments: [false, true])
    func attention(causal: Bool) {
      let g = RandomGenerator(seed: 13)
      let att = MultiHeadSelfAttention(width: 8, heads: 2, causal: causal, generator: g)
      let x = randomTensor([2, 3, 8], g)
      let r = randomTensor([2, 3, 8], g)
      #expect(check.maxError(parametersOf: att) { (att(x) * r).sum() } < check.tolerance)
      #expect(check.maxError([x]) { att($0[0]) } < check.tolerance)
    }

    @Test func causalAttentionIgnoresTheFuture() {
      let g = RandomGenerator(seed: 14)
      let att = MultiHeadSelfAttention(width: 8, heads: 4, causal: true, generator: g)
      let x = randomTensor([1, 4, 8], g)
      var y = x
      y.withUnsafeMutableBufferPointer { p in for i in 24..<32 { p[i] += 5 } }  // change position 3
      let a = att(x).slice(axis: 1, 0..<3)
      let b = att(y).slice(axis: 1, 0..<3)
      #expect(a.bitwiseEquals(b))
      #expect(!att(x).bitwiseEquals(att(y)))
    }

    @Test func transformerLanguageModel() {
      let g = RandomGenerator(seed: 15)
      let lm = TransformerLM(
        vocabularySize: 5, width: 8, heads: 2, layers: 1, maxLength: 4, generator: g)
      // O(1) embeddings, so that h = 1e-2 is small relative to the entries the layer norms see.
      try! lm.tokenEmbedding.weight.assign(randomTensor([5, 8], g))
      try! lm.positionEmbedding.weight.assign(randomTensor([4, 8], g))
      let ids = try! IntTensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 0])
      let targets = try! IntTensor(shape: [6], scalars: [1, 2, 3, 4, 0, -1])
      let loss = { softmaxCrossEntropy(logits: lm(ids).reshaped([6, 5]), labels: targets) }
      #expect(check.maxError(parametersOf: lm, loss) < check.tolerance)
    }
  }
}
