import CKRemote
import CKStore
import Foundation

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
///
/// Use a manager from one thread (the training loop's); its background saves run one at a time
/// and every public method first waits for the one in flight.
public final class CheckpointManager: @unchecked Sendable {
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
  /// Where each checkpoint is pushed once durable here (CheckpointManager+Remote.swift).
  let pusher: BackgroundPusher?
  /// Also keep the best checkpoints by these metrics (see `RetentionPolicy.keepBest`).
  public let keepBest: [KeepBest]
  /// Also keep checkpoints made at most this many seconds before the newest (nil: none).
  public let keepWithin: TimeInterval?
  /// Metrics logged since the last save (`log(step:metrics:)`), written with the next one.
  let metricLog = MetricLog()
  private let writer: BranchWriter
  private var lastSavedStep: Int64?
  private let background = DispatchGroup()
  private let backgroundLock = NSLock()
  private var backgroundResult: Result<SavedCheckpoint, Error>?

  /// A manager for `checkpoint` on `branch` of `store`; takes the branch's writer lock.
  ///
  /// With `remote`, each saved checkpoint is pushed there in the background, and a store whose
  /// branch is empty first takes the remote's branch, with its newest checkpoint's data, so
  /// that `restoreOrInitialize` resumes from it on a fresh machine.
  ///
  /// Throws `CheckpointError.invalidValue` if `maxToKeep` or a `keepBest` count is below 1 or
  /// `keepWithin` is negative, `StoreError.locked` if the branch already has a writer.
  public init(
    _ checkpoint: Checkpoint, store: Store, branch: String = "main", maxToKeep: Int? = 5,
    keepEvery: Int64? = nil, saveInterval: Int64 = 1, keepBest: [KeepBest] = [],
    keepWithin: TimeInterval? = nil, remote: RemoteStore? = nil
  ) throws {
    if let maxToKeep, maxToKeep < 1 {
      throw CheckpointError(.invalidValue, "maxToKeep must be at least 1, not \(maxToKeep)")
    }
    if let rule = keepBest.first(where: { $0.count < 1 }) {
      throw CheckpointError(
        .invalidValue, "keepBest '\(rule.metric)' must keep at least 1, not \(rule.count)")
    }
    if let keepWithin, !(keepWithin >= 0) {
      throw CheckpointError(.invalidValue, "keepWithin must not be negative, not \(keepWithin)")
    }
    self.keepBest = keepBest
    self.keepWithin = keepWithin
    self.checkpoint = checkpoint
    self.store = store
    self.branch = branch
    self.maxToKeep = maxToKeep
    self.keepEvery = keepEvery
    self.saveInterval = max(1, saveInterval)
    if let remote { try Self.seed(store, branch: branch, from: remote) }
    self.pusher = remote.map { BackgroundPusher(store: store, remote: $0, branch: branch) }
    self.writer = try store.writer(branch: branch)
    self.lastSavedStep = try store.head(of: branch).map { try store.commit($0).step }
  }

  /// Saves the checkpoint as a commit at `checkpoint.step` when it is due — the step is a multiple
  /// of `saveInterval`, or at least `saveInterval` steps passed since the last save — or when
  /// `force` is set; returns nil when it skips (always, if this step is already saved).
  /// Then applies retention and frees the data of dropped checkpoints. Waits for a background
  /// save first, and throws its error if it failed.
  @discardableResult
  public func save(
    metrics: [String: Double] = [:], message: String? = nil, metadata: [String: String] = [:],
    force: Bool = false
  ) throws -> SavedCheckpoint? {
    try wait()
    guard let request = try prepare(metrics, message, metadata, force) else { return nil }
    do {
      return try write(request)
    } catch let error as StoreError where error.code == .objectNotFound && !request.reused.isEmpty {
      // Something freed a reused chunk: forget what is stored and write everything.
      checkpoint.stored = [:]
      return try save(metrics: metrics, message: message, metadata: metadata, force: force)
    }
  }

  /// Takes a consistent copy of the checkpoint now and commits it on a background thread, so the
  /// training loop is blocked only for the copy; returns whether a save was started (false when it
  /// is not due, as for `save`).
  ///
  /// At most one save is in flight: this first waits for the previous one. A background failure
  /// is never swallowed: it is thrown by the next `save`, `saveInBackground` or `wait`, and
  /// printed to standard error if the manager goes away first. The branch moves only once the
  /// commit is durable.
  @discardableResult
  public func saveInBackground(
    metrics: [String: Double] = [:], message: String? = nil, metadata: [String: String] = [:],
    force: Bool = false
  ) throws -> Bool {
    try wait()
    guard let request = try prepare(metrics, message, metadata, force) else { return false }
    background.enter()
    Thread { [self] in
      let result = Result { try write(request) }
      backgroundLock.withLock { backgroundResult = result }
      background.leave()
    }.start()
    return true
  }

