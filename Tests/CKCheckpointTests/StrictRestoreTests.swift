import CKCheckpoint
import CKEngine
import CKStore
import Testing

/// Acceptance 2: a strict restore consumes every saved tensor and matches every variable, or
/// throws one `CheckpointError` listing every problem and changes nothing; `.partial` is the
/// explicit opt-in that loads what matches and reports the rest.
@Suite struct StrictRestoreTests {
  /// A checkpoint saved after 3 steps (seed 1).
  let saved: [TensorData]

  init() throws { saved = try DigitsRun.savedAfterThreeSteps() }

  /// A run that differs from `saved` in every tensor, ready to be restored into.
  func target() throws -> DigitsRun { try DigitsRun.restoreTarget() }

  /// `saved` with `name` removed.
  func without(_ names: String..., from tensors: [TensorData]? = nil) -> [TensorData] {
    (tensors ?? saved).filter { !names.contains($0.name) }
  }

  /// `saved` with the tensor `name` replaced by one of another dtype or shape.
  func replacing(_ name: String, dtype: DType, shape: [Int], in tensors: [TensorData]? = nil)
    throws -> [TensorData]
  {
    let bytes = [UInt8](repeating: 1, count: shape.reduce(1, *) * dtype.size)
    let replacement = try TensorData(name: name, dtype: dtype, shape: shape, bytes: bytes)
    let all = tensors ?? saved
    #expect(all.contains { $0.name == name }, "test setup: \(name) is not saved")
    return all.map { $0.name == name ? replacement : $0 }
  }

