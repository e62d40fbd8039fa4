import CKStore
import Foundation
import Testing

/// Commits from borrowed memory and file regions, restores into caller buffers, and the bound on
/// chunks in flight (issue 8, acceptance 1).
@Suite struct ZeroCopyTests {
  /// Every dtype, several ranks and odd lengths (chunk size 64 cuts most tensors mid-way).
  static func tensors() throws -> [TensorData] { try CommitReadTests.everyDtypeAndRank() }

  @Test func borrowedCommitAndRestoreIntoBuffersRoundTripEveryDtype() throws {
    let t = try TempStore(chunkSize: 64)
    let tensors = try Self.tensors()
    // The sources borrow each array's storage: nothing is copied into the store's own arrays.
    let commit: Commit = try withBorrowed(tensors) { sources in
      try t.store.commit(sources, to: "main", step: 1)
    }
    let entries = try t.store.tensors(in: commit)
    #expect(entries.count == tensors.count)
    let fresh = try t.reopen()
    var buffers = entries.map { [UInt8](repeating: 0xAA, count: $0.byteCount) }
    try withMutableBuffers(&buffers) { pointers in
      try fresh.read(into: Array(zip(entries, pointers)).map { ($0, $1) })
    }
    let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.bytes) })
    for (entry, bytes) in zip(entries, buffers) {
      #expect(bytes == byName[entry.name], "\(entry.name)")
    }
    // One tensor into one buffer.
    let big = entries.max { $0.byteCount < $1.byteCount }!
    var one = [UInt8](repeating: 0, count: big.byteCount)
    try one.withUnsafeMutableBytes { try fresh.read(big, into: $0) }
    #expect(one == byName[big.name])
  }

  @Test func aBufferOfTheWrongSizeIsRefusedNamingTheTensor() throws {
    let t = try TempStore()
    let c = try t.store.commit([try Make.float32("w", [4], seed: 1)], to: "main", step: 1)
    let info = try t.store.tensorInfo(named: "w", in: c)
    var small = [UInt8](repeating: 0, count: 15)
    let error = storeError { try small.withUnsafeMutableBytes { try t.store.read(info, into: $0) } }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains("'w'") == true)
  }

  @Test func chunksInFlightNeverExceedTheDocumentedBound() throws {
    let t = try TempStore(chunkSize: 256)
    var rng = TestRandom(state: 5)
    // 400 chunks of 256 bytes each, from a file region: the pipeline reads them as it goes.
    let big = try TensorData(
      name: "big", dtype: .float32, shape: [400, 64], bytes: rng.bytes(400 * 256))
    let file = t.path + "-big.safetensors"
    try Files.write(Safetensors.encode([big], metadata: [:]), to: file)
    defer { unlink(file) }
    t.store.chunksInFlight.reset()
    let commit = try t.store.commit(try Safetensors.open(path: file).sources(), to: "main", step: 1)
    let writePeak = t.store.chunksInFlight.peak
    #expect(writePeak >= 1)
    #expect(
      writePeak <= Store.writeWidth, "commit held \(writePeak) chunks, bound \(Store.writeWidth)")

    let info = try t.store.tensorInfo(named: "big", in: commit)
    #expect(info.chunks.count == 400)
    t.store.chunksInFlight.reset()
    var out = [UInt8](repeating: 0, count: info.byteCount)
    try out.withUnsafeMutableBytes { try t.store.read(info, into: $0) }
    #expect(out == big.bytes)
    let readPeak = t.store.chunksInFlight.peak
    #expect(readPeak >= 1)
    #expect(
      readPeak <= Store.readWidth, "restore held \(readPeak) chunks, bound \(Store.readWidth)")

    // An export to a file (chunks written at their offsets in parallel) and one streamed to a
    // FIFO (chunks decoded a window at a time, written in order) keep the same bound.
    t.store.chunksInFlight.reset()
    let target = t.path + "-out.safetensors"
    defer { unlink(target) }
    try t.store.writeSafetensors(t.store.exportSelection(commit), metadata: [:], to: .file(target))
    #expect(t.store.chunksInFlight.peak <= Store.readWidth)
    let exported = try Files.read(target)
    #expect(try Safetensors.decode(exported, file: target).tensors == [big])

    let fifo = t.path + "-fifo"
    #expect(mkfifo(fifo, 0o600) == 0)
    defer { unlink(fifo) }
    let reader = CollectingReader(path: fifo)
    t.store.chunksInFlight.reset()
    try t.store.writeSafetensors(t.store.exportSelection(commit), metadata: [:], to: .stream(fifo))
    #expect(t.store.chunksInFlight.peak <= Store.readWidth)
    #expect(reader.wait() == exported)
  }

  @Test func aFileTruncatedWhileImportedGivesAClearErrorAndNoCommit() throws {
    let t = try TempStore(chunkSize: 64)
    var rng = TestRandom(state: 8)
    let w = try TensorData(name: "w", dtype: .float32, shape: [64, 4], bytes: rng.bytes(1024))
    let file = t.path + "-trunc.safetensors"
    try Files.write(Safetensors.encode([w], metadata: [:]), to: file)
    defer { unlink(file) }
    let opened = try Safetensors.open(path: file)
    truncate(file, 600)
    let error = storeError { try t.store.commit(try opened.sources(), to: "main", step: 1) }
    #expect(error?.message.contains("truncated") == true, "\(String(describing: error))")
    #expect(error?.message.contains(file) == true)
    #expect(try t.store.head(of: "main") == nil)
  }

  @Test func aFileChangedWhileImportedGivesAClearErrorAndNoCommit() throws {
    let t = try TempStore(chunkSize: 64)
    var rng = TestRandom(state: 9)
    let w = try TensorData(name: "w", dtype: .float32, shape: [64, 4], bytes: rng.bytes(1024))
    let file = t.path + "-changed.safetensors"
    let bytes = Safetensors.encode([w], metadata: [:])
    try Files.write(bytes, to: file)
    defer { unlink(file) }
    let opened = try Safetensors.open(path: file)
    // Same size, other content, written in place (the inode stays): only the times tell.
    usleep(20_000)
    let fd = open(file, O_WRONLY)
    var changed = bytes
    changed[changed.count - 1] ^= 0xFF
    _ = changed.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    close(fd)
    let error = storeError { try t.store.commit(try opened.sources(), to: "main", step: 1) }
    #expect(
      error?.message.contains("changed while it was read") == true, "\(String(describing: error))")
    #expect(try t.store.head(of: "main") == nil)
  }
}

