import ArgumentParser
import CKStore
import Foundation

/// `ckbench sharded`: a checkpoint saved by 4 processes as a sharded commit (`ckstore import
/// --part I/4`, each rank a quarter of the rows of every tensor) against the same bytes saved by
/// one process (`ckstore import` of one file), wall time and bytes stored, medians.
struct ShardedBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sharded",
    abstract: "4-rank sharded save vs the same bytes saved by one process; train --ranks vs one.",
    discussion: """
      Data: the `ckbench large` checkpoint (half float32, half bfloat16, trained-like), as one \
      safetensors file for the single process and as 4 files of row slices (placed by \
      ckstore.slice.<name> metadata) for the 4 ranks. Each run starts from an empty store; the \
      files are read once first so that both sides read them from the page cache. Then \
      `ckstore train --ranks N` against `ckstore train` in one process, same steps and saves.
      """)

  @Option(help: "GiB of tensor data.") var gib = 2.0
  @Option(help: "Repetitions (the median is reported).") var repeats = 3
  @Option(help: "Ranks (processes) of the sharded save.") var ranks = 4
  @Option(help: "Steps of the `train --ranks` figure (0: skip it).") var trainSteps = 2000
  @OptionGroup var child: ChildProcessOptions

  func run() throws {
    let binary = try child.prepare()
    let scratch = child.scratch
    let bytes = Int(gib * Double(1 << 30))
    let whole = scratch + "/sharded-whole.safetensors"
    let parts = (0..<ranks).map { scratch + "/sharded-part\($0).safetensors" }
    defer { for f in [whole] + parts { unlink(f) } }
    try ShardedFiles.write(bytes: bytes, whole: whole, parts: parts)
    for f in [whole] + parts { try LargeData.readAll(f) }

    let store = scratch + "/sharded-store"
    func fresh() throws {
      try? FileManager.default.removeItem(atPath: store)
      _ = try Child.run(binary, ["init", store])
    }
    var sharded: [Double] = []
    var single: [Double] = []
    var shardedStored = 0
    var singleStored = 0
    for _ in 0..<repeats {
      try fresh()
      Timing.settle()
      let start = Timing.now()
      let children = try parts.indices.map { i in
        try Self.spawn(
          binary, ["import", parts[i], "--part", "\(i)/\(ranks)", "--step", "1", "--store", store])
      }
      for p in children {
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
          throw StoreError(.io, "a rank of the sharded import exited \(p.terminationStatus)")
        }
      }
      sharded.append(Timing.now() - start)
      let opened = try Store.open(at: store)
      let head = try opened.resolve("main")
      guard head.metadata[ShardedMetadataKeys.parts] == String(ranks) else {
        throw StoreError(.invalidArgument, "the sharded import made no sharded commit")
      }
      shardedStored = Self.storedBytes(store)

      try fresh()
      single.append(
        try Child.run(binary, ["import", whole, "--step", "1", "--store", store]).seconds)
      singleStored = Self.storedBytes(store)
    }
    try? FileManager.default.removeItem(atPath: store)

    // `ckstore train --ranks N` against one process, same steps and saves (digits MLP).
    var rankTraining: [Double] = []
    var oneProcess: [Double] = []
    let train = ["train", "--steps", "\(trainSteps)", "--save-every", "\(max(1, trainSteps / 4))"]
    for _ in 0..<(trainSteps > 0 ? repeats : 0) {
      try? FileManager.default.removeItem(atPath: store)
      rankTraining.append(
        try Child.run(binary, train + ["--ranks", "\(ranks)", "--store", store]).seconds)
      try? FileManager.default.removeItem(atPath: store)
      oneProcess.append(try Child.run(binary, train + ["--store", store]).seconds)
    }
    try? FileManager.default.removeItem(atPath: store)

    var report = BenchReport(machine: BenchReport.machine())
    let section = String(format: "sharded save (%.1f GiB, %d ranks)", gib, ranks)
    let (s, o) = (Timing.medianOf(sharded), Timing.medianOf(single))
    report.add(section, "\(ranks)-rank save, wall", s, "s", baseline: "1 process", o)
    report.add(
      section, "\(ranks)-rank save, throughput", Double(bytes) / s / 1e6, "MB/s",
      baseline: "1 process", Double(bytes) / o / 1e6)
    report.add(
      section, "stored bytes (\(ranks) ranks)", Double(shardedStored) / Double(1 << 20), "MiB",
      baseline: "1 process", Double(singleStored) / Double(1 << 20))
    if trainSteps > 0 {
      let training = "train --ranks \(ranks) (digits MLP, \(trainSteps) steps, 4 saves)"
      report.add(
        training, "\(ranks) rank workers, wall", Timing.medianOf(rankTraining), "s",
        baseline: "1 process", Timing.medianOf(oneProcess))
    }
    if child.json { try report.printJSON() } else { report.printTable() }
  }

  private static func spawn(_ path: String, _ arguments: [String]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
  }

  /// Bytes of object files in a store.
  static func storedBytes(_ store: String) -> Int {
    let objects = store + "/objects"
    let fm = FileManager.default
    return ((try? fm.subpathsOfDirectory(atPath: objects)) ?? []).reduce(0) {
      $0 + ((try? fm.attributesOfItem(atPath: objects + "/" + $1)[.size] as? Int) ?? 0)
    }
  }
}

