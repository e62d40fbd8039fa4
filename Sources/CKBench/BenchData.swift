import CKEngine
import CKStore
import Foundation

/// Tensor data for the store benchmarks: weights trained by the engine, their Adam moments, and
/// synthetic data of the same distribution at any size.
enum BenchData {
  /// Normal(0, scale) float32 values from a seeded generator.
  static func normalFloats(count: Int, scale: Float, seed: UInt64) -> [Float] {
    let g = RandomGenerator(seed: seed)
    var out = [Float](repeating: 0, count: count)
    for i in 0..<count { out[i] = g.nextNormal() * scale }
    return out
  }

  /// float32 weights and Adam moments of a 64-512-512-10 MLP after `steps` Adam steps on digits.
  static func trainedTensors(steps: Int) throws -> (weights: [Float], m: [Float], v: [Float]) {
    let (train, _) = try DigitsDataset.load().split(seed: 0)
    let g = RandomGenerator(seed: 0)
    let model = Sequential([
      Dense(inputSize: 64, outputSize: 512, activation: .relu, generator: g),
      Dense(inputSize: 512, outputSize: 512, activation: .relu, generator: g),
      Dense(inputSize: 512, outputSize: 10, generator: g),
    ])
    let optimizer = Adam(learningRate: .constant(1e-3))
    let batches = try MinibatchIterator(count: train.count, batchSize: 32, seed: 1)
    for _ in 0..<steps {
      let (x, y) = train.batch(batches.next())
      let tape = GradientTape()
      let loss = tape.record { softmaxCrossEntropy(logits: model(x), labels: y) }
      try optimizer.update(model, gradients: tape.gradients(of: loss, for: model))
    }
    var weights: [Float] = []
    for p in model.parameters() { weights += p.value.scalars }
    var m: [Float] = []
    var v: [Float] = []
    for (name, t) in optimizer.stateTensors() {
      if name.hasSuffix("adam.m") {
        m += t.scalars
      } else if name.hasSuffix("adam.v") {
        v += t.scalars
      }
    }
    return (weights, m, v)
  }

  /// float32 values rounded to bfloat16 (round to nearest even), little-endian bytes.
  static func bfloat16Bytes(_ values: [Float]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(values.count * 2)
    for x in values {
      let bits = x.bitPattern
      let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
      out.append(UInt8(truncatingIfNeeded: rounded))
      out.append(UInt8(truncatingIfNeeded: rounded >> 8))
    }
    return out
  }

  static func bytes(_ values: [Float]) -> [UInt8] { values.withUnsafeBytes { [UInt8]($0) } }
}
