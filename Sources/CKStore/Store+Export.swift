import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A tensor as an export writes it: the stored entry and the name it gets in the file.
public struct ExportedTensor: Sendable {
  /// The name in the exported file (after `--strip-prefix`).
  public var name: String
  /// The stored entry whose bytes are written.
  public var info: TensorInfo
}

extension Store {
  /// The tensors of `commit` an export writes: those under one of `only` (all when empty; never
  /// the reserved `ckstore/` records), named
  /// without `stripPrefix` when they start with it. Throws `invalidArgument` when the selection is
  /// empty or two tensors would get the same name.
  public func exportSelection(_ commit: Commit, only: [String] = [], stripPrefix: String? = nil)
    throws -> [ExportedTensor]
  {
    // ckstore's own records (metric series) are not model state: never exported.
    let all = try tensors(in: commit).filter { !MetricSeries.isReserved($0.name) }
    let selected = only.isEmpty ? all : all.filter { t in only.contains { t.name.hasPrefix($0) } }
    if selected.isEmpty && !all.isEmpty {
      throw StoreError(
        .invalidArgument,
        "commit \(commit.id.short) has no tensor under \(only.map { "'\($0)'" }.joined(separator: ", "))"
      )
    }
    var seen: [String: String] = [:]
    var out: [ExportedTensor] = []
    for info in selected {
      var name = info.name
      if let stripPrefix, name.hasPrefix(stripPrefix) {
        name = String(name.dropFirst(stripPrefix.count))
      }
      try TensorName.validate(name)
      if let other = seen.updateValue(info.name, forKey: name) {
        throw StoreError(
          .invalidArgument,
          "tensors '\(other)' and '\(info.name)' would both be exported as '\(name)'")
      }
      out.append(ExportedTensor(name: name, info: info))
    }
    return out.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
  }

  /// The `__metadata__` an export of `commit` writes: the commit's metadata, `format: pt` when it
  /// names no format (Hugging Face loaders refuse files without one), and the commit's step,
  /// message and metrics under `ckstore.` keys, which `ckstore import` reads back. A sharded
  /// commit's part keys are left out: the file holds whole tensors.
  public static func exportMetadata(_ commit: Commit) -> [String: String] {
    var metadata = commit.metadata.filter { !ShardedMetadataKeys.isSharded($0.key) }
    if metadata["format"] == nil { metadata["format"] = "pt" }
    metadata[CommitMetadataKeys.step] = String(commit.step)
    if !commit.message.isEmpty { metadata[CommitMetadataKeys.message] = commit.message }
    if !commit.metrics.isEmpty {
      metadata[CommitMetadataKeys.metrics] = CommitMetadataKeys.encode(commit.metrics)
    }
    return metadata
  }

