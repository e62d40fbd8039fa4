import CKStore

/// A checkpoint saved as a commit.
public struct SavedCheckpoint: Equatable, Sendable {
  /// The commit.
  public let commit: Commit
  /// The revision that names it on its branch: `step-N`.
  public var name: String { "step-\(commit.step)" }
  /// The training step.
  public var step: Int64 { commit.step }
}

/// Saves a `Checkpoint` into a store branch every N steps and keeps the last N, like TF2's
/// `tf.train.CheckpointManager`.
///
/// The manager is the branch's one writer while it lives (a second manager or writer of the
/// branch gets `StoreError.locked`). `maxToKeep` and `keepEvery` go through the store's retention:
/// dropped checkpoints lose their data (gc frees it) but stay in `log`; the manager never touches
/// other branches or tagged commits.
public final class CheckpointManager {
  /// What is saved.
  public let checkpoint: Checkpoint
  /// Where it is saved.
  public let store: Store
  /// The branch the checkpoints go to.
  public let branch: String
  /// How many of the newest checkpoints keep their data (nil: all).
  public let maxToKeep: Int?
  /// Also keep every checkpoint whose step is a multiple of this (nil: none).
  public let keepEvery: Int64?
  /// Save every this many steps; `save` skips in between.
  public let saveInterval: Int64
  private let writer: BranchWriter
  private var lastSavedStep: Int64?

  /// A manager for `checkpoint` on `branch` of `store`; takes the branch's writer lock.
  public init(
    _ checkpoint: Checkpoint, store: Store, branch: String = "main", maxToKeep: Int? = 5,
    keepEvery: Int64? = nil, saveInterval: Int64 = 1
  ) throws {
    precondition(maxToKeep.map { $0 >= 1 } ?? true, "maxToKeep must be at least 1")
    self.checkpoint = checkpoint
    self.store = store
    self.branch = branch
    self.maxToKeep = maxToKeep
    self.keepEvery = keepEvery
    self.saveInterval = max(1, saveInterval)
    self.writer = try store.writer(branch: branch)
    self.lastSavedStep = try store.head(of: branch).map { try store.commit($0).step }
  }

  /// Saves the checkpoint as a commit at `checkpoint.step` when it is due — the step is a multiple
  /// of `saveInterval`, or at least `saveInterval` steps passed since the last save — or when
  /// `force` is set; returns nil when it skips (always, if this step is already saved).
  /// Then applies retention and frees the data of dropped checkpoints.
  @discardableResult
  public func save(
    metrics: [String: Double] = [:], message: String? = nil, metadata: [String: String] = [:],
    force: Bool = false
  ) throws -> SavedCheckpoint? {
    let step = checkpoint.step
    if step == lastSavedStep { return nil }
    let due =
      step % saveInterval == 0 || lastSavedStep.map { step - $0 >= saveInterval } ?? false
    if !force && !due { return nil }
    let snapshot = try checkpoint.snapshot()
    let commit: Commit
    do {
      commit = try writer.commit(
        snapshot.tensors, reusing: snapshot.reused, step: step,
        message: message ?? "checkpoint at step \(step)", metrics: metrics, metadata: metadata)
    } catch let error as StoreError where error.code == .objectNotFound && !snapshot.reused.isEmpty
    {
      // Something freed a reused chunk (gc after a retention change elsewhere): write it all.
      checkpoint.stored = [:]
      return try save(metrics: metrics, message: message, metadata: metadata, force: force)
    }
    checkpoint.remember(try store.tensors(in: commit), versions: snapshot.versions)
    lastSavedStep = step
    let policy = RetentionPolicy(keepLast: maxToKeep, keepEvery: keepEvery, branches: [branch])
    if try !store.commitsToPrune(policy).isEmpty { _ = try store.gc(policy: policy) }
    return SavedCheckpoint(commit: commit)
  }

  /// The newest checkpoint on the branch, if any.
  public func latest() throws -> SavedCheckpoint? {
    try store.head(of: branch).map { SavedCheckpoint(commit: try store.commit($0)) }
  }

  /// Checkpoints of the branch that still have data, newest first.
  public func checkpoints() throws -> [SavedCheckpoint] {
    guard let head = try store.head(of: branch) else { return [] }
    return try store.history(from: head).filter { !store.isPruned($0.id) }.map(
      SavedCheckpoint.init)
  }

  /// Restores the newest checkpoint if there is one (and returns it); otherwise leaves the tracked
  /// objects as initialised and returns nil.
  @discardableResult
  public func restoreOrInitialize(options: RestoreOptions = .strict) throws -> SavedCheckpoint? {
    guard let latest = try latest() else { return nil }
    try restore(commit: latest.commit, options: options)
    return latest
  }

  /// Restores a revision (`step-N`, a tag, an id …; `step-N` is looked up on this branch).
  @discardableResult
  public func restore(_ revision: String, options: RestoreOptions = .strict) throws
    -> RestoreReport
  {
    let spec = revision.hasPrefix("step-") ? branch + ":" + revision : revision
    return try restore(commit: store.resolve(spec), options: options)
  }

  /// Restores a commit and remembers its entries: the restored parameters hold exactly the
  /// stored bytes, so the next save can reuse them until they change.
  private func restore(commit: Commit, options: RestoreOptions) throws -> RestoreReport {
    let entries = try store.tensors(in: commit)
    let report = try checkpoint.restore(
      from: entries.map {
        try TensorData(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: store.read($0))
      }, options: options)
    let restored = Set(report.restored)
    checkpoint.remember(
      entries.filter { restored.contains($0.name) }, versions: checkpoint.parameterVersions())
    return report
  }
}
