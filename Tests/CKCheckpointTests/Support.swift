import CKCheckpoint
import CKEngine
import CKStore
import CKTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A temporary folder, removed on deinit.
final class TempDir {
  let url: URL

  init() throws {
    url = URL(fileURLWithPath: NSTemporaryDirectory())
      .appendingPathComponent("ckstore-ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// A path inside the folder.
  func path(_ name: String) -> String { url.appendingPathComponent(name).path }

  /// Creates a store at `name` inside the folder.
  func store(_ name: String = "store", chunkSize: Int? = nil) throws -> Store {
    try Store.create(
      at: path(name),
      configuration: chunkSize.map { StoreConfiguration(chunkSize: $0) } ?? StoreConfiguration())
  }
}

/// Runs the built `ckstore` binary, which `swift build --build-tests` puts beside the test bundle.
enum CLI {
  struct Result {
    let status: Int32
    let stdout: String
    let stderr: String
  }

  static var binary: URL { CkstoreBinary.url }

  /// Starts `ckstore ARGS` with stdout and stderr going to files (so nothing blocks on a pipe).
  static func start(_ arguments: [String], output: URL) throws -> Process {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.environment = CkstoreBinary.environment()
    _ = FileManager.default.createFile(atPath: output.path + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: output.path + ".err", contents: nil)
    process.standardOutput = try FileHandle(
      forWritingTo: URL(fileURLWithPath: output.path + ".out"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: output.path + ".err"))
    try process.run()
    return process
  }

  /// Runs `ckstore ARGS` to completion.
  static func run(_ arguments: [String]) throws -> Result {
    let output = URL(fileURLWithPath: NSTemporaryDirectory())
      .appendingPathComponent("ckstore-ckpt-run-\(UUID().uuidString)")
    defer {
      try? FileManager.default.removeItem(atPath: output.path + ".out")
      try? FileManager.default.removeItem(atPath: output.path + ".err")
    }
    let process = try start(arguments, output: output)
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus,
      stdout: (try? String(contentsOfFile: output.path + ".out", encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOfFile: output.path + ".err", encoding: .utf8)) ?? "")
  }

  /// Runs `ckstore ARGS` and requires exit status 0.
  @discardableResult
  static func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws
    -> Result
  {
    let r = try run(arguments)
    try #require(
      r.status == 0,
      "ckstore \(arguments.joined(separator: " ")) exited \(r.status): \(r.stderr)",
      sourceLocation: sourceLocation)
    return r
  }
}

/// Every tensor of a revision, by name.
func snapshot(_ store: Store, _ revision: String = "main") throws -> [String: TensorData] {
  let commit = try store.resolve(revision)
  return Dictionary(uniqueKeysWithValues: try store.readSnapshot(commit).map { ($0.name, $0) })
}

/// Tensors as a name → tensor dictionary.
func byName(_ tensors: [TensorData]) -> [String: TensorData] {
  Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
}

/// The names whose dtype, shape or bytes differ between two snapshots, plus names in only one.
func differences(_ a: [String: TensorData], _ b: [String: TensorData]) -> [String] {
  Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }
}

/// The int64 values of a tensor.
func int64s(_ t: TensorData) -> [Int64] {
  t.bytes.withUnsafeBytes { raw in
    (0..<t.bytes.count / 8).map {
      Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))
    }
  }
}

/// A fresh iterator moved to the position a checkpoint saved under `data/position`.
func iterator(at position: TensorData, count: Int, batchSize: Int) throws -> MinibatchIterator {
  let v = int64s(position)
  // The seed given here is deliberately wrong: the saved position must bring its own.
  let it = try MinibatchIterator(count: count, batchSize: batchSize, seed: 12345)
  try it.restore(
    MinibatchIterator.Position(epoch: Int(v[0]), index: Int(v[1]), seed: UInt64(bitPattern: v[2])))
  return it
}

/// The TF2 checkpoint-guide model on digits: Dense(64, relu) → Dense(10).
func digitsModel(_ g: RandomGenerator) -> Sequential {
  Sequential([
    Dense(inputSize: 64, outputSize: 64, activation: .relu, generator: g),
    Dense(inputSize: 64, outputSize: 10, generator: g),
  ])
}

/// One forward + backward + optimizer step on a classifier; returns the loss.
@discardableResult
func trainStep(_ model: Sequential, _ optimizer: any Optimizer, _ x: Tensor, _ y: IntTensor)
  throws -> Float
{
  let tape = GradientTape()
  let loss = tape.record { softmaxCrossEntropy(logits: model(x), labels: y) }
  try optimizer.update(model, gradients: tape.gradients(of: loss, for: model))
  return loss.item
}

/// The digits training split, loaded once.
let digitsTrain: DigitsDataset = try! DigitsDataset.load().split(seed: 0).train

/// A complete small training state: model, Adam, generator, iterator, tracked in a checkpoint.
final class DigitsRun {
  let generator: RandomGenerator
  let model: Sequential
  let optimizer: Adam
  let batches: MinibatchIterator
  let checkpoint = Checkpoint()

  /// A run initialised from `seed` (parameters, generator and shuffling all depend on it).
  init(seed: UInt64, batchSize: Int = 32) throws {
    generator = RandomGenerator(seed: seed)
    model = digitsModel(generator)
    optimizer = Adam(learningRate: .constant(1e-3))
    batches = try MinibatchIterator(count: digitsTrain.count, batchSize: batchSize, seed: seed + 1)
    try checkpoint.track(model, as: "model")
    try checkpoint.track(optimizer, as: "optimizer", updating: model)
    try checkpoint.track(generator, as: "rng")
    try checkpoint.track(batches, as: "data")
  }

  /// Trains `steps` steps, advancing the checkpoint's step counter.
  func train(_ steps: Int) throws {
    for _ in 0..<steps {
      let (x, y) = digitsTrain.batch(batches.next())
      try trainStep(model, optimizer, x, y)
      // Advance the generator too, as dropout or augmentation would.
      _ = generator.next()
      checkpoint.step += 1
    }
  }

  /// Everything the checkpoint would save now, by name.
  func state() throws -> [String: TensorData] { byName(try checkpoint.tensors()) }
}

extension DigitsRun {
  /// The tensors of a checkpoint saved after 3 training steps (seed 1): what the restore tests
  /// restore, alter and drop from.
  static func savedAfterThreeSteps() throws -> [TensorData] {
    let run = try DigitsRun(seed: 1)
    try run.train(3)
    return try run.checkpoint.tensors()
  }

  /// A run that differs from `savedAfterThreeSteps()` in every tensor (another seed, one step, so
  /// its optimizer has state), ready to be restored into.
  static func restoreTarget() throws -> DigitsRun {
    let run = try DigitsRun(seed: 2)
    try run.train(1)
    return run
  }
}
