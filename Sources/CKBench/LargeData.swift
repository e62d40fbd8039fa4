import CKEngine
import CKStore
import Foundation

/// Trained-like checkpoint data at any size, generated fast on all cores: half float32, half
/// bfloat16, Normal(0, σ) per tensor with random low mantissa bits.
enum LargeData {
  /// Bytes per tensor (the last of each dtype may be shorter).
  static let tensorBytes = 64 << 20

  /// The tensors' names, dtypes and byte counts for `bytes` of data.
  static func layout(bytes: Int) -> [(name: String, dtype: DType, bytes: Int)] {
    var out: [(String, DType, Int)] = []
    for (dtype, share) in [(DType.float32, bytes / 2), (DType.bfloat16, bytes - bytes / 2)] {
      var left = share / 4096 * 4096
      var i = 0
      while left > 0 {
        let n = min(tensorBytes, left)
        out.append(("\(dtype.name).layers.\(i).weight", dtype, n))
        left -= n
        i += 1
      }
    }
    return out
  }

  /// Normal(0, 1) draws to scale: 64 Ki of them, indexed by random bits.
  static let normals: [Float] = {
    let g = RandomGenerator(seed: 11)
    return (0..<(1 << 16)).map { _ in g.nextNormal() }
  }()

  /// Fills `buffer` with `dtype` values for tensor number `index`.
  static func fill(_ buffer: UnsafeMutableRawBufferPointer, dtype: DType, index: Int, part: Int) {
    var state = UInt64(index &* 7919 &+ part &* 104_729 &+ 1) &* 0x9E37_79B9_7F4A_7C15
    let sigma = [0.005, 0.01, 0.02, 0.04, 0.08][index % 5] as Float
    let table = normals
    table.withUnsafeBufferPointer { t in
      if dtype == .float32 {
        let out = buffer.bindMemory(to: UInt32.self)
        for i in out.indices {
          state ^= state << 13
          state ^= state >> 7
          state ^= state << 17
          let x = t[Int(state & 0xFFFF)] * sigma
          out[i] =
            (x.bitPattern & ~0x7FF | UInt32(truncatingIfNeeded: state >> 20) & 0x7FF).littleEndian
        }
      } else {
        let out = buffer.bindMemory(to: UInt16.self)
        for i in out.indices {
          state ^= state << 13
          state ^= state >> 7
          state ^= state << 17
          let x = t[Int(state & 0xFFFF)] * sigma
          let bits = (x.bitPattern &+ 0x7FFF &+ ((x.bitPattern >> 16) & 1)) >> 16
          out[i] =
            UInt16(truncatingIfNeeded: bits ^ UInt32(truncatingIfNeeded: state >> 40) & 0x3)
            .littleEndian
        }
      }
    }
  }

  /// The whole checkpoint in memory.
  static func tensors(bytes: Int) throws -> [TensorData] {
    let plan = layout(bytes: bytes)
    let arrays = LockedArrays(count: plan.count)
    try parallelForEach(plan.count) { i in
      var data = [UInt8](repeating: 0, count: plan[i].bytes)
      data.withUnsafeMutableBytes { fill($0, dtype: plan[i].dtype, index: i, part: 0) }
      arrays.set(i, data)
    }
    return try plan.indices.map {
      let p = plan[$0]
      return try TensorData(
        name: p.name, dtype: p.dtype, shape: [p.bytes / p.dtype.size / 256, 256],
        bytes: arrays.get($0))
    }
  }

  /// Calls `body` with sources borrowing each tensor's bytes (no copy).
  static func withBorrowed<R>(_ tensors: [TensorData], _ body: ([TensorSource]) throws -> R) throws
    -> R
  {
    func nest(_ i: Int, _ sources: [TensorSource]) throws -> R {
      guard i < tensors.count else { return try body(sources) }
      let t = tensors[i]
      return try t.bytes.withUnsafeBytes {
        try nest(
          i + 1,
          sources + [try TensorSource(name: t.name, dtype: t.dtype, shape: t.shape, borrowing: $0)])
      }
    }
    return try nest(0, [])
  }