/// The benchmark's files: one whole checkpoint, and the same tensors cut into row slices, one
/// file per rank, written in one pass over the generated data.
enum ShardedFiles {
  static func write(bytes: Int, whole: String, parts: [String]) throws {
    let plan = LargeData.layout(bytes: bytes)
    let n = parts.count
    func shape(_ p: (name: String, dtype: DType, bytes: Int)) -> [Int] {
      [p.bytes / p.dtype.size / 256, 256]
    }
    func rows(_ p: (name: String, dtype: DType, bytes: Int), _ i: Int) -> Range<Int> {
      let r = shape(p)[0]
      return (i * r / n)..<((i + 1) * r / n)
    }
    let fds = try ([whole] + parts).map { path -> Int32 in
      let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
      guard fd >= 0 else { throw StoreError(.io, "cannot create \(path)") }
      return fd
    }
    defer { fds.forEach { close($0) } }
    let wholeHeader = Safetensors.encodeHeader(
      plan.map { ($0.name, $0.dtype, shape($0), $0.bytes) }, metadata: [:])
    try wholeHeader.withUnsafeBytes { try LargeData.writeAll(fds[0], $0, whole) }
    for i in 0..<n {
      var metadata: [String: String] = [:]
      for p in plan {
        metadata["ckstore.slice.\(p.name)"] =
          "{\"global\": \(shape(p)), \"offset\": [\(rows(p, i).lowerBound), 0]}"
      }
      let header = Safetensors.encodeHeader(
        plan.map { p in
          let r = rows(p, i)
          return (p.name, p.dtype, [r.count, 256], r.count * 256 * p.dtype.size)
        }, metadata: metadata)
      try header.withUnsafeBytes { try LargeData.writeAll(fds[1 + i], $0, parts[i]) }
    }
    let buffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: LargeData.tensorBytes, alignment: 64)
    defer { buffer.deallocate() }
    for (t, p) in plan.enumerated() {
      let data = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<p.bytes])
      LargeData.fill(data, dtype: p.dtype, index: t, part: 0)
      try LargeData.writeAll(fds[0], UnsafeRawBufferPointer(data), whole)
      let rowBytes = 256 * p.dtype.size
      for i in 0..<n {
        let r = rows(p, i)
        try LargeData.writeAll(
          fds[1 + i],
          UnsafeRawBufferPointer(
            rebasing: data[(r.lowerBound * rowBytes)..<(r.upperBound * rowBytes)]),
          parts[i])
      }
    }
    for fd in fds where fsync(fd) != 0 { throw StoreError(.io, "cannot fsync a benchmark file") }
  }
}
