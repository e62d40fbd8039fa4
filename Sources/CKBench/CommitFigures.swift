import CKStore
import Foundation

/// Commit, incremental commit and restore throughput, next to what the hardware and the
/// primitives alone reach.
struct CommitFigures {
  let megabytes: Int
  let repeats: Int
  let scratch: String

  /// `megabytes` of float32 in tensors of 64, 64, 32, 32, … 1, 1 MiB (scaled to fit).
  func coldTensors() throws -> [TensorData] {
    var sizes: [Int] = []
    var left = megabytes
    var size = 64
    while left > 0 {
      for _ in 0..<2 where left > 0 {
        let s = min(size, left)
        sizes.append(s)
        left -= s
      }
      size = max(1, size / 2)
    }
    let values = BenchData.normalFloats(count: megabytes << 18, scale: 0.02, seed: 1)
    var offset = 0
    return try sizes.enumerated().map { i, mib in
      let count = mib << 18
      defer { offset += count }
      return try TensorData(
        name: "layers.\(i).weight", shape: [count / 256, 256],
        float32: Array(values[offset..<offset + count]))
    }
  }

  func freshStore() throws -> (Store, String) {
    let path = scratch + "/store-\(UUID().uuidString)"
    return (try Store.create(at: path), path)
  }

  func measure(into report: inout BenchReport) throws {
    let tensors = try coldTensors()
    let total = Double(tensors.reduce(0) { $0 + $1.bytes.count })
    let section = "commit (\(megabytes) MiB float32, \(tensors.count) tensors of 1-64 MiB)"
    let chunks: [(Int, Range<Int>)] = tensors.indices.flatMap { t in
      stride(from: 0, to: tensors[t].bytes.count, by: 1 << 20).map {
        (t, $0..<min($0 + (1 << 20), tensors[t].bytes.count))
      }
    }
    func onAllCores(_ body: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Double {
      try Timing.median(repeats: repeats) {
        try parallelForEach(chunks.count) { i in
          let (t, r) = chunks[i]
          try tensors[t].bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[r])) }
        }
      }
    }
    let hash = try onAllCores { _ = SHA256.hash($0) }
    let zstd = try onAllCores {
      _ = try Zstd.compress($0, level: Int32(StoreConfiguration.defaultCompressionLevel))
    }
    let codec = try onAllCores {
      _ = try ChunkCodec.storedSize(
        $0, dtype: .float32, level: Int32(StoreConfiguration.defaultCompressionLevel))
    }
    let both = try onAllCores {
      _ = SHA256.hash($0)
      _ = try ChunkCodec.storedSize(
        $0, dtype: .float32, level: Int32(StoreConfiguration.defaultCompressionLevel))
    }
    let file = scratch + "/raw.bin"
    let write = try Timing.median(repeats: repeats) { try Self.writeWithFsync(tensors, to: file) }
    var coldTimes: [Double] = []
    var restoreTimes: [Double] = []
    for _ in 0..<repeats {
      Timing.settle()
      let (store, path) = try freshStore()
      defer { try? FileManager.default.removeItem(atPath: path) }
      var start = Timing.now()
      let commit = try store.commit(tensors, to: "main", step: 1)
      coldTimes.append(Timing.now() - start)
      start = Timing.now()
      _ = try store.readSnapshot(commit)
      restoreTimes.append(Timing.now() - start)
    }
    let cold = Timing.medianOf(coldTimes)
    let mbps = { (seconds: Double) in total / seconds / 1e6 }
    report.add(section, "SHA-256 alone, all cores", mbps(hash), "MB/s")
    report.add(section, "plain zstd alone, all cores", mbps(zstd), "MB/s")
    report.add(section, "chunk codec alone, all cores", mbps(codec), "MB/s")
    report.add(section, "hash + codec alone, all cores", mbps(both), "MB/s")
    report.add(section, "one file write + fsync", mbps(write), "MB/s")
    report.add(
      section, "cold commit", mbps(cold), "MB/s", baseline: "hash + codec", mbps(both))
    report.add(
      section, "cold commit", mbps(cold), "MB/s", baseline: "file write + fsync", mbps(write))

    let rawRead = try Timing.median(repeats: repeats) {
      _ = try Data(contentsOf: URL(fileURLWithPath: file))
    }
    report.add(
      "restore (verified, all cores)", "restore", mbps(Timing.medianOf(restoreTimes)), "MB/s",
      baseline: "raw file read", mbps(rawRead))
    try? FileManager.default.removeItem(atPath: file)

    try measureIncremental(into: &report)
  }

  /// A model of 100 equal tensors where one changes: commit with dirty tracking (reusing the 99
  /// unchanged entries) and without (the store rehashes everything and dedupes).
  func measureIncremental(into report: inout BenchReport) throws {
    let count = 100
    let per = (megabytes << 18) / count / 256 * 256
    let values = BenchData.normalFloats(count: per * count, scale: 0.02, seed: 2)
    var tensors = try (0..<count).map {
      try TensorData(
        name: "blocks.\($0).weight", shape: [per / 256, 256],
        float32: Array(values[$0 * per..<($0 + 1) * per]))
    }
    let section = "incremental commit (\(count) tensors, 1 changed)"
    var cold: [Double] = []
    var tracked: [Double] = []
    var rehashed: [Double] = []
    for round in 0..<repeats {
      Timing.settle()
      let (store, path) = try freshStore()
      defer { try? FileManager.default.removeItem(atPath: path) }
      var start = Timing.now()
      let first = try store.commit(tensors, to: "main", step: 1)
      cold.append(Timing.now() - start)
      let entries = try store.tensors(in: first)
      var changed = tensors[round % count]
      changed.bytes[0] ^= 1
      tensors[round % count] = changed
      let writer = try store.writer(branch: "main")
      start = Timing.now()
      try writer.commit(
        [changed], reusing: entries.filter { $0.name != changed.name }, step: 2)
      tracked.append(Timing.now() - start)
      changed.bytes[1] ^= 1
      tensors[round % count] = changed
      start = Timing.now()
      try writer.commit(tensors, step: 3)
      rehashed.append(Timing.now() - start)
      writer.close()
    }
    let c = Timing.medianOf(cold)
    let t = Timing.medianOf(tracked)
    let r = Timing.medianOf(rehashed)
    report.add(section, "cold commit", c * 1000, "ms")
    report.add(section, "dirty-tracked commit", t * 1000, "ms", baseline: "cold commit", c * 1000)
    report.add(
      section, "speed-up of dirty tracking over cold", c / t, "x")
    report.add(
      section, "untracked commit (rehash + dedupe)", r * 1000, "ms", baseline: "cold commit",
      c * 1000)
  }

  static func writeWithFsync(_ tensors: [TensorData], to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw StoreError(.io, "cannot create \(path)") }
    defer { close(fd) }
    for t in tensors {
      try t.bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
          let n = write(fd, raw.baseAddress! + done, raw.count - done)
          guard n > 0 else { throw StoreError(.io, "cannot write \(path)") }
          done += n
        }
      }
    }
    guard fsync(fd) == 0 else { throw StoreError(.io, "cannot fsync \(path)") }
  }
}

/// Runs `body` for 0..<count on one thread per core.
func parallelForEach(_ count: Int, _ body: @escaping (Int) throws -> Void) throws {
  let work = SharedWork(count: count, body: body)
  DispatchQueue.concurrentPerform(iterations: ProcessInfo.processInfo.activeProcessorCount) { _ in
    work.drain()
  }
  if let failure = work.failure { throw failure }
}

/// The iterations of one `parallelForEach`, handed out under a lock.
private final class SharedWork: @unchecked Sendable {
  private let lock = NSLock()
  private let count: Int
  private let body: (Int) throws -> Void
  private var next = 0
  private(set) var failure: Error?

  init(count: Int, body: @escaping (Int) throws -> Void) {
    self.count = count
    self.body = body
  }

  func drain() {
    while true {
      let i: Int? = lock.withLock {
        guard next < count, failure == nil else { return nil }
        defer { next += 1 }
        return next
      }
      guard let i else { return }
      do { try body(i) } catch { lock.withLock { failure = error } }
    }
  }
}