  /// Waits for the background save, if any, and returns what it saved; throws its error.
  @discardableResult
  public func wait() throws -> SavedCheckpoint? {
    background.wait()
    let result = backgroundLock.withLock {
      defer { backgroundResult = nil }
      return backgroundResult
    }
    return try result?.get()
  }

  deinit {
    background.wait()
    pusher?.finishAtExit()
    if case .failure(let error)? = backgroundResult {
      // write(2), not FileHandle: a full or closed stderr must not trap in a deinit.
      let line = Array("ckstore: background checkpoint save to '\(branch)' failed: \(error)\n".utf8)
      _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
  }

  /// A save decided on and captured, not yet written.
  private struct SaveRequest {
    var snapshot: Checkpoint.Snapshot
    var step: Int64
    var previousStep: Int64?
    var message: String
    var metrics: [String: Double]
    var metadata: [String: String]
    /// The metrics logged since the previous save, stored with this one.
    var series: [MetricSeries]
    var reused: [TensorInfo] { snapshot.reused }
  }

  /// Decides whether a save is due and, if so, captures the checkpoint (the copy).
  private func prepare(
    _ metrics: [String: Double], _ message: String?, _ metadata: [String: String], _ force: Bool
  ) throws -> SaveRequest? {
    let step = checkpoint.step
    let previous = backgroundLock.withLock { lastSavedStep }
    if step == previous { return nil }
    let due = step % saveInterval == 0 || previous.map { step - $0 >= saveInterval } ?? false
    if !force && !due { return nil }
    let request = SaveRequest(
      snapshot: try checkpoint.snapshot(), step: step, previousStep: previous,
      message: message ?? "checkpoint at step \(step)", metrics: metrics, metadata: metadata,
      series: metricLog.take())
    backgroundLock.withLock { lastSavedStep = step }
    return request
  }

  /// Commits a captured checkpoint, records its stored entries, applies retention.
  ///
  /// If the commit fails, whatever the error, the step counts as unsaved again, so a retried
  /// `save` at the same step writes it. Once the commit landed the save has succeeded: a failure
  /// of the steps after it (recording entries for reuse, retention) is a store warning.
  private func write(_ request: SaveRequest) throws -> SavedCheckpoint {
    let commit: Commit
    do {
      commit = try writer.commit(
        request.snapshot.tensors + request.series.map { TensorSource(try $0.tensor()) },
        reusing: request.reused, step: request.step, message: request.message,
        metrics: request.metrics, metadata: request.metadata)
    } catch {
      backgroundLock.withLock { lastSavedStep = request.previousStep }
      metricLog.putBack(request.series)
      throw error
    }
    let policy = RetentionPolicy(
      keepLast: maxToKeep, keepEvery: keepEvery, branches: [branch], keepBest: keepBest,
      keepWithin: keepWithin)
    store.retain(afterSaving: commit, on: branch, policy) {
      checkpoint.remember(try store.tensors(in: commit), versions: request.snapshot.versions)
    }
    pusher?.push()
    return SavedCheckpoint(commit: commit)
  }

  /// The newest checkpoint on the branch, if any.
  public func latest() throws -> SavedCheckpoint? {
    try wait()
    return try store.head(of: branch).map { SavedCheckpoint(commit: try store.commit($0)) }
  }

  /// Checkpoints of the branch that still have data, newest first.
  public func checkpoints() throws -> [SavedCheckpoint] {
    try wait()
    guard let head = try store.head(of: branch) else { return [] }
    return try store.history(from: head).filter { !store.isPruned($0.id) }.map(
      SavedCheckpoint.init)
  }

  /// Restores the newest checkpoint if there is one (and returns it); otherwise leaves the tracked
  /// objects as initialised and returns nil.
  @discardableResult
  public func restoreOrInitialize(options: RestoreOptions = .strict) throws -> SavedCheckpoint? {
    try wait()
    guard let latest = try latest() else { return nil }
    try restore(commit: latest.commit, options: options)
    return latest
  }

  /// Restores a revision (`step-N`, a tag, an id …; `step-N` is looked up on this branch).
  @discardableResult
  public func restore(_ revision: String, options: RestoreOptions = .strict) throws
    -> RestoreReport
  {
    try wait()
    let spec = revision.hasPrefix("step-") ? branch + ":" + revision : revision
    return try restore(commit: store.resolve(spec), options: options)
  }

  /// Restores a commit and remembers its entries: the restored parameters hold exactly the
  /// stored bytes, so the next save can reuse them until they change.
  private func restore(commit: Commit, options: RestoreOptions) throws -> RestoreReport {
    // The metric series are the store's records, not tracked state: a strict restore neither
    // expects nor loads them.
    let entries = try store.tensors(in: commit).filter { !MetricSeries.isReserved($0.name) }
    // One batched read: every chunk of every tensor on all cores at once.
    let report = try checkpoint.restore(
      from: zip(entries, try store.read(entries)).map {
        try TensorData(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: $1)
      }, options: options)
    let restored = Set(report.restored)
    checkpoint.remember(
      entries.filter { restored.contains($0.name) }, versions: checkpoint.parameterVersions())
    return report
  }
}
