import ArgumentParser
import CKStore
import Foundation

/// `ckbench chunk-size`: the measurement behind the store's default chunk size.
struct ChunkSizeBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chunk-size",
    abstract: "Commit throughput and one-row-update cost for several chunk sizes.")

  @Option(help: "MiB of float32 tensor data per commit.") var megabytes = 64
  @Option(help: "Repetitions per figure (the median is printed).") var repeats = 3
  @Option(help: "Folder for the temporary stores.") var scratch = NSTemporaryDirectory()

  func run() throws {
    let rowFloats = 256
    let rows = megabytes * (1 << 20) / (rowFloats * 4)
    var table = Array(repeating: Float(0), count: rows * rowFloats)
    var state: UInt64 = 1
    for i in table.indices {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      table[i] = Float(Int64(bitPattern: state) >> 40) * 1e-6
    }
    let base = try TensorData(name: "embedding.weight", shape: [rows, rowFloats], float32: table)
    table[rows / 2 * rowFloats] += 1
    let changed = try TensorData(
      name: "embedding.weight", shape: [rows, rowFloats], float32: table)

    print("chunk size  objects  cold commit MB/s  one-row update ms  update adds")
    for chunk in [64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20] {
      var added: Int64 = 0
      var objects = 0
      var cold: [Double] = []
      var update: [Double] = []
      for _ in 0..<repeats {
        let path = scratch + "/ckbench-chunk-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store.create(at: path, configuration: StoreConfiguration(chunkSize: chunk))
        var start = Timing.now()
        try store.commit([base], to: "main", step: 1)
        cold.append(Timing.now() - start)
        objects = try store.stats().chunkObjects
        start = Timing.now()
        added = try store.commit([changed], to: "main", step: 2).addedBytes
        update.append(Timing.now() - start)
      }
      let mbps = Double(base.bytes.count) / Timing.medianOf(cold) / 1e6
      print(
        String(
          format: "%8d KiB  %7d  %16.0f  %17.1f  %8.1f KiB", chunk >> 10, objects, mbps,
          Timing.medianOf(update) * 1000, Double(added) / 1024))
    }
  }
}
