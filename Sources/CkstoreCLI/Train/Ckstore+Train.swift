import ArgumentParser
import CKCheckpoint
import CKEngine
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore train`: the demo trainer, checkpointing into the store as it runs.
  struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Train a small model on the engine, committing checkpoints as it goes.",
      discussion: """
        Commits a checkpoint (model, Adam state, random generator, data position, step) every \
        --save-every steps with loss, accuracy and lr as metrics, keeping the data of the last \
        --keep-last (and the best by --keep-best, those --keep-within of the newest; see `gc`). \
        The loss of every step is logged between saves and stored with the next checkpoint \
        (ckstore/metrics/loss). Re-running resumes from the branch's latest checkpoint and trains \
        until --steps in total. A branch made from a full checkpoint (`ckstore branch ft \
        step-500`) can go on with --freeze-base: the restored base stays fixed. SIGINT/SIGTERM save a final checkpoint and exit with status 0. \
        Creates the store if there is none. With --json the text lines go to stderr and stdout \
        gets one document when training stops (docs/JSON.md).
        """)

    @Option(help: "digits, or the path of a text file (character-level language model).")
    var data = "digits"
    @Option(help: "mlp or transformer (default: mlp for digits, transformer for text).")
    var model: String?
    @Option(help: "Train until this step.") var steps: Int64 = 1000
    @Option(help: "Commit a checkpoint every K steps.") var saveEvery: Int64 = 100
    @Option(help: "Keep the data of the newest M checkpoints.") var keepLast = 5
    @Option(
      help: ArgumentHelp(
        "Also keep the N best checkpoints by a metric (repeatable).",
        valueName: "metric[:min|max]=n"),
      transform: { try KeepBest.parse($0) })
    var keepBest: [KeepBest] = []
    @Option(
      help: ArgumentHelp(
        "Also keep checkpoints within this long of the newest.", valueName: "duration"),
      transform: { try RetentionDuration.parse($0) })
    var keepWithin: TimeInterval?
    @Flag(help: "Freeze the base (only the head trains).") var freezeBase = false
    @Option(help: "Seed for initialisation, split and shuffling.") var seed: UInt64 = 0
    @Option(help: "Examples per batch.") var batchSize = 32
    @Option(help: "Adam learning rate.") var lr: Float = 1e-3
    @Option(help: "The branch to commit to.") var branch = "main"
    @Option(
      help: """
        Run N rank worker processes that own the parameters' rows and Adam state and save \
        each checkpoint as one sharded commit (this process computes the gradients).
        """)
    var ranks: Int?
    @OptionGroup var remoteTraining: RemoteTrainingOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
      guard steps >= 0, saveEvery >= 1, keepLast >= 1, batchSize >= 1 else {
        throw ValidationError("--steps ≥ 0, --save-every ≥ 1, --keep-last ≥ 1, --batch-size ≥ 1")
      }
      if let model, !["mlp", "transformer"].contains(model) {
        throw ValidationError("--model must be mlp or transformer, not '\(model)'")
      }
      if model == "transformer" && data == "digits" {
        throw ValidationError("the transformer trains on text: pass --data PATH.txt")
      }
      if model == "mlp" && data != "digits" {
        throw ValidationError("the mlp trains on digits: pass --data digits")
      }
      if let ranks, !(1...256).contains(ranks) {
        throw ValidationError("--ranks must be between 1 and 256, not \(ranks)")
      }
    }

    /// The store named by --store, $CKSTORE_DIR or discovery; created (at the named path, else
    /// ./.ckstore) when there is none, so a first run needs no `init`.
    private func openOrCreateStore() throws -> Store {
      let path = storeOptions.location() ?? ".ckstore"
      if FileManager.default.fileExists(atPath: path + "/config") {
        return try Store.open(at: path)
      }
      say("no store at \(path); creating it")
      return try Store.create(at: path)
    }

    /// A human line: stdout, or stderr under --json (stdout then holds only the document).
    private func say(_ line: String) {
      if output.json { StandardError.write(line + "\n") } else { print(line) }
    }

    func run() throws {
      let store = try openOrCreateStore()
      let generator = RandomGenerator(seed: seed)
      let task: any TrainingTask =
        data == "digits"
        ? try DigitsTask(seed: seed, freezeBase: freezeBase, generator: generator)
        : try TextTask(path: data, freezeBase: freezeBase, generator: generator)
      let batches = try MinibatchIterator(
        count: task.exampleCount, batchSize: batchSize, seed: seed &+ 1)
      let saves: any TrainingSaves
      let remote = try remoteTraining.connect(store)
      if let ranks {
        saves = try RankTrainingSaves(
          ranks: ranks, task: task, learningRate: lr, generator: generator, batches: batches,
          store: store, branch: branch, saveInterval: saveEvery,
          retention: RetentionPolicy(
            keepLast: keepLast, branches: [branch], keepBest: keepBest, keepWithin: keepWithin),
          remote: remote, say: say)
      } else {
        saves = try LocalTrainingSaves(
          task: task, optimizer: Adam(learningRate: .constant(lr)), generator: generator,
          batches: batches
        ) {
          try CheckpointManager(
            $0, store: store, branch: branch, maxToKeep: keepLast, saveInterval: saveEvery,
            keepBest: keepBest, keepWithin: keepWithin, remote: remote)
        }
      }
      let checkpoint = saves.checkpoint
      let metadata = task.signature.merging(
        ["seed": "\(seed)", "batch_size": "\(batchSize)", "lr": "\(lr)"],
        uniquingKeysWith: { a, _ in a })
      let resumed = try saves.latest()
      if let resumed {
        // Freezing the base changes which parameters train, not what is saved: a frozen-base
        // fine-tune may go on from a full checkpoint (and back).
        for (key, value) in metadata
        where key != "freeze_base" && resumed.metadata[key].map({ $0 != value }) ?? false {
          throw StoreError(
            .invalidArgument,
            "branch '\(branch)' was trained with \(key)=\(resumed.metadata[key]!), not "
              + "\(value); use another --branch or the same settings")
        }
      }
      try saves.begin(from: resumed)
      if let resumed {
        say("resuming \(branch) from step \(checkpoint.step) (\(resumed.id.short))")
      }
      let parameterCount = task.model.parameterCount
      say(
        "training \(metadata["model"]!) (\(parameterCount) parameters) on \(metadata["data"]!) "
          + "until step \(steps), saving every \(saveEvery), keeping \(keepLast)"
          + (ranks.map { ", in \($0) rank processes" } ?? ""))

      let stop = StopSignal()
      let progress = TrainingProgress(total: steps, say: say)
      let startStep = checkpoint.step
      var lossSum = 0.0
      var lossCount = 0
      func save(_ message: String? = nil, force: Bool = false) throws {
        var metrics = task.evaluate()
        if lossCount > 0 { metrics["loss"] = lossSum / Double(lossCount) }
        metrics["lr"] = Double(saves.learningRate)
        guard
          let saved = try saves.save(
            SaveRequest(metrics: metrics, message: message, metadata: metadata, force: force))
        else { return }
        progress.saved(saved, metrics: metrics)
        lossSum = 0
        lossCount = 0
      }
      var stoppedBy: String?
      while checkpoint.step < steps {
        if let sig = stop.signal {
          stoppedBy = StopSignal.name(sig)
          break
        }
        let loss = try saves.step(batches.next())
        checkpoint.step += 1
        lossSum += Double(loss)
        lossCount += 1
        try saves.log(step: checkpoint.step, loss: loss)
        progress.stepped(checkpoint.step, loss: loss)
        if checkpoint.step % saveEvery == 0 { try save() }
      }
      if let stoppedBy {
        try save("interrupted by \(stoppedBy) at step \(checkpoint.step)", force: true)
      } else {
        try save(force: true)
      }
      progress.finish()
      try saves.finish()
      say(
        stoppedBy.map { "\($0): saved step \(checkpoint.step) and stopped" }
          ?? "done: \(branch) is at step \(checkpoint.step)")
      guard output.json, let head = try saves.latest() else { return }
      let refs = try store.decorations()
      try printJSON(
        TrainJSON(
          branch: branch, resumedFrom: resumed.map { CommitJSON($0, in: store, refs: refs) },
          head: CommitJSON(head, in: store, refs: refs),
          stepsRun: checkpoint.step - startStep, stoppedBy: stoppedBy))
    }
  }
}

/// `train --json` (docs/json-schema/train.json), printed once training has stopped.
struct TrainJSON: Encodable {
  var branch: String
  @Nullable var resumedFrom: CommitJSON?
  var head: CommitJSON
  var stepsRun: Int64
  /// `SIGINT` or `SIGTERM` when a signal stopped the run before --steps.
  @Nullable var stoppedBy: String?
}
