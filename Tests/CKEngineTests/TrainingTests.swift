import CKEngine
import Testing

/// The TF2 checkpoint-guide model on digits: Dense(64, relu) → Dense(10).
func digitsModel(_ g: RandomGenerator) -> Sequential {
  Sequential([
    Dense(inputSize: 64, outputSize: 64, activation: .relu, generator: g),
    Dense(inputSize: 64, outputSize: 10, generator: g),
  ])
}

/// One forward + backward + optimizer step; returns the loss.
@discardableResult
func trainStep(_ model: Sequential, _ opt: any Optimizer, _ x: Tensor, _ y: IntTensor) throws
  -> Float
{
  let tape = GradientTape()
  let loss = tape.record { softmaxCrossEntropy(logits: model(x), labels: y) }
  try opt.update(model, gradients: tape.gradients(of: loss, for: model))
  return loss.item
}

/// Fraction of `data` classified correctly.
func accuracy(_ model: Sequential, _ data: DigitsDataset) -> Double {
  let predicted = model(data.features).argmaxLastAxis().scalars
  return Double(zip(predicted, data.labels.scalars).filter { $0 == $1 }.count) / Double(data.count)
}

extension EngineTests {
  @Suite struct TrainingTests {
    /// Acceptance 1: ≥ 97% test accuracy within 30 epochs with Adam(1e-3), batch 32.
    @Test func digitsReach97PercentWithin30Epochs() throws {
      let (train, test) = try DigitsDataset.load().split(seed: 0)
      let g = RandomGenerator(seed: 0)
      let model = digitsModel(g)
      let opt = Adam(learningRate: .constant(1e-3))
      let batches = try MinibatchIterator(count: train.count, batchSize: 32, seed: 1)
      var best = 0.0
      var epochs = 0
      let initial = accuracy(model, test)
      while epochs < 30 && best < 0.97 {
        for _ in 0..<batches.batchesPerEpoch {
          let (x, y) = train.batch(batches.next())
          try trainStep(model, opt, x, y)
        }
        epochs += 1
        best = max(best, accuracy(model, test))
      }
      print("digits: test accuracy \(best) after \(epochs) epochs (initial \(initial))")
      #expect(initial < 0.3)
      #expect(best >= 0.97)
    }

    /// Acceptance 4: same seed → identical parameters and optimizer state after N steps, whatever
    /// the thread count.
    @Test func twoRunsWithTheSameSeedAreBitIdentical() throws {
      let (train, _) = try DigitsDataset.load().split(seed: 0)
      func run(threads: Int) throws -> [Tensor] {
        CKEngine.threadCount = threads
        defer { CKEngine.threadCount = 2 }
        let g = RandomGenerator(seed: 5)
        let model = digitsModel(g)
        let opt = AdamW(
          learningRate: .warmupCosine(peak: 1e-2, warmupSteps: 5, totalSteps: 40, minimum: 1e-4))
        let batches = try MinibatchIterator(count: train.count, batchSize: 32, seed: 6)
        for _ in 0..<40 {
          let (x, y) = train.batch(batches.next())
          try trainStep(model, opt, x, y)
        }
        return model.parameters().map(\.value) + opt.stateTensors().map(\.tensor)
      }
      let a = try run(threads: 2)
      let b = try run(threads: 2)
      let c = try run(threads: 1)
      #expect(a.count == 4 + 8)  // four parameters, m and v for each
      #expect(zip(a, b).allSatisfy { $0.bitwiseEquals($1) })
      #expect(zip(a, c).allSatisfy { $0.bitwiseEquals($1) })
    }
  }
}
