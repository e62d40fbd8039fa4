import CKEngine
import CKStore
import Foundation

/// The N rank workers of `ckstore train --ranks N`, seen from the coordinating process: each a
/// `ckstore train-rank` child owning rows of every parameter and their Adam state
/// (`RankLayout`). The coordinator computes the loss and gradients of the whole model; each step
/// sends every worker the gradient rows it owns and pastes the updated rows it sends back, so the
/// parameters the coordinator computes with are the workers' (ZeRO-style optimizer sharding: the
/// coordinator holds no optimizer state). Each save is one sharded commit, every worker writing
/// its part in parallel; none of them sends its bytes through the coordinator.
///
/// A worker that dies is an error naming its rank; the others are then stopped, and a save in
/// flight leaves no commit (its parts stay for a re-run with the same N to complete).
final class RankWorkers {
  /// The split of the model.
  let layout: RankLayout
  /// What each rank owns (`layout.pieces(of:)`), by rank, and by rank and parameter name.
  private let pieces: [[RankLayout.Piece]]
  private let piecesByName: [[String: RankLayout.Piece]]
  private var processes: [Process] = []
  private var channels: [RankChannel] = []
  /// The pipes behind `channels`, kept alive: their file handles close the descriptors when freed.
  private var pipes: [(input: Pipe, output: Pipe)] = []
  /// What the workers are doing, for the error that names a dead one.
  private var doing = "starting"

