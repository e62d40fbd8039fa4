import ArgumentParser
import CKStore
import Foundation

/// `ckbench large`: a multi-GiB checkpoint of trained-like float32 and bfloat16 tensors through
/// commit, restore, `ckstore import`, re-import and `ckstore export`, each next to a baseline
/// from the same run, with the peak RSS of every command (issue 8's figures).
struct LargeCheckpointBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "large",
    abstract: "Multi-GiB checkpoint: commit, restore, import, export, ratios and peak RSS.",
    discussion: """
      Data: half the bytes float32, half bfloat16, Normal(0, σ) with σ per tensor from 0.005 \
      to 0.08 and random low mantissa bits (no two chunks alike, so nothing dedupes by \
      accident). Baselines, same run: the same bytes written to one file with fsync (what \
      torch.save or safetensors' save_file cost at best), the safetensors file copied with \
      fsync, SHA-256 alone and the chunk codec alone on all cores, the file read raw. \
      Commands run as child processes, so their peak RSS (getrusage) is theirs alone. \
      --rss-gib adds import/export runs at other sizes for the RSS comparison.
      """)

  @Option(help: "GiB of tensor data for the timed figures.") var gib = 2.0
  @Option(help: "Repetitions per timed figure (the median is reported).") var repeats = 3
  @Option(help: "More sizes (GiB) at which import and export RSS is measured (repeatable).")
  var rssGib: [Double] = []
  @OptionGroup var child: ChildProcessOptions

  func run() throws {
    let binary = try child.prepare()
    let scratch = child.scratch
    var report = BenchReport(machine: BenchReport.machine())
    let run = LargeRun(
      bytes: Int(gib * Double(1 << 30)), repeats: repeats, scratch: scratch, ckstore: binary)
    try run.measure(into: &report)
    for size in rssGib {
      try LargeRun(
        bytes: Int(size * Double(1 << 30)), repeats: 1, scratch: scratch, ckstore: binary
      )
      .measureRSS(into: &report)
    }
    if child.json { try report.printJSON() } else { report.printTable() }
  }
}

/// One size of the large-checkpoint benchmark.
struct LargeRun {
  let bytes: Int
  let repeats: Int
  let scratch: String
  let ckstore: String

