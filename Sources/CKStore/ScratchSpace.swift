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
  static func cleanStale(tmpRoot: String) -> Int {
    var removed = 0
    for name in FileIO.list(tmpRoot) {
      let dir = tmpRoot + "/" + name
      let owner = dir + "/" + ownerLockName
      // A folder younger than a minute may belong to a process between mkdir and flock.
      let age = Date().timeIntervalSince1970 - (FileIO.modificationTime(dir) ?? 0)
      if FileLock.isHeld(owner) || age < 60 { continue }
      removed += FileIO.list(dir).filter { $0 != ownerLockName }.count
      FileIO.removeTree(dir)
    }
    return removed
  }

  deinit {
    ownerLock?.unlock()
    if let folder { FileIO.removeTree(folder) }
  }
}
