import CKCheckpoint
import CKEngine
import CKStore
import Foundation
import Testing

/// The custom training loop of docs/CHECKPOINTS.md, run twice against one store: the second run
/// restores and continues, and ends where an uninterrupted run ends.
@Suite struct DocsExampleTests {
  /// The documented loop, with `stopAt` to interrupt it; returns the final parameters.
  func documentedLoop(storePath: String, until steps: Int64, stopAt: Int64? = nil) throws
    -> (restoredFrom: String?, parameters: [Tensor])
  {
    let store =
      FileManager.default.fileExists(atPath: storePath + "/config")
      ? try Store.open(at: storePath) : try Store.create(at: storePath)
    let generator = RandomGenerator(seed: 0)
    let (train, _) = try DigitsDataset.load().split(seed: 0)
    let model = Sequential([
      Dense(inputSize: 64, outputSize: 64, activation: .relu, generator: generator),
      Dense(inputSize: 64, outputSize: 10, generator: generator),
    ])
    let optimizer = Adam(learningRate: .constant(1e-3))
    let batches = try MinibatchIterator(count: train.count, batchSize: 32, seed: 1)

    let checkpoint = Checkpoint()
    try checkpoint.track(model, as: "model")
    try checkpoint.track(optimizer, as: "optimizer", updating: model)
    try checkpoint.track(generator, as: "rng")
    try checkpoint.track(batches, as: "data")
    let manager = try CheckpointManager(
      checkpoint, store: store, branch: "main", maxToKeep: 3, saveInterval: 100)
    let restored = try manager.restoreOrInitialize()

    while checkpoint.step < (stopAt ?? steps) {
      let (x, y) = train.batch(batches.next())
      let tape = GradientTape()
      let loss = tape.record { softmaxCrossEntropy(logits: model(x), labels: y) }
      try optimizer.update(model, gradients: tape.gradients(of: loss, for: model))
      checkpoint.step += 1
      try manager.save(metrics: ["loss": Double(loss.item)])
    }
    return (restored?.name, model.parameters().map(\.value))
  }

  @Test func theDocumentedLoopResumesExactly() throws {
    let base = NSTemporaryDirectory() + "ckstore-docs-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: base) }
    let straight = try documentedLoop(storePath: base + "/a", until: 500)
    #expect(straight.restoredFrom == nil)

    let first = try documentedLoop(storePath: base + "/b", until: 500, stopAt: 300)
    #expect(first.restoredFrom == nil)
    let second = try documentedLoop(storePath: base + "/b", until: 500)
    #expect(second.restoredFrom == "step-300")
    #expect(zip(straight.parameters, second.parameters).allSatisfy { $0.bitwiseEquals($1) })
    #expect(!zip(first.parameters, second.parameters).allSatisfy { $0.bitwiseEquals($1) })

    let store = try Store.open(at: base + "/b")
    let history = try store.history(from: try store.resolve("main").id)
    #expect(history.map(\.step) == [500, 400, 300, 200, 100])
    #expect(history.filter { store.isPruned($0.id) }.map(\.step) == [200, 100])
  }
}