/// Calls `body` with sources that borrow each tensor's bytes in place.
func withBorrowed<R>(_ tensors: [TensorData], _ body: ([TensorSource]) throws -> R) throws -> R {
  func nest(_ i: Int, _ sources: [TensorSource]) throws -> R {
    guard i < tensors.count else { return try body(sources) }
    return try tensors[i].bytes.withUnsafeBytes { raw in
      try nest(
        i + 1,
        sources + [
          try TensorSource(
            name: tensors[i].name, dtype: tensors[i].dtype, shape: tensors[i].shape, borrowing: raw)
        ])
    }
  }
  return try nest(0, [])
}

/// Calls `body` with a mutable pointer to each array's storage.
func withMutableBuffers<R>(
  _ arrays: inout [[UInt8]], _ body: ([UnsafeMutableRawBufferPointer]) throws -> R
) throws -> R {
  func nest(_ i: Int, _ pointers: [UnsafeMutableRawBufferPointer], _ arrays: inout [[UInt8]]) throws
    -> R
  {
    guard i < arrays.count else { return try body(pointers) }
    var array = arrays[i]
    arrays[i] = []
    defer { arrays[i] = array }
    return try array.withUnsafeMutableBytes { try nest(i + 1, pointers + [$0], &arrays) }
  }
  return try nest(0, [], &arrays)
}

/// Reads a FIFO to its end on another thread.
final class CollectingReader: @unchecked Sendable {
  private var bytes: [UInt8] = []
  private let done = DispatchSemaphore(value: 0)

  init(path: String) {
    Thread {
      let fd = open(path, O_RDONLY)
      var buffer = [UInt8](repeating: 0, count: 65536)
      while fd >= 0 {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { self.bytes += buffer[0..<n] } else if n == 0 || errno != EINTR { break }
      }
      close(fd)
      self.done.signal()
    }.start()
  }

  func wait() -> [UInt8] {
    done.wait()
    return bytes
  }
}
