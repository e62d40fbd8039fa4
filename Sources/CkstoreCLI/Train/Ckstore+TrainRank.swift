import ArgumentParser
import CKCheckpoint
import CKEngine
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore train-rank`: one rank worker of `ckstore train --ranks N`, started by it and
  /// driven over its standard input and output (`RankChannel`); not for use by hand.
  struct TrainRank: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "train-rank",
      abstract: "A rank worker of `ckstore train --ranks N` (started by it, not by hand).",
      discussion: """
        Owns rows of every parameter and their Adam state, applies the updates it is sent, and \
        saves its part of each sharded checkpoint (RankCheckpointManager). Ignores SIGINT and \
        SIGTERM: the coordinating `train` decides when to save and stop; exits when it is told \
        to, or when its input closes.
        """,
      shouldDisplay: false)

    func run() throws {
      signal(SIGINT, SIG_IGN)
      signal(SIGTERM, SIG_IGN)
      signal(SIGPIPE, SIG_IGN)
      // Standard output is the channel: anything else printed goes to standard error.
      let channel = RankChannel(input: 0, output: dup(1))
      dup2(2, 1)
      do {
        try RankWorker(channel: channel).serve()
      } catch is RankChannel.Closed {
        throw ExitCode(3)
      } catch {
        let failure =
          (error as? StoreError).map { RankFailure(code: $0.code.rawValue, message: $0.message) }
          ?? RankFailure(code: "other", message: "\(error)")
        try? channel.send(RankReply(error: failure))
        throw ExitCode(2)
      }
    }
  }
}

/// A rank worker's state: its slices of the parameters (a `ParameterSet` under the model's
/// names), their Adam state, replicas of the generator and data position that every rank saves,
/// and the rank manager that saves its part.
final class RankWorker {
  private let channel: RankChannel
  private var shard = ParameterSet([:])
  private var optimizer = Adam(learningRate: .constant(0))
  private var replicas = Checkpoint()
  private var manager: RankCheckpointManager?

  init(channel: RankChannel) {
    self.channel = channel
  }

  /// Takes the setup, then commands until `stop`.
  func serve() throws {
    let (setup, initial) = try channel.receive(RankSetup.self)
    try configure(setup, initial: initial)
    while true {
      let (command, payload) = try channel.receive(RankCommand.self)
      switch command.kind {
      case .step: try step(command.names, gradients: payload)
      case .save: try save(command, payload)
      case .stop: return
      }
    }
  }

  private func configure(_ setup: RankSetup, initial: [UInt8]) throws {
    let pieces = setup.layout.pieces(of: setup.rank)
    var offset = 0
    var parameters: [String: Parameter] = [:]
    var slices: [String: SlicePlacement] = [:]
    for piece in pieces {
      let parameter = Parameter(Tensor(shape: piece.shape), trainable: piece.entry.trainable)
      if setup.restore == nil {
        let size = piece.elements.count * 4
        guard offset + size <= initial.count else {
          throw StoreError(
            .invalidArgument, "rank setup: initial values end before '\(piece.entry.name)'")
        }
        try initial[offset..<(offset + size)].withUnsafeBytes { try parameter.load(bytes: $0) }
        offset += size
      }
      parameters[piece.entry.name] = parameter
      if let placement = piece.placement {
        slices["model/" + piece.entry.name] = placement
        for slot in optimizer.stateSlots.tensors {
          slices["optimizer/" + piece.entry.name + "/" + slot] = placement
        }
      }
    }
    shard = ParameterSet(parameters)
    optimizer = Adam(learningRate: .constant(setup.learningRate))
    let generator = RandomGenerator(seed: 0)
    let batches = try MinibatchIterator(
      count: setup.exampleCount, batchSize: setup.batchSize, seed: 0)
    let checkpoint = Checkpoint()
    try checkpoint.track(shard, as: "model")
    try checkpoint.track(optimizer, as: "optimizer", updating: shard)
    try checkpoint.track(generator, as: "rng")
    try checkpoint.track(batches, as: "data")
    replicas = Checkpoint()
    try replicas.track(generator, as: "rng")
    try replicas.track(batches, as: "data")
    let store = try Store.open(at: setup.store)
    let manager = try RankCheckpointManager(
      checkpoint, store: store, branch: setup.branch, rank: setup.rank,
      worldSize: setup.layout.ranks, slices: slices)
    self.manager = manager
    guard let restore = setup.restore else { return try channel.send(RankReply()) }
    guard let id = ObjectID(hex: restore) else {
      throw StoreError(.invalidArgument, "rank setup: '\(restore)' is not a commit id")
    }
    try manager.restore(try store.commit(id))
    let names = pieces.map(\.entry.name)
    try channel.send(RankReply(names: names), payload: bytes(of: names))
  }

  /// Applies one Adam update to the slices named, from the gradient slices in `gradients`, and
  /// sends the updated slices back.
  private func step(_ names: [String], gradients payload: [UInt8]) throws {
    var gradients: [String: Tensor] = [:]
    var offset = 0
    for name in names {
      guard let parameter = shard.byName[name] else {
        throw StoreError(
          .invalidArgument, "rank step: a gradient for '\(name)', which this rank does not own")
      }
      let size = parameter.count * 4
      guard offset + size <= payload.count else {
        throw StoreError(.invalidArgument, "rank step: the gradients end before '\(name)'")
      }
      gradients[name] = try payload[offset..<(offset + size)].withUnsafeBytes {
        try Tensor(shape: parameter.shape, bytes: $0)
      }
      offset += size
    }
    try optimizer.update(shard, gradients: gradients)
    try channel.send(RankReply(names: names), payload: bytes(of: names))
  }

  /// Saves this rank's part of the checkpoint at the command's step.
  private func save(_ command: RankCommand, _ payload: [UInt8]) throws {
    guard let manager else {
      throw StoreError(.invalidArgument, "rank save: a save before the setup")
    }
    var offset = 0
    var saved: [TensorData] = []
    for t in command.replicated {
      guard offset + t.byteCount <= payload.count else {
        throw StoreError(.invalidArgument, "rank save: the payload ends before '\(t.name)'")
      }
      saved.append(
        try TensorData(
          name: t.name, dtype: t.dtype, shape: t.shape,
          bytes: Array(payload[offset..<(offset + t.byteCount)])))
      offset += t.byteCount
    }
    try replicas.restore(from: saved)
    manager.checkpoint.step = command.step
    for (step, bits) in zip(command.loggedSteps, command.loggedLosses) {
      try manager.log(step: step, metrics: ["loss": Double(bitPattern: bits)])
    }
    let outcome = try manager.save(
      metrics: command.metrics, message: command.message, metadata: command.metadata, force: true)
    var reply = RankReply()
    if case .committed(let commit)? = outcome { reply.committed = commit.id.hex }
    try channel.send(reply)
  }

  /// The float32 bytes of the slices named, in order.
  private func bytes(of names: [String]) -> [UInt8] {
    var out: [UInt8] = []
    for name in names {
      shard.byName[name]!.value.withUnsafeBytes { out += $0 }
    }
    return out
  }
}
