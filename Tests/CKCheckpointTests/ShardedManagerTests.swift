import CKCheckpoint
import CKEngine
import CKStore
import Foundation
import Testing

/// `RankCheckpointManager`: N ranks save one sharded checkpoint of a column-parallel layer, and
/// restore it under another number of ranks.
@Suite struct ShardedManagerTests {
  /// Rank `r` of a column-parallel Dense(8 → 16) over `ranks` ranks: weight [8, 16/ranks] at
  /// column 16r/ranks, bias [16/ranks] likewise.
  static func rank(_ r: Int, of ranks: Int, seed: UInt64) throws -> (
    Checkpoint, Dense, [String: SlicePlacement]
  ) {
    let width = 16 / ranks
    let layer = Dense(
      inputSize: 8, outputSize: width, generator: RandomGenerator(seed: seed + UInt64(r)))
    let checkpoint = Checkpoint()
    try checkpoint.track(layer, as: "layer")
    let slices = [
      "layer/weight": SlicePlacement(globalShape: [8, 16], offset: [0, r * width]),
      "layer/bias": SlicePlacement(globalShape: [16], offset: [r * width]),
    ]
    return (checkpoint, layer, slices)
  }

  /// Columns `cols` of a row-major [8, 16] float32 matrix.
  static func columns(_ m: [Float], _ cols: Range<Int>) -> [Float] {
    (0..<8).flatMap { row in cols.map { m[row * 16 + $0] } }
  }

  @Test func fourRanksSaveOneCheckpointTwoAndOneRestoreIt() throws {
    let dir = try TempDir()
    let store = try dir.store()
    var global = [Float](repeating: 0, count: 8 * 16)
    var bias = [Float](repeating: 0, count: 16)
    var outcomes: [PartOutcome?] = []
    for r in 0..<4 {
      let (checkpoint, layer, slices) = try Self.rank(r, of: 4, seed: 10)
      try layer.bias!.assign(try Tensor(shape: [4], scalars: (0..<4).map { Float(r * 4 + $0) }))
      let w = layer.weight.value.scalars
      for row in 0..<8 { for c in 0..<4 { global[row * 16 + r * 4 + c] = w[row * 4 + c] } }
      for c in 0..<4 { bias[r * 4 + c] = Float(r * 4 + c) }
      checkpoint.step = 100
      let manager = try RankCheckpointManager(
        checkpoint, store: store, rank: r, worldSize: 4, slices: slices, saveInterval: 50)
      outcomes.append(try manager.save(metrics: ["loss": 1.5]))
      #expect(try manager.save() == nil, "step 100 saved twice")
    }
    #expect(outcomes.dropLast().allSatisfy { if case .pending? = $0 { true } else { false } })
    guard case .committed(let commit)? = outcomes.last else {
      Issue.record("rank 3 did not complete the commit")
      return
    }
    #expect(commit.step == 100 && commit.metrics == ["loss": 1.5])

    // Two ranks, each owning 8 columns, restore their regions.
    for r in 0..<2 {
      let (checkpoint, layer, slices) = try Self.rank(r, of: 2, seed: 90)
      let manager = try RankCheckpointManager(
        checkpoint, store: store, rank: r, worldSize: 2, slices: slices)
      #expect(try manager.restoreOrInitialize()?.commit == commit)
      #expect(checkpoint.step == 100)
      #expect(layer.weight.value.scalars == Self.columns(global, (r * 8)..<(r * 8 + 8)))
      #expect(layer.bias!.value.scalars == Array(bias[(r * 8)..<(r * 8 + 8)]))
    }
    // One process with the whole layer restores it through the ordinary manager.
    let whole = Dense(inputSize: 8, outputSize: 16, generator: RandomGenerator(seed: 5))
    let checkpoint = Checkpoint()
    try checkpoint.track(whole, as: "layer")
    let manager = try CheckpointManager(checkpoint, store: store, maxToKeep: nil)
    #expect(try manager.restoreOrInitialize()?.commit == commit)
    #expect(whole.weight.value.scalars == global && whole.bias!.value.scalars == bias)
  }

  /// Rank `r` of `ranks` owning rows of a [12, 3] weight as a parameter set, with Adam.
  static func adamRank(_ r: Int, of ranks: Int, store: Store) throws -> (
    RankCheckpointManager, ParameterSet, Adam
  ) {
    let rows = (r * 12 / ranks)..<((r + 1) * 12 / ranks)
    let shard = ParameterSet(["w": Parameter(Tensor(shape: [rows.count, 3]))])
    let adam = Adam(learningRate: .constant(0.01))
    let checkpoint = Checkpoint()
    try checkpoint.track(shard, as: "model")
    try checkpoint.track(adam, as: "opt", updating: shard)
    let place = SlicePlacement(globalShape: [12, 3], offset: [rows.lowerBound, 0])
    let manager = try RankCheckpointManager(
      checkpoint, store: store, rank: r, worldSize: ranks,
      slices: ["model/w": place, "opt/w/adam.m": place, "opt/w/adam.v": place])
    return (manager, shard, adam)
  }

  /// Gradient rows `rows` of a fixed [12, 3] gradient for update `t`.
  static func gradient(_ t: Int, rows: Range<Int>) throws -> Tensor {
    let scale = Float(t % 3 + 1) / 7
    var values: [Float] = []
    for i in rows {
      for c in 0..<3 { values.append(Float(i * 3 + c + 1) * scale) }
    }
    return try Tensor(shape: [rows.count, 3], scalars: values)
  }

  /// A fresh optimizer has no state until its first update; restoring into one must still load
  /// the saved moments and counters, or a resumed run silently restarts Adam.
  @Test func freshOptimizersRestoreTheirStateUnderAnotherLayout() throws {
    let dir = try TempDir()
    let store = try dir.store()
    for r in 0..<4 {
      let (manager, shard, adam) = try Self.adamRank(r, of: 4, store: store)
      let rows = (r * 3)..<(r * 3 + 3)
      for t in 0..<3 {
        try adam.update(shard, gradients: ["w": try Self.gradient(t, rows: rows)])
      }
      manager.checkpoint.step = 3
      try manager.save()
    }
    // The reference: one process, the whole weight, three updates and a fourth.
    let whole = ParameterSet(["w": Parameter(Tensor(shape: [12, 3]))])
    let reference = Adam(learningRate: .constant(0.01))
    for t in 0..<4 {
      try reference.update(whole, gradients: ["w": try Self.gradient(t, rows: 0..<12)])
    }
    for ranks in [1, 3] {
      for r in 0..<ranks {
        let (manager, shard, adam) = try Self.adamRank(r, of: ranks, store: store)
        let report = try #require(try manager.restoreOrInitialize())
        #expect(report.step == 3 && adam.step == 3, "rank \(r) of \(ranks)")
        let rows = (r * 12 / ranks)..<((r + 1) * 12 / ranks)
        try adam.update(shard, gradients: ["w": try Self.gradient(3, rows: rows)])
        let expected = Array(
          whole.byName["w"]!.value.scalars[(rows.lowerBound * 3)..<(rows.upperBound * 3)])
        #expect(shard.byName["w"]!.value.scalars == expected, "rank \(r) of \(ranks)")
      }
    }
  }

  @Test func aRankOutOfRangeIsRefused() throws {
    let dir = try TempDir()
    let (checkpoint, _, _) = try Self.rank(0, of: 4, seed: 1)
    #expect(throws: CheckpointError.self) {
      try RankCheckpointManager(checkpoint, store: try dir.store(), rank: 4, worldSize: 4)
    }
  }
}
