import CKStore
import Foundation

/// Compression ratio and speed of the chunk codec per kind of data, and a level table.
struct CodecFigures {
  let trainSteps: Int
  static let chunk = 1 << 20
  static let level = Int32(StoreConfiguration.defaultCompressionLevel)

  /// Ratio (raw / stored) and single-core MB/s of the store's codec and of plain zstd on `bytes`.
  static func measure(_ bytes: [UInt8], dtype: DType, level: Int32) throws -> (
    ratio: Double, mbps: Double, plainRatio: Double, plainMbps: Double
  ) {
    let ranges = stride(from: 0, to: bytes.count, by: chunk).map {
      $0..<min($0 + chunk, bytes.count)
    }
    // Repeat small inputs so each timing covers at least 32 MiB.
    let rounds = max(1, (32 << 20) / max(1, bytes.count))
    var stored = 0
    var plain = 0
    let codecTime = try Timing.median(repeats: 3) {
      stored = 0
      for _ in 0..<rounds {
        for r in ranges {
          stored += try bytes.withUnsafeBytes {
            try ChunkCodec.storedSize(
              UnsafeRawBufferPointer(rebasing: $0[r]), dtype: dtype, level: level)
          }
        }
      }
    }
    let plainTime = try Timing.median(repeats: 3) {
      plain = 0
      for _ in 0..<rounds {
        for r in ranges {
          plain += try bytes.withUnsafeBytes {
            try Zstd.compress(UnsafeRawBufferPointer(rebasing: $0[r]), level: level).count
          }
        }
      }
    }
    let total = Double(bytes.count * rounds)
    return (
      total / Double(stored), total / codecTime / 1e6, total / Double(plain),
      total / plainTime / 1e6
    )
  }

  /// Two consecutive checkpoints (weights, m, v) committed to a store with and without the
  /// experimental delta codec: bytes and time of the second commit.
  func measureDeltaStore(
    old: (weights: [Float], m: [Float], v: [Float]),
    new: (weights: [Float], m: [Float], v: [Float]),
    into report: inout BenchReport
  ) throws {
    func tensors(_ s: (weights: [Float], m: [Float], v: [Float])) throws -> [TensorData] {
      try [("model", s.weights), ("adam.m", s.m), ("adam.v", s.v)].map {
        try TensorData(name: $0.0, shape: [$0.1.count], float32: $0.1)
      }
    }
    var figures: [Bool: (bytes: Double, ms: Double)] = [:]
    for delta in [false, true] {
      let path = NSTemporaryDirectory() + "ckbench-delta-\(UUID().uuidString)"
      defer { try? FileManager.default.removeItem(atPath: path) }
      let store = try Store.create(
        at: path, configuration: StoreConfiguration(deltaAgainstParent: delta))
      try store.commit(try tensors(old), to: "main", step: 1)
      let second = try tensors(new)
      let start = Timing.now()
      let commit = try store.commit(second, to: "main", step: 2)
      figures[delta] = (Double(commit.addedBytes), (Timing.now() - start) * 1000)
    }
    let section = "delta against the parent checkpoint (100 steps apart, default level)"
    report.add(
      section, "store with deltas: 2nd commit adds", figures[true]!.bytes / 1024, "KiB",
      baseline: "without deltas", figures[false]!.bytes / 1024)
    report.add(
      section, "store with deltas: 2nd commit time", figures[true]!.ms, "ms",
      baseline: "without deltas", figures[false]!.ms)
  }

  func measure(into report: inout BenchReport) throws {
    let trained = try BenchData.trainedTensors(steps: trainSteps)
    let datasets: [(String, DType, [UInt8])] = [
      (
        "float32 random normal", .float32,
        BenchData.bytes(BenchData.normalFloats(count: 1 << 22, scale: 0.02, seed: 9))
      ),
      ("float32 trained weights", .float32, BenchData.bytes(trained.weights)),
      ("float32 Adam m", .float32, BenchData.bytes(trained.m)),
      ("float32 Adam v", .float32, BenchData.bytes(trained.v)),
      ("bfloat16 trained weights", .bfloat16, BenchData.bfloat16Bytes(trained.weights)),
    ]
    for (name, dtype, bytes) in datasets {
      let f = try Self.measure(bytes, dtype: dtype, level: Self.level)
      report.add(
        "compression (default level, 1 MiB chunks)", "\(name) ratio", f.ratio, "x",
        baseline: "plain zstd", f.plainRatio)
      report.add(
        "compression (default level, 1 MiB chunks)", "\(name) MB/s per core", f.mbps, "MB/s",
        baseline: "plain zstd", f.plainMbps)
    }
    // Delta against the parent (not in the store): XOR each tensor with the previous
    // checkpoint's (saved every 100 steps), then the same codec.
    let snapshots = try BenchData.trainedSnapshots(at: [trainSteps, trainSteps + 100])
    let (old, new) = (snapshots[0], snapshots[1])
    for (name, a, b) in [
      ("weights", old.weights, new.weights), ("Adam m", old.m, new.m), ("Adam v", old.v, new.v),
    ] {
      let plain = try Self.measure(BenchData.bytes(b), dtype: .float32, level: Self.level)
      let delta = try Self.measure(
        BenchData.xor(BenchData.bytes(a), BenchData.bytes(b)), dtype: .float32, level: Self.level)
      report.add(
        "delta against the parent checkpoint (100 steps apart, default level)",
        "\(name) XOR-delta ratio",
        delta.ratio, "x", baseline: "codec alone", plain.ratio)
    }
    try measureDeltaStore(old: old, new: new, into: &report)
    for level: Int32 in [1, 2, 3, 5, 7, 9] {
      let f = try Self.measure(BenchData.bytes(trained.weights), dtype: .float32, level: level)
      report.add(
        "codec level table (trained float32 weights)", "level \(level) ratio", f.ratio, "x",
        baseline: "plain zstd", f.plainRatio)
      report.add(
        "codec level table (trained float32 weights)", "level \(level) MB/s per core", f.mbps,
        "MB/s", baseline: "plain zstd", f.plainMbps)
    }
  }
}
