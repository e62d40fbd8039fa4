import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A test seam: makes the Nth write, fsync or rename this process issues through `FileIO` fail,
/// so tests can check that every command's exit code agrees with what it left in the store.
///
/// When a fault fires it is announced on stderr (`ckstore: injected fault: …`). Off unless
/// configured (the `ckstore` binary reads `CKSTORE_FAULT` once at start-up, before any
/// other thread exists); when off, each file operation pays one load of a nil optional.
package enum FaultInjection {
  /// The file operations that can be made to fail.
  package enum Operation: String, Sendable {
    /// `write(2)` of file data, and the creation of an empty marker file.
    case write
    /// `fsync(2)` of a file or a folder.
    case fsync
    /// `rename(2)` of a finished temporary file into place.
    case rename
    /// Any of the three, counted together.
    case any
  }

  private struct Plan {
    var operation: Operation
    var failAt: Int
  }

  nonisolated(unsafe) private static var plan: Plan?
  private static let count = Atomic<Int>(0)

  /// Arms the seam from a spec `OPERATION:N` (`write:3`, `fsync:1`, `rename:2`, `any:7`): the Nth
  /// such operation fails, every other succeeds. Writes fail with ENOSPC, fsync and rename with
  /// EIO. Call before any file operation and from one thread only.
  package static func configure(_ spec: String) throws {
    let parts = spec.split(separator: ":")
    guard parts.count == 2, let operation = Operation(rawValue: String(parts[0])),
      let n = Int(parts[1]), n >= 1
    else {
      throw StoreError(
        .invalidArgument,
        "CKSTORE_FAULT must be write:N, fsync:N, rename:N or any:N (N ≥ 1), not '\(spec)'")
    }
    plan = Plan(operation: operation, failAt: n)
  }

  /// The errno `operation` must fail with now, or nil to let it run.
  @inline(__always)
  static func failure(_ operation: Operation) -> Int32? {
    guard let plan else { return nil }
    guard plan.operation == .any || plan.operation == operation else { return nil }
    let n = count.add(1, ordering: .relaxed).newValue
    guard n == plan.failAt else { return nil }
    // Said on stderr so a test knows the fault was reached (a run that never reaches it ends
    // the search over N).
    let note = Array(
      "ckstore: injected fault: \(operation.rawValue) (\(plan.operation.rawValue):\(n))\n".utf8)
    _ = note.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    return operation == .write ? ENOSPC : EIO
  }
}
