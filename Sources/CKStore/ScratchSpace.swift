import Foundation

/// A per-process folder under `tmp/` for files being written, owned through a lock file the
/// process holds while it lives. gc removes folders whose lock no live process holds.
final class ScratchSpace: @unchecked Sendable {
  static let ownerLockName = "owner.lock"

  let tmpRoot: String
  private let lock = NSLock()
  private var folder: String?
  private var ownerLock: FileLock?
  private var counter = 0

  init(tmpRoot: String) { self.tmpRoot = tmpRoot }

  /// A fresh path inside this process's scratch folder.
  func newTempPath() throws -> String {
    try lock.withLock {
      if folder == nil {
        let name = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let dir = tmpRoot + "/" + name
        try FileIO.makeDirectories(dir)
        ownerLock = try FileLock.acquire(dir + "/" + Self.ownerLockName, .exclusive)
        folder = dir
      }
      counter += 1
      return "\(folder!)/\(counter).tmp"
    }
  }

  /// Removes scratch folders of processes that are gone; returns how many files it removed.
  ///
  /// Only entries named `<pid>-<nonce>` that are real folders (not links) are considered, and in
  /// them only the files directly inside are unlinked, relative to the folder opened without
  /// following links: a link planted anywhere under `tmp/` is removed as a link, never followed.
  static func cleanStale(tmpRoot: String) -> Int {
    var removed = 0
    for name in FileIO.list(tmpRoot) where isScratchName(name) {
      let dir = tmpRoot + "/" + name
      guard let modified = FileIO.realDirectoryModificationTime(dir) else { continue }
      // A folder younger than a minute may belong to a process between mkdir and flock.
      if Date().timeIntervalSince1970 - modified < 60 { continue }
      if FileLock.isHeld(dir + "/" + ownerLockName) { continue }
      removed += FileIO.removeFlatFolder(dir, keepingCountOf: [ownerLockName])
    }
    return removed
  }

  /// Whether `name` has the form of a scratch folder, `<pid>-<nonce>` (decimal digits).
  static func isScratchName(_ name: String) -> Bool {
    let parts = name.split(separator: "-", omittingEmptySubsequences: false)
    return parts.count == 2
      && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
  }

  deinit {
    ownerLock?.unlock()
    if let folder { FileIO.removeFlatFolder(folder) }
  }
}
