import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The name of one part record: part `index` of `count` of the sharded checkpoint at (`branch`,
/// `step`).
package struct PartKey: Hashable, Sendable {
  /// The branch the checkpoint commits to.
  package var branch: String
  /// The checkpoint's step.
  package var step: Int64
  /// The part (rank), 0-based.
  package var index: Int
  /// The number of parts.
  package var count: Int

  /// `<escaped branch>/<step>/<index>-of-<count>`, relative to the part directory; the branch is
  /// escaped as its writer lock's name is (`%` → `%25`, `/` → `%2F`), so it is one path segment.
  package var path: String { Self.folder(branch, step) + "/\(index)-of-\(count)" }

  /// `<escaped branch>/<step>`: the folder (or key prefix) of one checkpoint's records.
  package static func folder(_ branch: String, _ step: Int64) -> String {
    RefName.lockFileName(branch) + "/\(step)"
  }

  /// The branch whose escaped name is `escaped`, or nil when `escaped` is not one's escape.
  package static func branch(escaped: String) -> String? {
    let branch = escaped.replacingOccurrences(of: "%2F", with: "/")
      .replacingOccurrences(of: "%25", with: "%")
    return RefName.lockFileName(branch) == escaped ? branch : nil
  }

  /// Parses a record's file name (`<index>-of-<count>`) in the folder of (branch, step).
  package init?(branch: String, step: Int64, fileName: String) {
    let parts = fileName.split(separator: "-of-", omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n > 0, i >= 0, i < n,
      fileName == "\(i)-of-\(n)"
    else { return nil }
    self.init(branch: branch, step: step, index: i, count: n)
  }

  /// The record of part `index` of `count`.
  package init(branch: String, step: Int64, index: Int, count: Int) {
    self.branch = branch
    self.step = step
    self.index = index
    self.count = count
  }
}

/// Where the part records of sharded commits live, and how one is created exclusively: the one
/// primitive the sharded protocol needs besides objects and refs (docs/FORMAT.md, "Sharded
/// commits"). The local store implements it with `link(2)` (no-replace); an object bucket
/// implements it with a conditional PUT (`If-None-Match: *`) under the same keys.
package protocol PartDirectory: Sendable {
  /// Creates the record `key` holding `contents`, durably, unless one exists. Returns nil when
  /// it created the record, else the existing record's contents (the caller compares them).
  func create(_ key: PartKey, contents: [UInt8]) throws -> [UInt8]?

  /// Every record of (branch, step), with its contents. Records whose name does not parse are
  /// ignored (they were not written by this protocol).
  func records(branch: String, step: Int64) throws -> [PartKey: [UInt8]]

  /// Every (branch, step) that has a record folder.
  func steps() throws -> [(branch: String, step: Int64)]

  /// Removes every record of (branch, step); absent records are not an error.
  func remove(branch: String, step: Int64) throws
}

/// Part records as files under `STORE/parts/`, created by writing a fsynced temporary file and
/// hard-linking it to its name: `link` fails with EEXIST instead of replacing, so of two writers
/// exactly one creates the record, and a reader never sees a partial one.
struct LocalPartDirectory: PartDirectory {
  let root: String
  let scratch: ScratchSpace

  func create(_ key: PartKey, contents: [UInt8]) throws -> [UInt8]? {
    let folder = root + "/" + PartKey.folder(key.branch, key.step)
    try FileIO.makeDirectories(folder)
    let path = root + "/" + key.path
    if FileIO.exists(path) { return try FileIO.read(path) }
    let temp = try scratch.newTempPath()
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StoreError.io("cannot create", path: temp, errno: errno) }
    defer { unlink(temp) }
    do {
      try contents.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: temp) }
      guard fsync(fd) == 0 else { throw StoreError.io("cannot fsync", path: temp, errno: errno) }
    } catch {
      close(fd)
      throw error
    }
    close(fd)
    if link(temp, path) != 0 {
      guard errno == EEXIST else {
        throw StoreError.io("cannot create part record", path: path, errno: errno)
      }
      return try FileIO.read(path)
    }
    // The record counts only once its name is durable: the folder (and a new folder's own entry
    // in its parents) is fsynced before the caller looks for the other parts.
    try FileIO.syncDirectory(folder)
    try FileIO.syncDirectory(FileIO.parentFolder(folder))
    try FileIO.syncDirectory(root)
    try FileIO.syncDirectory(FileIO.parentFolder(root))
    return nil
  }

  func records(branch: String, step: Int64) throws -> [PartKey: [UInt8]] {
    let folder = root + "/" + PartKey.folder(branch, step)
    var out: [PartKey: [UInt8]] = [:]
    for name in FileIO.list(folder) {
      guard let key = PartKey(branch: branch, step: step, fileName: name) else { continue }
      out[key] = try FileIO.read(folder + "/" + name)
    }
    return out
  }

  func steps() -> [(branch: String, step: Int64)] {
    var out: [(String, Int64)] = []
    for escaped in FileIO.list(root) {
      guard let branch = PartKey.branch(escaped: escaped) else { continue }
      for step in FileIO.list(root + "/" + escaped) {
        if let s = Int64(step), "\(s)" == step { out.append((branch, s)) }
      }
    }
    return out
  }

  func remove(branch: String, step: Int64) throws {
    let folder = root + "/" + PartKey.folder(branch, step)
    guard FileIO.exists(folder) else { return }
    FileIO.removeFlatFolder(folder)
    if FileIO.exists(folder) {
      throw StoreError(.io, "cannot remove the part records in '\(folder)'")
    }
    rmdir(FileIO.parentFolder(folder))
    try FileIO.syncDirectory(root)
  }
}