  /// Restores `tensors` strictly into a fresh target; requires one `.mismatch` error and that
  /// nothing tracked changed. Returns the error.
  func strictFailure(
    _ tensors: [TensorData], sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> CheckpointError {
    let run = try target()
    let before = try run.state()
    let scalarsBefore = run.checkpoint.scalars
    let error = try #require(throws: CheckpointError.self, sourceLocation: sourceLocation) {
      try run.checkpoint.restore(from: tensors)
    }
    #expect(error.code == .mismatch, sourceLocation: sourceLocation)
    #expect(
      differences(try run.state(), before) == [], "a failed restore changed tracked state",
      sourceLocation: sourceLocation)
    #expect(run.checkpoint.scalars == scalarsBefore, sourceLocation: sourceLocation)
    // The objects themselves (not only what tensors() reports) are untouched.
    #expect(run.optimizer.step == 1, sourceLocation: sourceLocation)
    #expect(run.batches.position.index == 32, sourceLocation: sourceLocation)
    return error
  }

  /// The names a mismatch entry is about (`name: saved …, expected …`).
  func mismatchedNames(_ error: CheckpointError) -> [String] {
    error.mismatched.map { String($0.prefix { $0 != ":" }) }
  }

  @Test func theSavedCheckpointRestoresStrictlyAndCompletely() throws {
    let run = try target()
    let report = try run.checkpoint.restore(from: saved)
    #expect(differences(try run.state(), byName(saved)) == [])
    #expect(report.restored == saved.map(\.name).sorted())
    #expect(report.skipped == [] && report.missing == [] && report.mismatched == [])
  }

  @Test(arguments: [
    "model/layers.1.bias", "model/layers.0.weight", "optimizer/step", "rng/state",
    "data/position", "checkpoint/step",
  ])
  func aMissingTensorIsListed(_ name: String) throws {
    let error = try strictFailure(without(name))
    #expect(error.missing == [name])
    #expect(error.unexpected == [])
    #expect(error.mismatched == [])
    #expect(error.description.contains(name))
  }

  @Test(arguments: [
    ("model/layers.2.weight", [3, 3]),  // a parameter the model does not have
    ("critic/dense.weight", [4]),  // a whole object that is not tracked
    ("optimizer/layers.7.weight/adam.m", [64, 10]),  // state of a parameter the model lacks
  ])
  func anExtraTensorIsListed(_ name: String, _ shape: [Int]) throws {
    let extra = try TensorData(
      name: name, shape: shape, float32: [Float](repeating: 0.5, count: shape.reduce(1, *)))
    let error = try strictFailure(saved + [extra])
    #expect(error.unexpected == [name])
    #expect(error.missing == [])
    #expect(error.mismatched == [])
    #expect(error.description.contains(name))
  }

  @Test(arguments: [
    ("model/layers.0.weight", [64, 32]),
    ("model/layers.1.bias", [10, 1]),
    ("optimizer/layers.0.weight/adam.m", [32, 64]),
    ("optimizer/layers.1.bias/adam.v", [11]),
    ("rng/state", [3]),
    ("data/position", [3, 1]),
    ("checkpoint/step", [1]),
  ])
  func aShapeMismatchIsListedWithBothShapes(_ name: String, _ shape: [Int]) throws {
    let dtype = saved.first { $0.name == name }!.dtype
    let error = try strictFailure(try replacing(name, dtype: dtype, shape: shape))
    #expect(mismatchedNames(error) == [name])
    #expect(error.mismatched.first?.contains("\(shape)") == true, "\(error.mismatched)")
    #expect(error.missing == [])
    #expect(error.unexpected == [], "a mismatched tensor is not also 'unexpected'")
  }

  @Test(arguments: [
    ("model/layers.1.bias", DType.float64),
    ("model/layers.0.weight", DType.float16),
    ("optimizer/layers.0.bias/adam.v", DType.float64),
    ("rng/state", DType.float32),
    ("data/position", DType.int32),
    ("checkpoint/step", DType.float64),
  ])
  func aDtypeMismatchIsListedWithBothDtypes(_ name: String, _ dtype: DType) throws {
    let shape = saved.first { $0.name == name }!.shape
    let error = try strictFailure(try replacing(name, dtype: dtype, shape: shape))
    #expect(mismatchedNames(error) == [name])
    #expect(error.mismatched.first?.contains("\(dtype)") == true, "\(error.mismatched)")
    #expect(error.missing == [])
    #expect(error.unexpected == [])
  }

  /// All kinds at once: one error, every problem in its list.
  @Test func severalProblemsAreListedInOneError() throws {
    var tensors = without("model/layers.1.bias", "rng/state", "optimizer/step")
    tensors = try replacing("model/layers.0.weight", dtype: .float32, shape: [8, 8], in: tensors)
    tensors = try replacing("data/position", dtype: .float64, shape: [3], in: tensors)
    tensors = try replacing(
      "optimizer/layers.1.weight/adam.v", dtype: .float32, shape: [10, 64], in: tensors)
    tensors += [
      try TensorData(name: "model/extra.weight", shape: [2], float32: [1, 2]),
      try TensorData(name: "discriminator/w", shape: [1], float32: [3]),
    ]
    let error = try strictFailure(tensors)
    #expect(error.missing == ["model/layers.1.bias", "optimizer/step", "rng/state"])
    #expect(error.unexpected.sorted() == ["discriminator/w", "model/extra.weight"])
    #expect(
      mismatchedNames(error).sorted() == [
        "data/position", "model/layers.0.weight", "optimizer/layers.1.weight/adam.v",
      ])
    for name in error.missing + error.unexpected + mismatchedNames(error) {
      #expect(error.description.contains(name))
    }
    #expect(error.message.contains("3 missing, 2 unexpected, 3 mismatched"), "\(error.message)")
  }

  /// `.partial()` loads everything that matches and reports the rest; mismatched variables keep
  /// their values.
  @Test func partialRestoreLoadsWhatMatchesAndReportsTheRest() throws {
    var tensors = without("model/layers.1.bias")
    tensors = try replacing("model/layers.0.weight", dtype: .float32, shape: [8, 8], in: tensors)
    tensors += [try TensorData(name: "critic/w", shape: [1], float32: [3])]
    let run = try target()
    let before = try run.state()
    let report = try run.checkpoint.restore(from: tensors, options: .partial())
    #expect(report.missing == ["model/layers.1.bias"])
    #expect(report.skipped.sorted() == ["critic/w", "model/layers.0.weight"])
    #expect(report.mismatched.count == 1)
    #expect(report.mismatched.first?.hasPrefix("model/layers.0.weight:") == true)
    #expect(!report.restored.contains("model/layers.0.weight"))
    #expect(!report.restored.contains("critic/w"))
    let after = try run.state()
    let expected = byName(saved)
    // What matched is loaded exactly; what did not keeps its value.
    for name in report.restored { #expect(after[name] == expected[name], "\(name)") }
    #expect(Set(report.restored).isSuperset(of: ["model/layers.1.weight", "rng/state"]))
    #expect(after["model/layers.0.weight"] == before["model/layers.0.weight"])
    #expect(after["model/layers.1.bias"] == before["model/layers.1.bias"])
    #expect(run.checkpoint.step == 3)
  }

  /// `.partial(only: ["model"])`: weights only (to fine-tune or evaluate); the optimizer,
  /// generator and data position are skipped, reported, and left alone.
  @Test func partialRestoreOfTheModelOnly() throws {
    let run = try target()
    let before = try run.state()
    let report = try run.checkpoint.restore(from: saved, options: .partial(only: ["model"]))
    let after = try run.state()
    let expected = byName(saved)
    let modelNames = saved.map(\.name).filter { $0.hasPrefix("model/") }
    #expect(modelNames.count == 4)
    for name in modelNames { #expect(after[name] == expected[name], "\(name)") }
    for name in before.keys where !name.hasPrefix("model/") && name != "checkpoint/step" {
      #expect(after[name] == before[name], "\(name) changed in a model-only restore")
    }
    #expect(Set(report.restored).isSuperset(of: modelNames))
    // `only: ["model"]` selects the weights alone: the step counter is not selected either.
    let skippedExpected = saved.map(\.name).filter {
      $0.hasPrefix("optimizer/") || $0 == "rng/state" || $0 == "data/position"
        || $0 == "checkpoint/step"
    }
    #expect(report.skipped.sorted() == skippedExpected.sorted())
    #expect(report.missing == [])
    #expect(report.mismatched == [])
  }

  /// A weights-only file into a full training setup: strict lists everything absent; partial
  /// loads the weights and reports the absent optimizer, generator and data position as missing.
  @Test func aWeightsOnlyCheckpointIsStrictlyIncompleteButPartiallyUsable() throws {
    let weights = saved.filter { $0.name.hasPrefix("model/") || $0.name == "checkpoint/step" }
    let error = try strictFailure(weights)
    #expect(error.missing.contains("optimizer/step"))
    #expect(error.missing.contains("rng/state"))
    #expect(error.missing.contains("data/position"))
    #expect(error.unexpected == [])

    // Selecting the model is the documented way to load weights only, and it works.
    let run = try target()
    let report = try run.checkpoint.restore(from: weights, options: .partial(only: ["model"]))
    #expect(report.missing == [])
    var after = try run.state()
    for t in weights where t.name.hasPrefix("model/") { #expect(after[t.name] == t, "\(t.name)") }

    // `.partial()` with everything selected should load the weights and report the rest missing.
    let all = try target()
    let allReport = try all.checkpoint.restore(from: weights, options: .partial())
    #expect(allReport.missing.contains("optimizer/step"))
    #expect(allReport.missing.contains("rng/state"))
    #expect(allReport.missing.contains("data/position"))
    #expect(allReport.skipped == [])
    after = try all.state()
    for t in weights { #expect(after[t.name] == t, "\(t.name)") }
  }
}
