import CKStore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension TempStore {
  /// The file of an object (`objects/ab/cdef…`).
  func objectPath(_ id: ObjectID) -> String {
    let hex = id.hex
    return "\(path)/objects/\(hex.prefix(2))/\(hex.dropFirst(2))"
  }

  /// Whether the object's file exists.
  func hasObject(_ id: ObjectID) -> Bool { FileManager.default.fileExists(atPath: objectPath(id)) }

  /// A second, independent handle on the same store (no shared caches), as another process
  /// would have.
  func reopen() throws -> Store { try Store.open(at: path) }

  /// The set of object ids that have a file.
  func objectIDs() -> Set<ObjectID> {
    Set(
      objectFiles().compactMap { file -> ObjectID? in
        let parts = file.split(separator: "/")
        guard parts.count >= 2 else { return nil }
        return ObjectID(hex: String(parts[parts.count - 2]) + String(parts[parts.count - 1]))
      })
  }
}

/// Raw file helpers for damaging and inspecting store files.
enum Files {
  static func read(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// Replaces a file's content (plain write(2), no fsync: tests rewrite files thousands of times).
  static func write(_ bytes: [UInt8], to path: String) throws {
    // Object files may be read-only; replace the file rather than open it for writing.
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StoreError(.io, "test: cannot create \(path)") }
    defer { close(fd) }
    let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw StoreError(.io, "test: short write to \(path)") }
  }

  static func size(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue
      ?? -1
  }

  /// Sets a file's or folder's modification time `seconds` into the past.
  static func backdate(_ path: String, by seconds: TimeInterval) throws {
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSinceNow: -seconds)], ofItemAtPath: path)
  }

  static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}

/// An `flock` held by this process on a file (a separate open file description, so it conflicts
/// with the store's own locks exactly as another process's would).
final class HeldLock {
  private var fd: Int32

  init(_ path: String) throws {
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StoreError(.io, "test: cannot open \(path)") }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      close(fd)
      throw StoreError(.locked, "test: cannot lock \(path)")
    }
  }

  func release() {
    guard fd >= 0 else { return }
    flock(fd, LOCK_UN)
    close(fd)
    fd = -1
  }

  deinit { release() }
}

/// Deterministic tensors for tests.
enum Make {
  /// A float32 tensor of random values.
  static func float32(_ name: String, _ shape: [Int], seed: UInt64) throws -> TensorData {
    var rng = TestRandom(state: seed)
    return try TensorData(
      name: name, shape: shape, float32: rng.floats(shape.reduce(1, *), scale: 4))
  }

  /// A tensor of random bytes of any dtype (bool elements are 0 or 1).
  static func random(_ name: String, _ dtype: DType, _ shape: [Int], seed: UInt64) throws
    -> TensorData
  {
    var rng = TestRandom(state: seed)
    var bytes = rng.bytes(shape.reduce(1, *) * dtype.size)
    if dtype == .bool { bytes = bytes.map { $0 & 1 } }
    return try TensorData(name: name, dtype: dtype, shape: shape, bytes: bytes)
  }
}

/// The error a throwing expression raised, as a `StoreError` (nil if it succeeded or threw
/// something else).
func storeError<T>(_ body: () throws -> T) -> StoreError? {
  do {
    _ = try body()
    return nil
  } catch let error as StoreError {
    return error
  } catch {
    return nil
  }
}
