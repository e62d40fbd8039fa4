import CKCheckpoint
import CKEngine
import CKStore
import Testing

/// Restore edge cases found while writing the acceptance tests (each was a bug, now fixed).
@Suite struct RestoreEdgeCaseTests {
  let saved: [TensorData]

  init() throws { saved = try DigitsRun.savedAfterThreeSteps() }

  func target() throws -> DigitsRun { try DigitsRun.restoreTarget() }

  /// A saved Adam slot that is missing while its parameter has the other slots: strict restore
  /// must name it as missing (the optimizer would otherwise silently restart `m` from zero).
  @Test func aMissingOptimizerSlotIsListed() throws {
    let tensors = saved.filter { $0.name != "optimizer/layers.0.weight/adam.m" }
    let run = try target()
    let before = try run.state()
    let error = try #require(throws: CheckpointError.self) {
      try run.checkpoint.restore(from: tensors)
    }
    #expect(error.missing == ["optimizer/layers.0.weight/adam.m"])
    let after = try run.state()
    #expect(differences(after, before) == [])
  }

  /// A per-parameter counter for a parameter the model does not have is unexpected.
  @Test func anExtraOptimizerCounterIsListed() throws {
    let extra = try TensorData(
      name: "optimizer/layers.9.weight/adam.step", dtype: .int64, shape: [],
      bytes: [3, 0, 0, 0, 0, 0, 0, 0])
    let run = try target()
    let error = try #require(throws: CheckpointError.self) {
      try run.checkpoint.restore(from: saved + [extra])
    }
    #expect(error.unexpected == ["optimizer/layers.9.weight/adam.step"])
  }

  /// A state tensor with a slot this optimizer does not use is an unexpected tensor, reported in
  /// the same `CheckpointError` as everything else (not an `EngineError` from `loadState`).
  @Test func anUnknownOptimizerSlotIsACheckpointError() throws {
    let extra = try TensorData(
      name: "optimizer/layers.0.bias/sgd.momentum", shape: [64],
      float32: [Float](repeating: 0, count: 64))
    let run = try target()
    let before = try run.state()
    let error = try #require(throws: CheckpointError.self) {
      try run.checkpoint.restore(from: saved + [extra])
    }
    #expect(error.unexpected == ["optimizer/layers.0.bias/sgd.momentum"])
    #expect(differences(try run.state(), before) == [])
  }

  /// A value that converts badly (an all-zero generator state) must not leave the other objects
  /// half restored.
  @Test func aBadValueChangesNothing() throws {
    let zeros = try TensorData(
      name: "rng/state", dtype: .int64, shape: [4], bytes: [UInt8](repeating: 0, count: 32))
    let tensors = saved.map { $0.name == "rng/state" ? zeros : $0 }
    let run = try target()
    let before = try run.state()
    let error = try #require(throws: CheckpointError.self) {
      try run.checkpoint.restore(from: tensors)
    }
    #expect(error.code == .invalidValue)
    let after = try run.state()
    #expect(differences(after, before) == [])
  }

  /// `MinibatchIterator` caches the current epoch's order by epoch number only: restoring a
  /// position with another seed into an iterator that already drew from that epoch keeps serving
  /// the old order (Sources/CKEngine/Data/MinibatchIterator.swift, `restore` and `position`
  /// should reset `orderEpoch`).
  @Test func restoringAnotherSeedsPositionIntoAUsedIteratorDrawsItsBatches() throws {
    let used = try MinibatchIterator(count: 100, batchSize: 10, seed: 1)
    _ = used.next()
    let other = try MinibatchIterator(count: 100, batchSize: 10, seed: 2)
    _ = other.next()
    let saved = other.position
    let expected = other.next()
    try used.restore(saved)
    #expect(used.position == saved)
    let drawn = used.next()
    #expect(drawn == expected)
    // Through a checkpoint: restoring a run of another seed into a run that already trained.
    let source = try DigitsRun(seed: 11)
    try source.train(2)
    let tensors = try source.checkpoint.tensors()
    let nextOfSource = source.batches.next()
    let target = try DigitsRun(seed: 12)
    try target.train(2)
    try target.checkpoint.restore(from: tensors)
    let nextOfTarget = target.batches.next()
    #expect(nextOfTarget == nextOfSource)
  }
}
