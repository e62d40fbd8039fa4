import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One move of a ref, as the reflog records it.
public struct RefLogEntry: Equatable, Sendable {
  /// The commit the ref named before; nil when it was created.
  public var old: ObjectID?
  /// The commit the ref names after the move.
  public var new: ObjectID
  /// When it moved.
  public var time: Date
  /// Why it moved (`commit`, `branch`, `tag` …).
  public var message: String
}

/// Branches, tags and HEAD, each a small file under `refs/`; every move is a compare-and-swap
/// through `NAME.lock` and is appended to the reflog under `logs/`.
final class RefStore: @unchecked Sendable {
  let root: String
  private let scratch: ScratchSpace

  init(root: String, scratch: ScratchSpace) {
    self.root = root
    self.scratch = scratch
  }

  static func branchRef(_ name: String) -> String { "refs/heads/" + name }
  static func tagRef(_ name: String) -> String { "refs/tags/" + name }

  /// The commit a ref names, or nil if it does not exist.
  func read(_ ref: String) throws -> ObjectID? {
    let path = root + "/" + ref
    guard FileIO.exists(path), !FileIO.isDirectory(path) else { return nil }
    let text = try FileIO.readString(path).trimmingCharacters(in: .whitespacesAndNewlines)
    guard let id = ObjectID(hex: text) else {
      throw StoreError(.corruptObject, "ref \(ref) does not hold a commit id: '\(text.prefix(80))'")
    }
    return id
  }

  /// The branch HEAD points at.
  func headBranch() throws -> String {
    let text = try FileIO.readString(root + "/HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
    guard text.hasPrefix("ref: refs/heads/") else {
      throw StoreError(.corruptObject, "HEAD does not name a branch: '\(text.prefix(80))'")
    }
    return String(text.dropFirst("ref: refs/heads/".count))
  }

  func setHead(branch: String) throws {
    try FileIO.writeAtomically(
      Array("ref: refs/heads/\(branch)\n".utf8), to: root + "/HEAD",
      tempPath: try scratch.newTempPath())
    try FileIO.syncDirectory(root)
  }

  /// Names under `refs/heads` or `refs/tags`, sorted, with the commit each names.
  func list(_ folder: String) throws -> [(name: String, id: ObjectID)] {
    var out: [(String, ObjectID)] = []
    func walk(_ relative: String) throws {
      let dir = root + "/" + folder + (relative.isEmpty ? "" : "/" + relative)
      for entry in FileIO.list(dir).sorted() where !entry.hasSuffix(".lock") {
        let name = relative.isEmpty ? entry : relative + "/" + entry
        if FileIO.isDirectory(dir + "/" + entry) {
          try walk(name)
        } else if let id = try read(folder + "/" + name) {
          out.append((name, id))
        }
      }
    }
    try walk("")
    return out.sorted { $0.0 < $1.0 }
  }

  /// Moves `ref` from `expected` (nil: must not exist) to `new`, atomically and durably, and
  /// records the move in the reflog. Throws `refConflict` if the ref no longer names `expected`,
  /// `locked` if another process is updating it.
  func update(_ ref: String, to new: ObjectID, expected: ObjectID?, message: String) throws {
    let path = root + "/" + ref
    let folder = FileIO.parentFolder(path)
    try FileIO.makeDirectories(folder)
    let lockPath = path + ".lock"
    let fd = try lockRef(ref, lockPath: lockPath, breakingStale: true)
    defer {
      unlink(lockPath)
      flock(fd, LOCK_UN)
      close(fd)
    }
    let current = try read(ref)
    guard current == expected else {
      throw StoreError(
        .refConflict,
        "ref \(ref) moved to \(current?.short ?? "nothing") while expecting "
          + "\(expected?.short ?? "nothing"); another writer committed first")
    }
    try FileIO.writeAtomically(
      Array((new.hex + "\n").utf8), to: path, tempPath: try scratch.newTempPath())
    try FileIO.syncDirectory(folder)
    try appendLog(ref, old: current, new: new, message: message)
  }

  /// A lock that no process holds and that is older than this was left by a dead writer (a live
  /// one takes its flock microseconds after creating the file).
  static let staleLockAge = 2.0

  /// Creates and flocks `NAME.lock`. A lock left by a dead writer (no flock held, older than
  /// `staleLockAge`) is removed once and the creation retried, so a restarted trainer is not
  /// blocked by the crash it restarts from; a lock a live process holds is never broken.
  private func lockRef(_ ref: String, lockPath: String, breakingStale: Bool) throws -> Int32 {
    let fd = open(lockPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    if fd >= 0 {
      flock(fd, LOCK_EX)
      return fd
    }
    guard errno == EEXIST else {
      throw StoreError.io("cannot create lock", path: lockPath, errno: errno)
    }
    let age = Date().timeIntervalSince1970 - (FileIO.modificationTime(lockPath) ?? 0)
    if breakingStale && !FileLock.isHeld(lockPath) && age > Self.staleLockAge {
      try FileIO.remove(lockPath)
      return try lockRef(ref, lockPath: lockPath, breakingStale: false)
    }
    throw StoreError(
      .locked,
      "ref \(ref) is locked by another writer (\(lockPath)); if no ckstore process is running, "
        + "`ckstore gc` removes the stale lock")
  }

  /// Removes a ref (a branch or tag deletion); its reflog stays.
  func delete(_ ref: String, expected: ObjectID) throws {
    guard try read(ref) == expected else {
      throw StoreError(.refConflict, "ref \(ref) moved; not deleted")
    }
    try FileIO.remove(root + "/" + ref)
  }

  private func appendLog(_ ref: String, old: ObjectID?, new: ObjectID, message: String) throws {
    let path = root + "/logs/" + ref
    try FileIO.makeDirectories(FileIO.parentFolder(path))
    let millis = Int64((Date().timeIntervalSince1970 * 1000).rounded())
    let oneLine = message.replacingOccurrences(of: "\n", with: " ")
    let line =
      "\(old?.hex ?? String(repeating: "0", count: 64)) \(new.hex) \(millis) \(oneLine)\n"
    try FileIO.append(Array(line.utf8), to: path)
  }

  /// The reflog of a ref, oldest first.
  func log(_ ref: String) throws -> [RefLogEntry] {
    let path = root + "/logs/" + ref
    guard FileIO.exists(path) else { return [] }
    return try FileIO.readString(path).split(separator: "\n").compactMap { line in
      let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
      guard parts.count >= 3, let new = ObjectID(hex: String(parts[1])),
        let millis = Int64(parts[2])
      else { return nil }
      return RefLogEntry(
        old: ObjectID(hex: String(parts[0])).flatMap { $0.bytes.allSatisfy { $0 == 0 } ? nil : $0 },
        new: new, time: Date(timeIntervalSince1970: Double(millis) / 1000),
        message: parts.count > 3 ? String(parts[3]) : "")
    }
  }

  /// Removes `*.lock` files under `refs/` that no live process holds and that are older than
  /// `grace` seconds; returns their paths.
  func cleanStaleLocks(grace: Double) -> [String] {
    var removed: [String] = []
    guard let walker = FileManager.default.enumerator(atPath: root + "/refs") else { return [] }
    let now = Date().timeIntervalSince1970
    while let relative = walker.nextObject() as? String {
      guard relative.hasSuffix(".lock") else { continue }
      let path = root + "/refs/" + relative
      if FileLock.isHeld(path) { continue }
      if now - (FileIO.modificationTime(path) ?? now) < grace { continue }
      try? FileIO.remove(path)
      removed.append(path)
    }
    return removed
  }
}
