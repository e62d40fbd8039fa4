import CKCheckpoint
import CKEngine
import CKStore
import Testing

/// The manager's contract: `saveInterval` skipping, `latest`, `restoreOrInitialize` on an empty
/// branch, restoring a named revision, and one writer per branch.
@Suite struct ManagerTests {
  @Test func saveIntervalSkipsUntilEnoughStepsHavePassed() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 1)
    let manager = try CheckpointManager(
      run.checkpoint, store: store, maxToKeep: nil, saveInterval: 5)
    var savedSteps: [Int64] = []
    func step(_ n: Int) throws {
      for _ in 0..<n {
        try run.train(1)
        let head = try store.head(of: "main")
        if let saved = try manager.save() {
          savedSteps.append(saved.step)
          #expect(saved.name == "step-\(saved.step)")
          #expect(try store.head(of: "main") == saved.commit.id)
        } else {
          #expect(try store.head(of: "main") == head, "a skipped save commits nothing")
        }
      }
    }
    try step(12)
    // Saves happen on multiples of the interval.
    #expect(savedSteps == [5, 10])
    // force saves off the grid; the same step is never saved twice, even forced.
    #expect(try manager.save(force: true)?.step == 12)
    #expect(try manager.save(force: true) == nil)
    #expect(try manager.latest()?.step == 12)
    // The next multiple is due although fewer than 5 steps passed since the forced save.
    try step(3)
    #expect(savedSteps == [5, 10, 15])
    #expect(try store.history(from: try store.head(of: "main")!).map(\.step) == [15, 12, 10, 5])
  }

  /// Off the grid (after a forced save, and with `save` called only on odd steps, so never on a
  /// multiple), a save is due once the interval has elapsed since the last one.
  @Test func saveIntervalAlsoSavesOnceItHasElapsed() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 1)
    do {
      let manager = try CheckpointManager(run.checkpoint, store: store, saveInterval: 10)
      try run.train(3)
      #expect(try manager.save() == nil)
      #expect(try manager.save(force: true)?.step == 3)
    }
    let manager = try CheckpointManager(run.checkpoint, store: store, saveInterval: 10)
    var saved: [Int64] = []
    for _ in 0..<20 {
      try run.train(1)
      if run.checkpoint.step % 2 == 1, let s = try manager.save() { saved.append(s.step) }
    }
    #expect(saved == [13, 23])
  }

  @Test func latestAndCheckpointsOnAnEmptyBranch() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 1)
    let manager = try CheckpointManager(run.checkpoint, store: store, branch: "fresh")
    #expect(try manager.latest() == nil)
    #expect(try manager.checkpoints().isEmpty)
  }

  @Test func restoreOrInitializeOnAnEmptyBranchLeavesStateUntouched() throws {
    let dir = try TempDir()
    let store = try dir.store()
    // Another branch has a checkpoint; the manager's branch has none.
    let other = try DigitsRun(seed: 9)
    try other.train(4)
    try store.commit(try other.checkpoint.tensors(), to: "main", step: 4)

    let run = try DigitsRun(seed: 1)
    try run.train(2)
    let before = try run.state()
    let manager = try CheckpointManager(run.checkpoint, store: store, branch: "fresh")
    #expect(try manager.restoreOrInitialize() == nil)
    #expect(differences(try run.state(), before) == [])
    #expect(run.checkpoint.step == 2)

    // Once the branch has a checkpoint, it is restored and returned.
    try run.train(3)
    let saved = try #require(try manager.save())
    let again = try DigitsRun(seed: 2)
    let second = try CheckpointManager(again.checkpoint, store: store, branch: "main")
    #expect(try second.restoreOrInitialize()?.step == 4)
    #expect(differences(try again.state(), try other.state()) == [])
    try again.checkpoint.restore(from: store.readSnapshot(saved.commit))
    #expect(differences(try again.state(), try run.state()) == [])
  }

  @Test func restoreNamesAStepOfTheBranchOrAnyRevision() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 1)
    let manager = try CheckpointManager(run.checkpoint, store: store, maxToKeep: nil)
    try run.train(3)
    try manager.save()
    let atThree = try run.state()
    try run.train(3)
    let six = try #require(try manager.save())
    let atSix = try run.state()

    try manager.restore("step-3")
    #expect(differences(try run.state(), atThree) == [])
    try manager.restore(six.commit.id.hex)
    #expect(differences(try run.state(), atSix) == [])
    let error = try #require(throws: StoreError.self) { try manager.restore("step-4") }
    #expect(error.code == .unknownRevision)
    #expect(differences(try run.state(), atSix) == [])
  }

  @Test func aSecondManagerOnTheSameBranchIsLocked() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 1)
    var manager: CheckpointManager? = try CheckpointManager(run.checkpoint, store: store)
    let error = try #require(throws: StoreError.self) {
      try CheckpointManager(run.checkpoint, store: store)
    }
    #expect(error.code == .locked)
    // Through another Store instance too (as another process would open it).
    let other = try Store.open(at: dir.path("store"))
    let error2 = try #require(throws: StoreError.self) {
      try CheckpointManager(Checkpoint(), store: other)
    }
    #expect(error2.code == .locked)
    // Another branch is free; and the branch is free again once the manager is gone.
    _ = try CheckpointManager(run.checkpoint, store: store, branch: "side")
    #expect(manager != nil)
    manager = nil
    _ = try CheckpointManager(run.checkpoint, store: store)
  }
}