  var label: String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }

  func measure(into report: inout BenchReport) throws {
    let tensors = try LargeData.tensors(bytes: bytes)
    let total = Double(bytes)
    let mbps = { (seconds: Double) in total / seconds / 1e6 }
    let section = "large checkpoint (\(label): float32 + bfloat16)"
    let level = Int32(StoreConfiguration.defaultCompressionLevel)

    let chunks: [(Int, Range<Int>)] = tensors.indices.flatMap { t in
      stride(from: 0, to: tensors[t].bytes.count, by: 1 << 20).map {
        (t, $0..<min($0 + (1 << 20), tensors[t].bytes.count))
      }
    }
    func onAllCores(_ body: @escaping (Int, UnsafeRawBufferPointer) throws -> Void) throws -> Double
    {
      try Timing.median(repeats: repeats) {
        try parallelForEach(chunks.count) { i in
          let (t, r) = chunks[i]
          try tensors[t].bytes.withUnsafeBytes {
            try body(t, UnsafeRawBufferPointer(rebasing: $0[r]))
          }
        }
      }
    }
    let hash = try onAllCores { _, b in _ = SHA256.hash(b) }
    let codec = try onAllCores { t, b in
      _ = try ChunkCodec.storedSize(b, dtype: tensors[t].dtype, level: level)
    }
    let rawFile = scratch + "/large-raw.bin"
    let write = try Timing.median(repeats: repeats) {
      try CommitFigures.writeWithFsync(tensors, to: rawFile)
    }
    try? FileManager.default.removeItem(atPath: rawFile)
    report.add(section, "SHA-256 alone, all cores", mbps(hash), "MB/s")
    report.add(section, "chunk codec alone, all cores", mbps(codec), "MB/s")
    report.add(section, "one file write + fsync (torch.save at best)", mbps(write), "MB/s")

    // Commit from memory (borrowed buffers, no copy) and restore into caller buffers.
    var commitTimes: [Double] = []
    var restoreTimes: [Double] = []
    var stored: [DType: (raw: Int, stored: Int)] = [:]
    for _ in 0..<repeats {
      Timing.settle()
      let path = scratch + "/large-store-\(UUID().uuidString)"
      let store = try Store.create(at: path)
      defer { try? FileManager.default.removeItem(atPath: path) }
      var start = Timing.now()
      let commit = try LargeData.withBorrowed(tensors) { try store.commit($0, to: "main", step: 1) }
      commitTimes.append(Timing.now() - start)
      let entries = try store.tensors(in: commit)
      let buffers = entries.map {
        UnsafeMutableRawBufferPointer.allocate(byteCount: $0.byteCount, alignment: 64)
      }
      defer { buffers.forEach { $0.deallocate() } }
      for b in buffers { memset(b.baseAddress!, 0, b.count) }
      start = Timing.now()
      try store.read(into: Array(zip(entries, buffers)).map { ($0, $1) })
      restoreTimes.append(Timing.now() - start)
      if stored.isEmpty { stored = try LargeData.storedBytes(store, entries) }
    }
    report.add(
      section, "cold commit from memory", mbps(Timing.medianOf(commitTimes)), "MB/s",
      baseline: "file write + fsync", mbps(write))
    report.add(
      section, "cold commit from memory", mbps(Timing.medianOf(commitTimes)), "MB/s",
      baseline: "SHA-256 alone", mbps(hash))
    for (dtype, s) in stored.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
      report.add(section, "stored / raw bytes, \(dtype)", Double(s.stored) / Double(s.raw), "x")
    }

    // The same tensors as a safetensors file, through the ckstore binary.
    let file = scratch + "/large.safetensors"
    try LargeData.writeSafetensors(tensors, to: file)
    let copyTarget = scratch + "/large-copy.safetensors"
    let copy = try Timing.median(repeats: repeats) {
      try LargeData.copyWithFsync(file, to: copyTarget)
    }
    try? FileManager.default.removeItem(atPath: copyTarget)
    let rawRead = try Timing.median(repeats: repeats) { try LargeData.readAll(file) }
    report.add(
      section, "restore into buffers (verified)", mbps(Timing.medianOf(restoreTimes)), "MB/s",
      baseline: "raw file read", mbps(rawRead))
    report.add(section, "file copy + fsync", mbps(copy), "MB/s")

    var imports: [Double] = []
    var reimports: [Double] = []
    var exports: [Double] = []
    var rss: [String: Int] = [:]
    for _ in 0..<repeats {
      let store = scratch + "/large-cli-\(UUID().uuidString)"
      defer { try? FileManager.default.removeItem(atPath: store) }
      _ = try Child.run(ckstore, ["init", store])
      _ = try LargeData.readAll(file)  // in the page cache, as the target says
      Timing.settle()
      let imported = try Child.run(ckstore, ["import", file, "--store", store])
      imports.append(imported.seconds)
      rss["import", default: 0] = max(rss["import"] ?? 0, imported.peakRSS)
      let again = try Child.run(ckstore, ["import", file, "--store", store, "--step", "2"])
      reimports.append(again.seconds)
      let out = scratch + "/large-export.safetensors"
      Timing.settle()
      let exported = try Child.run(ckstore, ["export", "main", "-o", out, "--store", store])
      exports.append(exported.seconds)
      rss["export", default: 0] = max(rss["export"] ?? 0, exported.peakRSS)
      try? FileManager.default.removeItem(atPath: out)
    }
    try? FileManager.default.removeItem(atPath: file)
    report.add(
      section, "ckstore import (file in page cache)", mbps(Timing.medianOf(imports)), "MB/s",
      baseline: "file copy + fsync", mbps(copy))
    report.add(
      section, "ckstore export (verified)", mbps(Timing.medianOf(exports)), "MB/s",
      baseline: "file copy + fsync", mbps(copy))
    report.add(
      section, "re-import, every chunk present", mbps(Timing.medianOf(reimports)), "MB/s",
      baseline: "SHA-256 alone", mbps(hash))
    for (command, peak) in rss.sorted(by: { $0.key < $1.key }) {
      report.add("peak RSS", "ckstore \(command), \(label)", Double(peak) / 1048576, "MiB")
    }
  }

  /// Peak RSS of `ckstore import` and `ckstore export` at this size (data generated straight to a
  /// file, never held in memory).
  func measureRSS(into report: inout BenchReport) throws {
    let file = scratch + "/rss.safetensors"
    try LargeData.streamSafetensors(bytes: bytes, to: file)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let store = scratch + "/rss-store-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: store) }
    _ = try Child.run(ckstore, ["init", store])
    let imported = try Child.run(ckstore, ["import", file, "--store", store])
    let out = scratch + "/rss-export.safetensors"
    let exported = try Child.run(ckstore, ["export", "main", "-o", out, "--store", store])
    try? FileManager.default.removeItem(atPath: out)
    report.add("peak RSS", "ckstore import, \(label)", Double(imported.peakRSS) / 1048576, "MiB")
    report.add("peak RSS", "ckstore export, \(label)", Double(exported.peakRSS) / 1048576, "MiB")
  }
}
