import CKCheckpoint
import CKEngine
import CKRemote
import CKStore
import Foundation

/// What a save of `ckstore train` needs besides the step: its metrics, message and metadata.
struct SaveRequest {
  /// The commit's metrics.
  var metrics: [String: Double]
  /// The commit message; nil for the default ("checkpoint at step N").
  var message: String?
  /// The commit metadata (the run's settings).
  var metadata: [String: String]
  /// Save even if the step is not due.
  var force: Bool
}

/// Where `ckstore train` keeps the optimizer state and how it saves: in this process through a
/// `CheckpointManager`, or in N rank workers as sharded commits (`--ranks`). The loop is the
/// same for both; `checkpoint.step` is its counter.
protocol TrainingSaves: AnyObject {
  /// Holds the step counter (and whatever this side saves of the run).
  var checkpoint: Checkpoint { get }
  /// The learning rate of the next update.
  var learningRate: Float { get }
  /// The branch's newest checkpoint, if any.
  func latest() throws -> Commit?
  /// Restores `commit` (the newest checkpoint) or, for nil, starts from the initialised model.
  func begin(from commit: Commit?) throws
  /// One forward, backward and update on the examples; the loss.
  func step(_ indices: [Int]) throws -> Float
  /// Records the loss of a step between saves (stored with the next save where supported).
  func log(step: Int64, loss: Float) throws
  /// Saves a checkpoint at `checkpoint.step` if due (or forced); the commit, or nil if skipped.
  func save(_ request: SaveRequest) throws -> Commit?
  /// Waits for what is still in flight (pushes; workers' exits).
  func finish() throws
}

/// `ckstore train` in one process: `CheckpointManager` with this process's optimizer.
final class LocalTrainingSaves: TrainingSaves {
  let checkpoint: Checkpoint
  private let manager: CheckpointManager
  private let task: any TrainingTask
  private let optimizer: any Optimizer

  /// Tracks the whole run (model, optimizer, generator, data position) in one checkpoint.
  init(
    task: any TrainingTask, optimizer: any Optimizer, generator: RandomGenerator,
    batches: MinibatchIterator, manager: (Checkpoint) throws -> CheckpointManager
  ) throws {
    self.task = task
    self.optimizer = optimizer
    checkpoint = Checkpoint()
    try checkpoint.track(task.model, as: "model")
    try checkpoint.track(optimizer, as: "optimizer", updating: task.model)
    try checkpoint.track(generator, as: "rng")
    try checkpoint.track(batches, as: "data")
    self.manager = try manager(checkpoint)
  }

  var learningRate: Float { optimizer.learningRate }
  func latest() throws -> Commit? { try manager.latest()?.commit }
  func begin(from commit: Commit?) throws {
    if commit != nil { try manager.restoreOrInitialize() }
  }
  func step(_ indices: [Int]) throws -> Float { try task.step(indices, optimizer: optimizer) }
  func log(step: Int64, loss: Float) throws {
    try manager.log(step: step, metrics: ["loss": Double(loss)])
  }
  func save(_ request: SaveRequest) throws -> Commit? {
    try manager.save(
      metrics: request.metrics, message: request.message, metadata: request.metadata,
      force: request.force)?.commit
  }
  func finish() throws { try manager.finishPushing() }
}

/// `ckstore train --ranks N`: this process computes the loss and gradients of the whole model;
/// N rank workers own the parameters' rows and Adam state, update them and save one sharded
/// commit per checkpoint (`RankWorkers`). This side keeps the generator and data position, which
/// every rank saves alike, applies the retention policy after each commit and, with a remote,
/// pushes it in the background (an empty branch first resumes from the remote).
final class RankTrainingSaves: TrainingSaves {
  let checkpoint = Checkpoint()
  let learningRate: Float
  private let workers: RankWorkers
  private let store: Store
  private let branch: String
  private let saveInterval: Int64
  private let retention: RetentionPolicy
  private let task: any TrainingTask
  /// The model's parameters by name, which the workers' rows are pasted into.
  private let parameters: [String: Parameter]
  private let setup: (Int, String?) -> RankSetup
  private let say: (String) -> Void
  private let pusher: BackgroundPusher?
  private var lastSaved: Int64?
  private var losses: [(step: Int64, loss: Double)] = []

  /// Starts `ranks` workers for `task`'s model.
  init(
    ranks: Int, task: any TrainingTask, learningRate: Float, generator: RandomGenerator,
    batches: MinibatchIterator, store: Store, branch: String, saveInterval: Int64,
    retention: RetentionPolicy, remote: RemoteStore?, say: @escaping (String) -> Void
  ) throws {
    let named = task.model.namedParameters()
    let layout = RankLayout(
      entries: named.map {
        RankLayout.Entry(
          name: $0.name, shape: $0.parameter.shape, trainable: $0.parameter.isTrainable)
      }, ranks: ranks)
    parameters = Dictionary(uniqueKeysWithValues: named.map { ($0.name, $0.parameter) })
    try checkpoint.track(generator, as: "rng")
    try checkpoint.track(batches, as: "data")
    self.task = task
    self.learningRate = learningRate
    self.store = store
    self.branch = branch
    self.saveInterval = saveInterval
    self.retention = retention
    self.say = say
    if let remote { try CheckpointManager.seed(store, branch: branch, from: remote) }
    pusher = remote.map { BackgroundPusher(store: store, remote: $0, branch: branch) }
    lastSaved = try store.head(of: branch).map { try store.commit($0).step }
    setup = { rank, restore in
      RankSetup(
        store: store.root, branch: branch, rank: rank, layout: layout, learningRate: learningRate,
        exampleCount: batches.count, batchSize: batches.batchSize, restore: restore)
    }
    workers = try RankWorkers(layout: layout)
  }

  func latest() throws -> Commit? { try store.head(of: branch).map { try store.commit($0) } }

  func begin(from commit: Commit?) throws {
    let ranks = workers.layout.ranks
    for (step, parts) in try store.abandonParts(
      of: branch, after: commit?.step ?? -1, notOf: ranks)
    {
      say(
        "abandoning the unfinished \(parts)-part save of step \(step): redone with \(ranks) ranks")
    }
    if let commit {
      // The step, generator and data position are read whole; the workers read their rows.
      let saved = try checkpoint.tensors().map { t in
        let info = try store.tensorInfo(named: t.name, in: commit)
        return try TensorData(
          name: t.name, dtype: info.dtype, shape: info.shape, bytes: try store.read(info))
      }
      try checkpoint.restore(from: saved)
    }
    try workers.start({ setup($0, commit?.id.hex) }, model: parameters)
  }

  func step(_ indices: [Int]) throws -> Float {
    let (loss, gradients) = task.gradients(indices)
    try workers.step(gradients, model: parameters)
    return loss
  }

  /// Kept until the next save, which hands them to rank 0 for the `ckstore/metrics/loss` series.
  func log(step: Int64, loss: Float) throws { losses.append((step, Double(loss))) }

  func save(_ request: SaveRequest) throws -> Commit? {
    let step = checkpoint.step
    guard step != lastSaved, request.force || step % saveInterval == 0 else { return nil }
    let id = try workers.save(
      step: step, metrics: request.metrics,
      message: request.message ?? "checkpoint at step \(step)",
      metadata: request.metadata, replicated: try checkpoint.tensors(), losses: losses)
    lastSaved = step
    losses = []
    let commit = try store.commit(id)
    store.retain(afterSaving: commit, on: branch, retention)
    pusher?.push()
    return commit
  }

  func finish() throws {
    try workers.stop()
    try pusher?.finish(timeout: 300)
  }
}
