import CKRemote
import CKStore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension CheckpointManager {
  /// Gives an empty local branch the remote's: its history, and the newest checkpoint's data
  /// (how a run on a fresh machine resumes from the remote). Does nothing if the branch has
  /// commits or the remote has none.
  public static func seed(_ store: Store, branch: String, from remote: RemoteStore) throws {
    // A remote nothing was ever pushed to has nothing to resume from.
    guard try store.head(of: branch) == nil, try remote.hasStore() else { return }
    _ = try Fetch.run(store, from: remote)
    guard let theirs = store.remoteTrackingRefs(remote.name).first(where: { $0.branch == branch })
    else { return }
    try store.moveBranch(branch, to: theirs.id, expected: nil, message: "resume: \(remote.name)")
    try Fetch.data(store, from: remote, commits: [try store.commit(theirs.id)])
  }

  /// Waits up to `timeout` seconds for the pushes in flight, then pushes once more if the last
  /// one failed; throws `CheckpointError` saying what is not on the remote when that fails or
  /// time runs out. Without a remote it returns at once.
  public func finishPushing(timeout: TimeInterval = 300) throws {
    try wait()
    try pusher?.finish(timeout: timeout)
  }
}

/// Pushes a manager's branch in the background, one push at a time: a save while a push runs
/// asks for one more after it. A failed push is reported as a store warning (the manager's
/// warning path) and retried with the next save. Used by `CheckpointManager(remote:)` and by
/// `ckstore train --ranks --push`, whose commits no single manager makes.
public final class BackgroundPusher: @unchecked Sendable {
  private let store: Store
  private let remote: RemoteStore
  private let branch: String
  private let lock = NSLock()
  private let idle = NSCondition()
  private var running = false
  private var again = false
  private var lastError: Error?

  /// A pusher of `branch` of `store` to `remote`; nothing runs until `push()`.
  public init(store: Store, remote: RemoteStore, branch: String) {
    self.store = store
    self.remote = remote
    self.branch = branch
  }

  /// Starts a push of the branch, or asks the running one for another round.
  public func push() {
    let start = idle.withLock {
      if running {
        again = true
        return false
      }
      running = true
      return true
    }
    if start { Thread { [self] in loop() }.start() }
  }

  private func loop() {
    while true {
      let result = Result { try Push.run(store, to: remote, refs: [branch]) }
      let more = idle.withLock {
        if case .failure(let error) = result {
          lastError = error
          store.report(
            StoreWarning(
              "pushing '\(branch)' to \(remote.label) failed (the checkpoint is saved here; "
                + "the next save retries): \(error)"))
        } else {
          lastError = nil
        }
        if again {
          again = false
          return true
        }
        running = false
        idle.broadcast()
        return false
      }
      if !more { return }
    }
  }

  /// Waits for the running push; pushes once more if the last failed; throws if that fails or
  /// `timeout` passes.
  public func finish(timeout: TimeInterval) throws {
    let deadline = Date().addingTimeInterval(timeout)
    let (finished, failed) = idle.withLock {
      while running, idle.wait(until: deadline) {}
      return (!running, lastError)
    }
    guard finished else {
      throw CheckpointError(
        .pushFailed,
        "the push of '\(branch)' to \(remote.label) did not finish within \(Int(timeout)) s; "
          + "the checkpoints are saved here: run `ckstore push \(remote.name) \(branch)`")
    }
    guard failed != nil else { return }
    do {
      _ = try Push.run(store, to: remote, refs: [branch])
      idle.withLock { lastError = nil }
    } catch {
      throw CheckpointError(
        .pushFailed,
        "pushing '\(branch)' to \(remote.label) failed: \(error); the checkpoints are saved "
          + "here: run `ckstore push \(remote.name) \(branch)`")
    }
  }

  /// For a manager going away without `finishPushing`: waits (bounded) and says on stderr what
  /// did not reach the remote.
  func finishAtExit() {
    do {
      try finish(timeout: 60)
    } catch {
      let line = Array("ckstore: \(error)\n".utf8)
      _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
  }
}