  /// Writes `tensors` as one safetensors file. A regular-file target is written through a
  /// temporary file in its folder (tensor data at its final offsets, on all cores), fsynced and
  /// renamed into place: a failed export leaves no file under the target's name. Streams are
  /// written in order. At most `readWidth` chunks are in memory at once. Returns the file size.
  @discardableResult
  public func writeSafetensors(
    _ tensors: [ExportedTensor], metadata: [String: String], to target: ExportTarget,
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> Int {
    let header = Self.header(tensors, metadata: metadata)
    let total = header.count + tensors.reduce(0) { $0 + $1.info.byteCount }
    switch target {
    case .file(let path):
      let file = try writeSafetensorsFile(tensors, header: header, to: path, progress: progress)
      if let warning = try file.commit() { warnings.report(warning) }
    case .standardOutput:
      try stream(
        tensors, header: header, fd: STDOUT_FILENO, name: "standard output", progress: progress)
    case .stream(let path):
      let fd = Glibc.open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
      guard fd >= 0 else { throw StoreError.io("cannot open output", path: path, errno: errno) }
      defer { close(fd) }
      try stream(tensors, header: header, fd: fd, name: path, progress: progress)
    }
    return total
  }

  /// The safetensors header of `tensors` packed in order, with `metadata`.
  static func header(_ tensors: [ExportedTensor], metadata: [String: String]) -> [UInt8] {
    Safetensors.encodeHeader(
      tensors.map { ($0.name, $0.info.dtype, $0.info.shape, $0.info.byteCount) }, metadata: metadata
    )
  }

  /// Writes a complete safetensors file (`header`, from `header(_:metadata:)`, then `tensors`)
  /// under a temporary name next to `path`, not yet synced or renamed (the caller commits it, or
  /// drops it to remove it).
  func writeSafetensorsFile(
    _ tensors: [ExportedTensor], header: [UInt8], to path: String,
    progress: (@Sendable (Int, Int) -> Void)?
  ) throws -> ExportFile {
    let file = try ExportFile(
      target: path, size: header.count + tensors.reduce(0) { $0 + $1.info.byteCount })
    try header.withUnsafeBytes { try file.write($0, at: 0) }
    try writeChunks(tensors, dataStart: header.count, progress: progress) {
      try file.write($0, at: $1)
    }
    return file
  }

  /// Decodes every chunk of `tensors` on `readWidth` threads, each into a buffer of its own,
  /// and hands it to `write` with its offset in the file (in any order).
  private func writeChunks(
    _ tensors: [ExportedTensor], dataStart: Int, progress: (@Sendable (Int, Int) -> Void)?,
    write: @Sendable (UnsafeRawBufferPointer, Int) throws -> Void
  ) throws {
    let jobs = chunkJobs(tensors, dataStart: dataStart)
    let done = Counter()
    _ = try parallelMap(jobs.count, width: Self.readWidth) { j in
      let job = jobs[j]
      let bytes = try chunkBytes(job)
      try bytes.withUnsafeBytes { try write($0, job.offset) }
      if let progress { progress(done.increment(), jobs.count) }
    }
  }

  /// Writes the header then every chunk in file order to `fd`, decoding `readWidth` chunks at a
  /// time in parallel.
  private func stream(
    _ tensors: [ExportedTensor], header: [UInt8], fd: Int32, name: String,
    progress: (@Sendable (Int, Int) -> Void)?
  ) throws {
    try header.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: name) }
    let jobs = chunkJobs(tensors, dataStart: header.count)
    var next = 0
    while next < jobs.count {
      let window = Array(jobs[next..<min(next + Self.readWidth, jobs.count)])
      let buffers = try parallelMap(window.count, width: Self.readWidth) {
        try chunkBytes(window[$0])
      }
      for b in buffers { try b.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: name) } }
      next += window.count
      progress?(next, jobs.count)
    }
  }

  /// One chunk of an export: which tensor's chunk, and where its bytes go in the file.
  private struct ExportJob: Sendable {
    var info: TensorInfo
    var chunk: Int
    var offset: Int
  }

  private func chunkJobs(_ tensors: [ExportedTensor], dataStart: Int) -> [ExportJob] {
    var jobs: [ExportJob] = []
    var offset = dataStart
    for t in tensors {
      // A sliced tensor is assembled whole (its slices' chunks are not contiguous in the file).
      if !t.info.slices.isEmpty {
        jobs.append(ExportJob(info: t.info, chunk: -1, offset: offset))
      }
      for (c, range) in t.info.chunkRanges.enumerated() {
        jobs.append(ExportJob(info: t.info, chunk: c, offset: offset + range.lowerBound))
      }
      offset += t.info.byteCount
    }
    return jobs
  }

  private func chunkBytes(_ job: ExportJob) throws -> [UInt8] {
    if job.chunk < 0 { return try read(job.info) }
    let count = job.info.chunkRanges[job.chunk].count
    return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      try readChunk(job.chunk, of: job.info, into: UnsafeMutableRawBufferPointer(buffer))
      initialized = count
    }
  }
}

/// The `__metadata__` keys under which an export records its commit's step, message and metrics.
public enum CommitMetadataKeys {
  /// The step, as a decimal integer.
  public static let step = "ckstore.step"
  /// The commit message.
  public static let message = "ckstore.message"
  /// The metrics, as a JSON object of numbers (`"NaN"`, `"Infinity"`, `"-Infinity"` as strings).
  public static let metrics = "ckstore.metrics"

  static func encode(_ metrics: [String: Double]) -> String {
    let fields = metrics.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map {
      (key, value) -> String in
      let number =
        value.isNaN
        ? "\"NaN\"" : value.isInfinite ? (value > 0 ? "\"Infinity\"" : "\"-Infinity\"") : "\(value)"
      return Safetensors.quote(key) + ":" + number
    }
    return "{" + fields.joined(separator: ",") + "}"
  }

  /// Splits exported metadata into the commit fields it records and the rest (without a
  /// sharded commit's part keys, which an import ignores). Throws
  /// `malformedSafetensors` naming `file` when a `ckstore.` value cannot be read.
  public static func split(_ metadata: [String: String], file: String) throws -> (
    step: Int64?, message: String?, metrics: [String: Double], rest: [String: String]
  ) {
    // Part keys (in files exported before they were left out) describe the store, not the file.
    var rest = metadata.filter { !ShardedMetadataKeys.isSharded($0.key) }
    func bad(_ key: String) -> StoreError {
      StoreError(
        .malformedSafetensors, "safetensors file '\(file)': __metadata__ '\(key)' is not valid")
    }
    var step: Int64? = nil
    if let text = rest.removeValue(forKey: Self.step) {
      guard let value = Int64(text) else { throw bad(Self.step) }
      step = value
    }
    let message = rest.removeValue(forKey: Self.message)
    var metrics: [String: Double] = [:]
    if let text = rest.removeValue(forKey: Self.metrics) {
      let document = try? Array(text.utf8).withUnsafeBytes { try StrictJSON.parse($0) }
      guard let members = document?.members else { throw bad(Self.metrics) }
      for (key, value) in members {
        switch value {
        case .integer(let n): metrics[key] = Double(n)
        case .number(let t): metrics[key] = Double(t)
        case .string("NaN"): metrics[key] = .nan
        case .string("Infinity"): metrics[key] = .infinity
        case .string("-Infinity"): metrics[key] = -.infinity
        default: throw bad(Self.metrics)
        }
      }
    }
    return (step, message, metrics, rest)
  }
}
