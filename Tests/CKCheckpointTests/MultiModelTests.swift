import CKCheckpoint
import CKEngine
import CKStore
import Testing

/// Acceptance 3: a checkpoint with two sub-models and two optimizers (the TF guide's
/// multi-model example) round-trips through a store, and training continues identically.
@Suite struct MultiModelTests {
  /// An autoencoder on digits: encoder and decoder are separate models with separate optimizers
  /// (Adam for the encoder, SGD with momentum for the decoder).
  final class Autoencoder {
    let generator: RandomGenerator
    let encoder: Sequential
    let decoder: Sequential
    let encoderOptimizer = Adam(learningRate: .constant(2e-3))
    let decoderOptimizer = SGD(learningRate: .constant(0.05), momentum: 0.9)
    let batches: MinibatchIterator
    let checkpoint = Checkpoint()

    init(seed: UInt64) throws {
      generator = RandomGenerator(seed: seed)
      encoder = Sequential([
        Dense(inputSize: 64, outputSize: 32, activation: .relu, generator: generator),
        Dense(inputSize: 32, outputSize: 8, generator: generator),
      ])
      decoder = Sequential([
        Dense(inputSize: 8, outputSize: 32, activation: .relu, generator: generator),
        Dense(inputSize: 32, outputSize: 64, generator: generator),
      ])
      batches = try MinibatchIterator(count: digitsTrain.count, batchSize: 16, seed: seed)
      try checkpoint.track(encoder, as: "encoder")
      try checkpoint.track(decoder, as: "decoder")
      try checkpoint.track(encoderOptimizer, as: "encoder_optimizer", updating: encoder)
      try checkpoint.track(decoderOptimizer, as: "decoder_optimizer", updating: decoder)
      try checkpoint.track(generator, as: "rng")
      try checkpoint.track(batches, as: "data")
    }

    func train(_ steps: Int) throws {
      for _ in 0..<steps {
        let (x, _) = digitsTrain.batch(batches.next())
        let scaled = x * Tensor(1 / 16)
        let tape = GradientTape()
        let loss = tape.record { meanSquaredError(decoder(encoder(scaled)), scaled) }
        try encoderOptimizer.update(encoder, gradients: tape.gradients(of: loss, for: encoder))
        try decoderOptimizer.update(decoder, gradients: tape.gradients(of: loss, for: decoder))
        checkpoint.step += 1
      }
    }
  }

  @Test func twoModelsAndTwoOptimizersRoundTripThroughAStore() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let original = try Autoencoder(seed: 1)
    try original.train(12)
    let savedState = byName(try original.checkpoint.tensors())
    do {
      let manager = try CheckpointManager(original.checkpoint, store: store, branch: "main")
      let saved = try #require(try manager.save(metrics: ["loss": 0.5]))
      #expect(saved.name == "step-12")
    }
    // Every object is in the tree under its own prefix.
    let names = try store.tensors(in: try store.resolve("main")).map(\.name)
    for prefix in ["encoder/", "decoder/", "encoder_optimizer/", "decoder_optimizer/"] {
      #expect(names.contains { $0.hasPrefix(prefix) }, "\(prefix)")
    }
    #expect(names.contains("encoder_optimizer/layers.0.weight/adam.m"))
    #expect(names.contains("decoder_optimizer/layers.1.weight/sgd.momentum"))
    #expect(names.contains("decoder_optimizer/step"))

    // New objects, initialised differently, restored from the store.
    let restored = try Autoencoder(seed: 99)
    #expect(differences(byName(try restored.checkpoint.tensors()), savedState).count > 20)
    let manager = try CheckpointManager(restored.checkpoint, store: store, branch: "main")
    let latest = try #require(try manager.restoreOrInitialize())
    #expect(latest.step == 12)
    #expect(differences(byName(try restored.checkpoint.tensors()), savedState) == [])
    #expect(restored.encoderOptimizer.step == 12 && restored.decoderOptimizer.step == 12)

    // Training continues identically in both.
    try original.train(7)
    try restored.train(7)
    let a = byName(try original.checkpoint.tensors())
    let b = byName(try restored.checkpoint.tensors())
    #expect(differences(a, b) == [])
    #expect(differences(a, savedState).count > 20, "training after the save changed the state")
  }
}
