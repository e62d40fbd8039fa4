import CKStore
import Foundation

/// Saves and restores one rank's share of a checkpoint that N processes save together, as one
/// sharded commit per step (docs/FORMAT.md, "Sharded commits"); the counterpart of
/// `CheckpointManager` for sharded jobs.
///
/// Each rank tracks only what it owns in its own `Checkpoint`. A tensor that is a slice of a
/// larger one (a column block of a tensor-parallel weight, rows of an embedding) is named as the
/// whole and placed by `slices`; every other tensor must be owned by one rank, or be the same on
/// all (the step counter each checkpoint carries is). The commit appears when every rank's part is
/// durable; a rank that dies leaves none, and restarting the job completes or redoes the step.
///
/// Unlike `CheckpointManager`, a rank manager does not hold the branch's writer lock (the ranks
/// share the branch) and applies no retention: run `ckstore gc` with a policy from one place.
/// Restoring reads only what this rank owns: for a sliced tensor, the region `slices` gives it,
/// whatever layout the checkpoint was saved with — so a job restarted with another number of
/// ranks restores as long as its placements tile the same global tensors.
public final class RankCheckpointManager {
  /// What this rank saves.
  public let checkpoint: Checkpoint
  /// Where it is saved.
  public let store: Store
  /// The branch the checkpoints go to.
  public let branch: String
  /// This process's rank, 0-based.
  public let rank: Int
  /// The number of ranks that save each checkpoint.
  public let worldSize: Int
  /// Where this rank's sliced tensors lie in their global tensors, by full tensor name.
  public let slices: [String: SlicePlacement]
  /// Save every this many steps; `save` skips in between.
  public let saveInterval: Int64
  private var lastSavedStep: Int64?
  let metricLog = MetricLog()

  /// A manager for rank `rank` of `worldSize`. Throws `CheckpointError.invalidValue` if the rank
  /// is out of range.
  public init(
    _ checkpoint: Checkpoint, store: Store, branch: String = "main", rank: Int, worldSize: Int,
    slices: [String: SlicePlacement] = [:], saveInterval: Int64 = 1
  ) throws {
    guard worldSize >= 1, rank >= 0, rank < worldSize else {
      throw CheckpointError(.invalidValue, "rank \(rank) of \(worldSize) is out of range")
    }
    try RefName.validate(branch, kind: "branch")
    self.checkpoint = checkpoint
    self.store = store
    self.branch = branch
    self.rank = rank
    self.worldSize = worldSize
    self.slices = slices
    self.saveInterval = max(1, saveInterval)
    self.lastSavedStep = try store.head(of: branch).map { try store.commit($0).step }
  }

  /// Saves this rank's part of the checkpoint at `checkpoint.step` when due (the step is a
  /// multiple of `saveInterval`, or `force`); nil when it skips. `.pending` means this part is
  /// durable and the commit waits for other ranks; `.committed` that this call completed the set
  /// (or found the step already committed). Metrics, message and metadata count from rank 0.
  /// A placement of a tensor the checkpoint does not hold yet (optimizer state before the
  /// optimizer's first update) is left out of this part.
  @discardableResult
  public func save(
    metrics: [String: Double] = [:], message: String = "", metadata: [String: String] = [:],
    force: Bool = false
  ) throws -> PartOutcome? {
    let step = checkpoint.step
    guard force || (step % saveInterval == 0 && lastSavedStep != step) else { return nil }
    let tensors = try checkpoint.tensors()
    let held = Set(tensors.map(\.name))
    let series = metricLog.take()
    do {
      let outcome = try store.commitPart(
        tensors.map(TensorSource.init) + series.map { TensorSource(try $0.tensor()) },
        slices: slices.filter { held.contains($0.key) }, part: rank, of: worldSize,
        branch: branch, step: step, message: message, metrics: metrics, metadata: metadata)
      lastSavedStep = step
      return outcome
    } catch {
      metricLog.putBack(series)
      throw error
    }
  }

  /// The newest checkpoint on the branch, if any (a sharded commit or any other).
  public func latest() throws -> SavedCheckpoint? {
    try store.head(of: branch).map { SavedCheckpoint(commit: try store.commit($0)) }
  }

  /// Restores this rank's share of the newest checkpoint if there is one (and returns it);
  /// otherwise leaves the tracked objects as initialised and returns nil.
  @discardableResult
  public func restoreOrInitialize(options: RestoreOptions = .strict) throws -> SavedCheckpoint? {
    guard let latest = try latest() else { return nil }
    try restore(latest.commit, options: options)
    return latest
  }

  /// Restores this rank's share of `commit`: each tracked tensor read whole, or, if `slices`
  /// places it, only its region of the stored tensor (decoding only the chunks that overlap it).
  /// An optimizer tracked with its model gets its state even if it has made no update yet.
  @discardableResult
  public func restore(_ commit: Commit, options: RestoreOptions = .strict) throws -> RestoreReport {
    var saved: [TensorData] = []
    // Optimizer state is asked for even before the optimizer has created it (a fresh process).
    for (name, shape) in try checkpoint.restorableShapes().sorted(by: { $0.key < $1.key }) {
      // A name the commit lacks is left out: strict restore reports it with every other mismatch.
      guard let info = try? store.tensorInfo(named: name, in: commit) else { continue }
      if let placement = slices[name] {
        let region = TensorRegion(offset: placement.offset, extent: shape)
        let (bytes, _) = try store.read(info, region: region)
        saved.append(try TensorData(name: name, dtype: info.dtype, shape: shape, bytes: bytes))
      } else {
        saved.append(
          try TensorData(name: name, dtype: info.dtype, shape: info.shape, bytes: store.read(info)))
      }
    }
    return try checkpoint.restore(from: saved, options: options)
  }
}

extension RankCheckpointManager {
  /// Records metrics at a step between saves, as `CheckpointManager.log` does: this rank's next
  /// save stores the series in its part (`ckstore/metrics/<name>`), and so in the sharded commit.
  /// Log on one rank (rank 0, say): a series two parts hold must be equal, as any tensor must.
  ///
  /// Throws `StoreError.invalidName` if a metric name cannot be a tensor name segment.
  public func log(step: Int64, metrics: [String: Double]) throws {
    for name in metrics.keys { try MetricSeries.validate(metric: name) }
    metricLog.append(step: step, metrics: metrics)
  }
}
