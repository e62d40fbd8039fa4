import CKCheckpoint
import CKEngine
import CKStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The manager after a failed save, and `restore` racing a background save (issue 13, item 12).
@Suite struct ManagerFailureTests {
  /// Holds the flock of a ref's lock file, as a live writer in the middle of an update would.
  final class HeldRefLock {
    let fd: Int32
    init(_ path: String) throws {
      fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
      try #require(fd >= 0 && flock(fd, LOCK_EX) == 0)
    }
    deinit {
      flock(fd, LOCK_UN)
      close(fd)
    }
  }

  @Test(arguments: [false, true])
  func aSaveThatFailedIsWrittenWhenRetriedAtTheSameStep(background: Bool) throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 3)
    let manager = try CheckpointManager(run.checkpoint, store: store, saveInterval: 2)
    try run.train(2)
    #expect(try manager.save()?.step == 2)
    try run.train(2)
    // Another process holds the branch's ref lock: the commit fails with `locked`.
    let lockPath = store.root + "/refs/heads/main.lock"
    var holder: HeldRefLock? = try HeldRefLock(lockPath)
    let failure: StoreError?
    if background {
      #expect(try manager.saveInBackground())
      failure = storeError { try manager.wait() }
    } else {
      failure = storeError { try manager.save() }
    }
    #expect(failure?.code == .locked, "\(String(describing: failure))")
    #expect(try store.resolve("main").step == 2)
    holder = nil
    withExtendedLifetime(holder) {}
    unlink(lockPath)
    // The retry at the same step writes it.
    let retried = try manager.save()
    #expect(retried?.step == 4)
    #expect(try store.resolve("main").step == 4)
  }

  @Test func restoreWaitsForTheBackgroundSave() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 4)
    let manager = try CheckpointManager(run.checkpoint, store: store, maxToKeep: nil)
    for _ in 0..<5 {
      try run.train(1)
      #expect(try manager.saveInBackground())
      // Restoring the step just handed to the background save finds it committed.
      let report = try manager.restore("step-\(run.checkpoint.step)")
      #expect(!report.restored.isEmpty)
      #expect(try manager.latest()?.step == run.checkpoint.step)
    }
  }
}

/// The StoreError a body throws, or nil.
func storeError<T>(_ body: () throws -> T) -> StoreError? {
  do {
    _ = try body()
    return nil
  } catch let error as StoreError {
    return error
  } catch {
    return nil
  }
}
