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
  private let warnings: WarningSink

  init(root: String, scratch: ScratchSpace, warnings: WarningSink) {
    self.root = root
    self.scratch = scratch
    self.warnings = warnings
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

  /// Points HEAD at `branch`; a failed folder fsync after the rename is a warning.
  func setHead(branch: String) throws {
    try FileIO.writeAtomically(
      Array("ref: refs/heads/\(branch)\n".utf8), to: root + "/HEAD",
      tempPath: try scratch.newTempPath())
    do {
      try FileIO.syncDirectory(root)
    } catch {
      warnings.report(
        StoreWarning("HEAD now names branch '\(branch)' (the change landed), but \(error)"))
    }
  }

  /// Names under `refs/heads` or `refs/tags`, sorted, with the commit each names; throws on the
  /// first ref that cannot be read (callers that must see every ref, such as gc, use this).
  func list(_ folder: String) throws -> [(name: String, id: ObjectID)] {
    let (refs, broken) = scan(folder)
    if let first = broken.first { throw first.error }
    return refs
  }

  /// Every ref under `folder`, split into those that name a commit and those that cannot be
  /// read (malformed content, I/O errors), so one bad ref does not hide the others.
  func scan(_ folder: String) -> (
    refs: [(name: String, id: ObjectID)], broken: [(ref: String, error: StoreError)]
  ) {
    var out: [(String, ObjectID)] = []
    var broken: [(String, StoreError)] = []
    func walk(_ relative: String) {
      let dir = root + "/" + folder + (relative.isEmpty ? "" : "/" + relative)
      for entry in FileIO.list(dir).sorted() where !entry.hasSuffix(".lock") {
        let name = relative.isEmpty ? entry : relative + "/" + entry
        if FileIO.isDirectory(dir + "/" + entry) {
          walk(name)
          continue
        }
        do {
          if let id = try read(folder + "/" + name) { out.append((name, id)) }
        } catch let error as StoreError {
          broken.append((folder + "/" + name, error))
        } catch {
          broken.append((folder + "/" + name, StoreError(.io, "ref \(folder)/\(name): \(error)")))
        }
      }
    }
    walk("")
    return (out.sorted { $0.0 < $1.0 }, broken)
  }

  /// Moves `ref` from `expected` (nil: must not exist) to `new`, atomically and durably, and
  /// records the move in the reflog. Throws `refConflict` if the ref no longer names `expected`
  /// or a ref nests with it (`a` and `a/b`), `locked` if another process is updating it.
  ///
  /// Once the rename has put the new value in place the move stands: a failure to fsync the
  /// folder or append the reflog after it is reported as a warning, never as an error.
  ///
  /// `alongside`, when given, runs right after the rename while the lock is still held, for a
  /// change that must land together with a ref's creation (switching HEAD to a new branch): if it
  /// throws, the new ref is removed again and the error rethrown, so nothing changed.
  func update(
    _ ref: String, to new: ObjectID, expected: ObjectID?, message: String,
    alongside: (() throws -> Void)? = nil
  ) throws {
    let path = root + "/" + ref
    let folder = FileIO.parentFolder(path)
    if expected == nil { try checkNoNestedRef(ref) }
    try FileIO.makeDirectories(folder)
    let lock = try lockNaming(ref, expected, else: "another writer committed first")
    defer { lock.release() }
    try FileIO.writeAtomically(
      Array((new.hex + "\n").utf8), to: path, tempPath: try scratch.newTempPath())
    if let alongside, expected == nil {
      do {
        try alongside()
      } catch {
        try? FileIO.remove(path)
        throw error
      }
    }
    landed(ref, new, "the move may not survive a crash (its folder is not fsynced)") {
      try FileIO.syncDirectory(folder)
    }
    landed(ref, new, "its reflog line is missing") {
      try appendLog(ref, old: expected, new: new, message: message)
    }
  }

  /// Takes `ref`'s lock and checks, holding it, that the ref still names `expected` (nil: that
  /// it does not exist). Throws `locked` if a live writer holds the lock, `refConflict` — ending
  /// with `outcome` — if the ref moved.
  private func lockNaming(_ ref: String, _ expected: ObjectID?, else outcome: String) throws
    -> RefLock
  {
    let lockPath = root + "/" + ref + ".lock"
    guard let lock = try RefLock.acquire(lockPath) else {
      throw StoreError(
        .locked,
        "ref \(ref) is locked by another writer (\(lockPath), held by a live process)")
    }
    let current: ObjectID?
    do { current = try read(ref) } catch {
      lock.release()
      throw error
    }
    guard current == expected else {
      lock.release()
      throw StoreError(
        .refConflict,
        "ref \(ref) moved to \(current?.short ?? "nothing") while expecting "
          + "\(expected?.short ?? "nothing"); \(outcome)")
    }
    return lock
  }

  /// Runs a best-effort step after `ref` moved to `new`; a failure becomes a warning that says
  /// the move stands and what is left undone.
  private func landed(
    _ ref: String, _ new: ObjectID, _ consequence: String, _ step: () throws -> Void
  ) {
    do {
      try step()
    } catch {
      warnings.report(
        StoreWarning(
          "ref \(ref) now names \(new.short) (the change landed), but \(error): \(consequence)"))
    }
  }

  /// Refuses a new ref that would nest with an existing one: `a` and `a/b` cannot both be files.
  private func checkNoNestedRef(_ ref: String) throws {
    let segments = ref.split(separator: "/")
    // refs/heads/… or refs/tags/…: the first two segments are the namespace.
    for end in 3..<segments.count {
      let prefix = segments[..<end].joined(separator: "/")
      if FileIO.exists(root + "/" + prefix) && !FileIO.isDirectory(root + "/" + prefix) {
        throw StoreError(
          .refConflict, "ref '\(prefix)' exists, cannot create '\(ref)' inside it")
      }
    }
    let path = root + "/" + ref
    guard FileIO.isDirectory(path) else { return }
    if let inside = try list(ref).first {
      throw StoreError(
        .refConflict, "ref '\(ref)/\(inside.name)' exists, cannot create '\(ref)' over it")
    }
    // Folders left empty by deleted refs give way; rmdir(2) never removes a file, so a lock of
    // a ref being created in there right now keeps the folder.
    FileIO.removeEmptyFolders(path)
    if FileIO.exists(path) {
      throw StoreError(
        .refConflict, "cannot create ref '\(ref)': refs are being created under '\(ref)/'")
    }
  }

  /// Removes a ref (a branch or tag deletion) if it still names `expected`, under the ref's lock
  /// like any move, then its reflog: a later ref of the same name starts a fresh history, and
  /// `NAME@{N}` never names a commit of the deleted one. Throws `refConflict` if the ref moved,
  /// `locked` if another process is updating it. Once the ref file is gone the deletion stands;
  /// failures after it are warnings.
  func delete(_ ref: String, expected: ObjectID) throws {
    let path = root + "/" + ref
    let lock = try lockNaming(ref, expected, else: "not deleted")
    defer { lock.release() }
    try FileIO.remove(path)
    let folder = FileIO.parentFolder(path)
    do {
      try FileIO.syncDirectory(folder)
      let log = root + "/logs/" + ref
      if FileIO.exists(log) { try FileIO.remove(log) }
    } catch {
      warnings.report(
        StoreWarning(
          "ref \(ref) was deleted (the change landed), but \(error): the deletion may not "
            + "survive a crash, or its reflog is left behind"))
    }
  }

  /// Replaces `to`'s reflog with a copy of `from`'s (a branch rename keeps its history).
  func copyLog(_ from: String, to: String) throws {
    let source = root + "/logs/" + from
    let target = root + "/logs/" + to
    try FileIO.makeDirectories(FileIO.parentFolder(target))
    let bytes = FileIO.exists(source) ? try FileIO.read(source) : []
    try FileIO.writeAtomically(bytes, to: target, tempPath: try scratch.newTempPath())
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

  /// Removes `*.lock` files under `refs/` that no live process holds; returns their paths.
  func cleanStaleLocks() -> [String] {
    var removed: [String] = []
    guard let walker = FileManager.default.enumerator(atPath: root + "/refs") else { return [] }
    while let relative = walker.nextObject() as? String {
      guard relative.hasSuffix(".lock") else { continue }
      let path = root + "/refs/" + relative
      if RefLock.removeIfStale(path) { removed.append(path) }
    }
    return removed
  }
}