  /// Starts `layout.ranks` workers of the executable running now.
  init(layout: RankLayout) throws {
    self.layout = layout
    pieces = (0..<layout.ranks).map(layout.pieces(of:))
    piecesByName = pieces.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.entry.name, $0) }) }
    signal(SIGPIPE, SIG_IGN)
    let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    for _ in 0..<layout.ranks {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: executable)
      process.arguments = ["train-rank"]
      let input = Pipe()
      let output = Pipe()
      process.standardInput = input
      process.standardOutput = output
      try process.run()
      processes.append(process)
      pipes.append((input, output))
      channels.append(
        RankChannel(
          input: output.fileHandleForReading.fileDescriptor,
          output: input.fileHandleForWriting.fileDescriptor))
    }
  }

  /// Sends each worker its setup: its initial slices of `model`'s parameters, or the commit to
  /// restore its share from — then pastes the restored slices into `model`.
  func start(_ setup: (Int) -> RankSetup, model: [String: Parameter]) throws {
    doing = "setting up"
    let restoring = setup(0).restore != nil
    for rank in 0..<layout.ranks {
      let initial = restoring ? [] : Self.cut(pieces[rank], from: { model[$0]!.value })
      try send(rank, setup(rank), payload: initial)
    }
    try receiveSlices(into: model)
  }

  /// One optimizer step: the workers update their rows from `gradients` (by parameter name) and
  /// the new rows are pasted into `model`.
  func step(_ gradients: [String: Tensor], model: [String: Parameter]) throws {
    doing = "an update"
    for rank in 0..<layout.ranks {
      let updated = pieces[rank].filter { gradients[$0.entry.name] != nil }
      try send(
        rank, RankCommand(kind: .step, names: updated.map(\.entry.name)),
        payload: Self.cut(updated, from: { gradients[$0]! }))
    }
    try receiveSlices(into: model)
  }

  /// Every worker saves its part of the checkpoint at `step` (with `replicated`, the tensors
  /// every rank holds alike); returns the commit, once the last part has made it.
  /// `losses` (step, loss) go to rank 0, which stores them as the `ckstore/metrics/loss` series.
  func save(
    step: Int64, metrics: [String: Double], message: String, metadata: [String: String],
    replicated: [TensorData], losses: [(step: Int64, loss: Double)]
  ) throws -> ObjectID {
    doing = "the save of step \(step)"
    var command = RankCommand(
      kind: .save, step: step, metrics: metrics, message: message, metadata: metadata,
      replicated: replicated.map {
        ReplicatedTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, byteCount: $0.bytes.count)
      })
    let payload = replicated.flatMap(\.bytes)
    for rank in 0..<layout.ranks {
      (command.loggedSteps, command.loggedLosses) =
        rank == 0 ? (losses.map(\.step), losses.map(\.loss.bitPattern)) : ([], [])
      try send(rank, command, payload: payload)
    }
    var committed: ObjectID?
    for rank in 0..<layout.ranks {
      let (reply, _) = try receive(rank)
      if let hex = reply.committed { committed = ObjectID(hex: hex) }
    }
    guard let committed else {
      throw StoreError(
        .io, "step \(step): every rank saved its part, but none reported the sharded commit")
    }
    return committed
  }

  /// Tells every worker to exit and waits for them.
  func stop() throws {
    for rank in 0..<layout.ranks { try send(rank, RankCommand(kind: .stop)) }
    for (rank, process) in processes.enumerated() {
      process.waitUntilExit()
      guard process.terminationStatus == 0, process.terminationReason == .exit else {
        throw StoreError(.io, "rank \(rank) of \(layout.ranks) \(Self.describe(process))")
      }
    }
  }

  private func send(_ rank: Int, _ header: some Encodable, payload: [UInt8] = []) throws {
    do {
      try channels[rank].send(header, payload: payload)
    } catch is RankChannel.Closed {
      throw died(rank)
    }
  }

  private func receive(_ rank: Int) throws -> (RankReply, [UInt8]) {
    let reply: (RankReply, [UInt8])
    do {
      reply = try channels[rank].receive(RankReply.self)
    } catch is RankChannel.Closed {
      throw died(rank)
    }
    if let failure = reply.0.error {
      throw StoreError(
        StoreError.Code(rawValue: failure.code) ?? .io,
        "rank \(rank) of \(layout.ranks), during \(doing): \(failure.message)")
    }
    return reply
  }

  /// Receives every worker's reply and pastes the slices it holds into `model`.
  private func receiveSlices(into model: [String: Parameter]) throws {
    var whole: [String: [Float]] = [:]
    for rank in 0..<layout.ranks {
      let (reply, payload) = try receive(rank)
      var offset = 0
      for name in reply.names {
        guard let piece = piecesByName[rank][name], let parameter = model[name] else {
          throw StoreError(.io, "rank \(rank) sent rows of '\(name)', which it does not own")
        }
        let size = piece.elements.count * 4
        guard offset + size <= payload.count else {
          throw StoreError(.io, "rank \(rank): its reply ends before '\(name)'")
        }
        var values = whole[name] ?? parameter.value.scalars
        values.withUnsafeMutableBytes { target in
          payload.withUnsafeBytes { source in
            target.baseAddress!.advanced(by: piece.elements.lowerBound * 4).copyMemory(
              from: source.baseAddress! + offset, byteCount: size)
          }
        }
        whole[name] = values
        offset += size
      }
    }
    for (name, values) in whole {
      try model[name]!.assign(try Tensor(shape: model[name]!.shape, scalars: values))
    }
  }

  /// A dead worker's error, once its exit status is known.
  private func died(_ rank: Int) -> StoreError {
    let process = processes[rank]
    process.waitUntilExit()
    return StoreError(
      .io,
      "rank \(rank) of \(layout.ranks) (pid \(process.processIdentifier)) \(Self.describe(process)) "
        + "during \(doing)")
  }

  private static func describe(_ process: Process) -> String {
    process.terminationReason == .uncaughtSignal
      ? "was killed by signal \(process.terminationStatus)"
      : "exited with status \(process.terminationStatus)"
  }

  /// The rows `pieces` own of each tensor `tensor(name)` gives, concatenated.
  private static func cut(_ pieces: [RankLayout.Piece], from tensor: (String) -> Tensor) -> [UInt8]
  {
    var out: [UInt8] = []
    for piece in pieces {
      tensor(piece.entry.name).withUnsafeBytes { raw in
        out += raw[(piece.elements.lowerBound * 4)..<(piece.elements.upperBound * 4)]
      }
    }
    return out
  }
}
