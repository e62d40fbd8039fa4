import Foundation

/// The one writer of a branch: holds the branch's writer lock while it lives, so that a second
/// writer (in this process or another) gets a `locked` error instead of racing for the ref.
public final class BranchWriter: @unchecked Sendable {
  /// The store written to.
  public let store: Store
  /// The branch this writer appends to.
  public let branch: String
  private let lock: FileLock

  init(store: Store, branch: String) throws {
    try RefName.validate(branch, kind: "branch")
    let lockPath = store.root + "/locks/heads/" + RefName.lockFileName(branch)
    guard let lock = try FileLock.tryAcquire(lockPath, .exclusive) else {
      throw StoreError(.locked, "branch '\(branch)' already has a writer (lock \(lockPath))")
    }
    self.store = store
    self.branch = branch
    self.lock = lock
  }

  /// Commits `tensors` as the branch's next checkpoint and moves the branch to it.
  ///
  /// Write order: chunks, trees, commit, then the ref (compare-and-swap). If the process dies at
  /// any point, the branch still names the previous complete commit.
  ///
  /// `reusing` takes tensors unchanged since an earlier commit as their entries (from
  /// `Store.tensors(in:)`): they are not hashed or compressed again, so a commit costs time in
  /// proportion to the bytes that changed. Throws `objectNotFound` if gc freed a reused chunk.
  ///
  /// `progress`, if given, is called from worker threads with (chunks done, chunks in all).
  @discardableResult
  public func commit(
    _ tensors: [TensorData], reusing: [TensorInfo] = [], step: Int64, message: String = "",
    metrics: [String: Double] = [:], metadata: [String: String] = [:],
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> Commit {
    try commit(
      tensors.map(TensorSource.init), reusing: reusing, step: step, message: message,
      metrics: metrics, metadata: metadata, progress: progress)
  }

  /// Commits tensors read in place (borrowed memory, file regions, owned arrays; see
  /// `TensorSource`), holding at most `Store.writeWidth` chunks in memory at once.
  @discardableResult @_disfavoredOverload
  public func commit(
    _ tensors: [TensorSource], reusing: [TensorInfo] = [], step: Int64, message: String = "",
    metrics: [String: Double] = [:], metadata: [String: String] = [:],
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> Commit {
    try store.writeCommit(
      tensors, reusing: reusing, branch: branch, step: step, message: message, metrics: metrics,
      metadata: metadata, progress: progress)
  }

  /// Releases the branch early (it is released on deinit otherwise).
  public func close() { lock.unlock() }
}

extension Store {
  /// Takes the writer lock of `branch`; throws `locked` if another writer has it.
  public func writer(branch: String) throws -> BranchWriter {
    try BranchWriter(store: self, branch: branch)
  }

  /// Commits `tensors` to `branch` (taking and releasing its writer lock around the commit).
  @discardableResult
  public func commit(
    _ tensors: [TensorData], to branch: String, step: Int64, message: String = "",
    metrics: [String: Double] = [:], metadata: [String: String] = [:],
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> Commit {
    try commit(
      tensors.map(TensorSource.init), to: branch, step: step, message: message, metrics: metrics,
      metadata: metadata, progress: progress)
  }

  /// Commits tensors read in place (see `TensorSource`) to `branch`, taking and releasing its
  /// writer lock around the commit.
  @discardableResult @_disfavoredOverload
  public func commit(
    _ tensors: [TensorSource], to branch: String, step: Int64, message: String = "",
    metrics: [String: Double] = [:], metadata: [String: String] = [:],
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> Commit {
    let writer = try self.writer(branch: branch)
    defer { writer.close() }
    return try writer.commit(
      tensors, step: step, message: message, metrics: metrics, metadata: metadata,
      progress: progress)
  }
}
