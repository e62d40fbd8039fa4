import CKEngine
import Testing

/// Sequence reversal: `d1 … dL SEP dL … d1`; the model sees all but the last token and is scored
/// on predicting the L reversed digits (other positions are unlabelled, -1).
struct ReversalTask {
  let length: Int
  let separator: Int32 = 10
  var vocabulary: Int { 11 }
  var inputLength: Int { 2 * length }

  func batch(_ size: Int, _ g: RandomGenerator) -> (IntTensor, IntTensor) {
    var inputs: [Int32] = []
    var targets: [Int32] = []
    for _ in 0..<size {
      let digits = (0..<length).map { _ in Int32(g.nextInt(below: 10)) }
      let seq = digits + [separator] + digits.reversed()
      inputs += seq.dropLast()
      // Only the reversed digits are scored; the separator's position is fixed, so predicting it
      // would inflate the accuracy.
      targets += [Int32](repeating: -1, count: length) + digits.reversed()
    }
    return (
      try! IntTensor(shape: [size, inputLength], scalars: inputs),
      try! IntTensor(shape: [size * inputLength], scalars: targets)
    )
  }
}

/// A few paragraphs of plain English for the character-level test.
let smallCorpus = """
  The checkpoint store keeps every tensor of a training run under the hash of its bytes, so a \
  tensor that did not change between two saves is written once. A trainer that freezes the base \
  of a model and trains only the head therefore pays for the head alone. The engine that trains \
  the models is small on purpose: a tensor type, a tape that records operations, layers that \
  name their parameters after the properties that hold them, and optimizers whose state is named \
  after the parameters. A newcomer can read it in an afternoon and write a new layer the same \
  evening. The kernels are the only part that is tuned: matrix products use packed panels and a \
  register kernel, and both cores share the work without changing a single bit of the result. \
  When a run is interrupted, the store holds the model, the optimizer, the random generator and \
  the position of the data loader, and the run continues as if it had never stopped.
  """

extension EngineTests {
  @Suite struct TransformerTests {
    func trainStep(
      _ lm: TransformerLM, _ opt: any Optimizer, _ x: IntTensor, _ y: IntTensor
    ) throws -> Float {
      let tape = GradientTape()
      let loss = tape.record {
        softmaxCrossEntropy(logits: lm(x).reshaped([y.count, -1]), labels: y)
      }
      let (grads, _) = clipByGlobalNorm(tape.gradients(of: loss, for: lm), maxNorm: 1)
      try opt.update(lm, gradients: grads)
      return loss.item
    }

    /// Acceptance 2a: 2 layers, 4 heads, width 64 learn reversal to ≥ 99% token accuracy.
    @Test func learnsToReverseDigitStrings() throws {
      let task = ReversalTask(length: 5)
      let g = RandomGenerator(seed: 1)
      let lm = TransformerLM(
        vocabularySize: task.vocabulary, width: 64, heads: 4, layers: 2,
        maxLength: task.inputLength, generator: g)
      let steps = 300
      let opt = AdamW(
        learningRate: .warmupCosine(peak: 3e-3, warmupSteps: 30, totalSteps: steps, minimum: 1e-4),
        weightDecay: 0)
      let data = RandomGenerator(seed: 2)
      var loss: Float = 0
      for _ in 0..<steps {
        let (x, y) = task.batch(64, data)
        loss = try trainStep(lm, opt, x, y)
      }
      let (x, y) = task.batch(500, RandomGenerator(seed: 3))
      let predicted = lm(x).argmaxLastAxis().scalars
      let scored = zip(predicted, y.scalars).filter { $0.1 >= 0 }
      let acc = Double(scored.filter { $0.0 == $0.1 }.count) / Double(scored.count)
      print("reversal: token accuracy \(acc), final loss \(loss)")
      #expect(acc >= 0.99)
    }

    /// Acceptance 2b: on a small text, the loss drops clearly below the unigram entropy.
    @Test func characterModelBeatsTheUnigramBaseline() throws {
      let ds = try CharacterDataset(text: smallCorpus, length: 32, stride: 4)
      let g = RandomGenerator(seed: 4)
      let lm = TransformerLM(
        vocabularySize: ds.vocabulary.count, width: 64, heads: 4, layers: 2, maxLength: 32,
        generator: g)
      let opt = Adam(learningRate: .constant(2e-3))
      let batches = try MinibatchIterator(count: ds.windowCount, batchSize: 16, seed: 5)
      var recent: [Float] = []
      for _ in 0..<150 {
        let (x, y) = ds.batch(batches.next())
        recent.append(try trainStep(lm, opt, x, y.reshaped()))
      }
      let final = Double(recent.suffix(10).reduce(0, +) / 10)
      print("text: loss \(final) nats/char vs unigram \(ds.unigramEntropy)")
      #expect(final < ds.unigramEntropy - 0.5)
    }

    /// Acceptance 4 for the transformer: identical bits with one and two threads and across runs.
    @Test func transformerStepsAreBitIdenticalAcrossThreadCounts() throws {
      let task = ReversalTask(length: 5)
      func run(threads: Int) throws -> [Tensor] {
        CKEngine.threadCount = threads
        defer { CKEngine.threadCount = 2 }
        let lm = TransformerLM(
          vocabularySize: task.vocabulary, width: 64, heads: 4, layers: 2,
          maxLength: task.inputLength, generator: RandomGenerator(seed: 7))
        let opt = Adam(learningRate: .constant(1e-3))
        let data = RandomGenerator(seed: 8)
        for _ in 0..<5 {
          let (x, y) = task.batch(64, data)
          _ = try trainStep(lm, opt, x, y)
        }
        return lm.parameters().map(\.value) + opt.stateTensors().map(\.tensor)
      }
      let a = try run(threads: 2)
      let b = try run(threads: 1)
      let c = try run(threads: 2)
      #expect(a.count == 3 * 38)
      #expect(zip(a, b).allSatisfy { $0.bitwiseEquals($1) })
      #expect(zip(a, c).allSatisfy { $0.bitwiseEquals($1) })
    }
  }
}

extension IntTensor {
  /// The same ids as a flat [count] tensor.
  func reshaped() -> IntTensor { try! IntTensor(shape: [count], scalars: scalars) }
}
