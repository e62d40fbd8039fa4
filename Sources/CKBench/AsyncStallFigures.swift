import CKCheckpoint
import CKEngine
import CKStore
import Foundation

/// How long a training loop is blocked per save, with `save` and with `saveInBackground`, next to
/// the time the snapshot copy alone takes.
struct AsyncStallFigures {
  let megabytes: Int
  let saves: Int
  let scratch: String

  func measure(into report: inout BenchReport) throws {
    let width = 1024
    let layers = max(1, (megabytes << 20) / (width * width * 4))
    let g = RandomGenerator(seed: 7)
    let model = Sequential(
      (0..<layers).map { _ in Dense(inputSize: width, outputSize: width, generator: g) })
    let optimizer = Adam(learningRate: .constant(1e-4))
    let gradients = Dictionary(
      uniqueKeysWithValues: model.trainableParameters().map {
        ($0.name, Tensor(shape: $0.parameter.shape, repeating: 1e-3))
      })
    let checkpoint = Checkpoint()
    try checkpoint.track(model, as: "model")
    try checkpoint.track(optimizer, as: "optimizer", updating: model)
    // Work between saves, long enough for a background commit to finish meanwhile.
    func train(for seconds: Double) throws {
      let start = Timing.now()
      while Timing.now() - start < seconds {
        try optimizer.update(model, gradients: gradients)
        checkpoint.step += 1
      }
    }
    let copy = try Timing.median(repeats: saves) { _ = try checkpoint.tensors() }
    let section = "save stall (\(layers) × [\(width), \(width)] float32 + Adam state)"
    var stalls: [Bool: [Double]] = [:]
    for background in [false, true] {
      Timing.settle()
      let path = scratch + "/stall-\(UUID().uuidString)"
      defer { try? FileManager.default.removeItem(atPath: path) }
      let store = try Store.create(at: path)
      let manager = try CheckpointManager(checkpoint, store: store, maxToKeep: 2)
      var blocked: [Double] = []
      var commitTime = 0.0
      for _ in 0..<saves {
        // Background commits share the 2 cores with training, so they take longer than alone.
        try train(for: max(1.0, commitTime * 4))
        let start = Timing.now()
        if background {
          try manager.saveInBackground(force: true)
        } else {
          try manager.save(force: true)
        }
        blocked.append(Timing.now() - start)
        if !background { commitTime = max(commitTime, blocked.last!) }
      }
      try manager.wait()
      stalls[background] = blocked
    }
    let sync = Timing.medianOf(stalls[false]!)
    let async = Timing.medianOf(stalls[true]!)
    report.add(section, "snapshot copy alone", copy * 1000, "ms")
    report.add(
      section, "blocked per save, save()", sync * 1000, "ms", baseline: "copy", copy * 1000)
    report.add(
      section, "blocked per save, saveInBackground()", async * 1000, "ms", baseline: "copy",
      copy * 1000)
  }
}