  /// Raw and stored chunk bytes per dtype.
  static func storedBytes(_ store: Store, _ entries: [TensorInfo]) throws -> [DType: (
    raw: Int, stored: Int
  )] {
    var out: [DType: (raw: Int, stored: Int)] = [:]
    let objects = store.root + "/objects/"
    for e in entries {
      var sum = out[e.dtype] ?? (0, 0)
      sum.raw += e.byteCount
      for c in e.chunks {
        let hex = c.hex
        let path = objects + hex.prefix(2) + "/" + hex.dropFirst(2)
        sum.stored += (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
      }
      out[e.dtype] = sum
    }
    return out
  }

  /// Writes tensors held in memory as a safetensors file (with fsync).
  static func writeSafetensors(_ tensors: [TensorData], to path: String) throws {
    let header = Safetensors.encodeHeader(
      tensors.map { ($0.name, $0.dtype, $0.shape, $0.bytes.count) }, metadata: [:])
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw StoreError(.io, "cannot create \(path)") }
    defer { close(fd) }
    try header.withUnsafeBytes { try writeAll(fd, $0, path) }
    for t in tensors { try t.bytes.withUnsafeBytes { try writeAll(fd, $0, path) } }
    guard fsync(fd) == 0 else { throw StoreError(.io, "cannot fsync \(path)") }
  }

  /// Generates a checkpoint of `bytes` straight into a safetensors file, 64 MiB at a time.
  static func streamSafetensors(bytes: Int, to path: String) throws {
    let plan = layout(bytes: bytes)
    let header = Safetensors.encodeHeader(
      plan.map { ($0.name, $0.dtype, [$0.bytes / $0.dtype.size / 256, 256], $0.bytes) },
      metadata: [:])
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw StoreError(.io, "cannot create \(path)") }
    defer { close(fd) }
    try header.withUnsafeBytes { try writeAll(fd, $0, path) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: tensorBytes, alignment: 64)
    defer { buffer.deallocate() }
    for (i, p) in plan.enumerated() {
      let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<p.bytes])
      fill(part, dtype: p.dtype, index: i, part: 0)
      try writeAll(fd, UnsafeRawBufferPointer(part), path)
    }
    guard fsync(fd) == 0 else { throw StoreError(.io, "cannot fsync \(path)") }
  }

  /// Copies a file with read/write in 8 MiB pieces and fsyncs the copy, as cp + sync would.
  static func copyWithFsync(_ source: String, to target: String) throws {
    let input = open(source, O_RDONLY)
    let output = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard input >= 0, output >= 0 else { throw StoreError(.io, "cannot copy \(source)") }
    defer {
      close(input)
      close(output)
    }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 64)
    defer { buffer.deallocate() }
    while true {
      let n = read(input, buffer.baseAddress, buffer.count)
      guard n >= 0 else { throw StoreError(.io, "cannot read \(source)") }
      if n == 0 { break }
      try writeAll(output, UnsafeRawBufferPointer(rebasing: buffer[0..<n]), target)
    }
    guard fsync(output) == 0 else { throw StoreError(.io, "cannot fsync \(target)") }
  }

  /// Reads a file to its end (into the page cache) in 8 MiB pieces.
  static func readAll(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw StoreError(.io, "cannot open \(path)") }
    defer { close(fd) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 64)
    defer { buffer.deallocate() }
    while read(fd, buffer.baseAddress, buffer.count) > 0 {}
  }

  static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
    var done = 0
    while done < bytes.count {
      let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
      guard n > 0 else { throw StoreError(.io, "cannot write \(path)") }
      done += n
    }
  }
}

/// Arrays filled by worker threads, one slot each.
private final class LockedArrays: @unchecked Sendable {
  private let lock = NSLock()
  private var arrays: [[UInt8]]

  init(count: Int) { arrays = Array(repeating: [], count: count) }
  func set(_ i: Int, _ a: [UInt8]) { lock.withLock { arrays[i] = a } }
  func get(_ i: Int) -> [UInt8] { lock.withLock { arrays[i] } }
}

/// A child process run to its end: its wall time and its own peak RSS.
///
/// The peak is the child's VmHWM, read from /proc every 2 ms while it runs: wait4's ru_maxrss
/// would also count the parent's pages, which a spawned child shares until it execs.
enum Child {
  struct Outcome {
    var seconds: Double
    var peakRSS: Int
  }

  static func run(_ path: String, _ arguments: [String]) throws -> Outcome {
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let start = Timing.now()
    let code = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard code == 0 else {
      throw StoreError(.io, "cannot run \(path): \(String(cString: strerror(code)))")
    }
    var status: Int32 = 0
    var peak = 0
    while true {
      peak = max(peak, highWaterMark(pid))
      let done = waitpid(pid, &status, WNOHANG)
      if done == pid { break }
      if done < 0 && errno != EINTR { throw StoreError(.io, "cannot wait for \(path)") }
      usleep(2000)
    }
    let seconds = Timing.now() - start
    guard status == 0 else {
      throw StoreError(
        .io, "\(path) \(arguments.joined(separator: " ")) exited with status \(status)")
    }
    return Outcome(seconds: seconds, peakRSS: peak)
  }

  /// VmHWM of a live process, in bytes (0 once it has exited).
  static func highWaterMark(_ pid: pid_t) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    let kib = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
    return kib * 1024
  }
}
