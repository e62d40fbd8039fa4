#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An advisory `flock(2)` lock on a file, released on `unlock()`, on deinit, or by the kernel when
/// the process dies — which is what lets gc tell a live holder from a stale one.
final class FileLock: @unchecked Sendable {
  /// Shared (many holders) or exclusive (one holder).
  enum Mode { case shared, exclusive }

  let path: String
  private var fd: Int32

  private init(path: String, fd: Int32) {
    self.path = path
    self.fd = fd
  }

  /// Opens (creating if needed) and locks `path`, blocking until the lock is granted.
  static func acquire(_ path: String, _ mode: Mode) throws -> FileLock {
    let lock = try open(path)
    try lock.lock(mode, wait: true)
    return lock
  }

  /// Opens and locks `path` without waiting; nil if another holder has it.
  static func tryAcquire(_ path: String, _ mode: Mode) throws -> FileLock? {
    let lock = try open(path)
    do {
      try lock.lock(mode, wait: false)
      return lock
    } catch let error as StoreError where error.code == .locked {
      return nil
    }
  }

  private static func open(_ path: String) throws -> FileLock {
    let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StoreError.io("cannot open lock", path: path, errno: errno) }
    return FileLock(path: path, fd: fd)
  }

  private func lock(_ mode: Mode, wait: Bool) throws {
    var operation = mode == .shared ? LOCK_SH : LOCK_EX
    if !wait { operation |= LOCK_NB }
    while flock(fd, operation) != 0 {
      if errno == EINTR { continue }
      if errno == EWOULDBLOCK {
        throw StoreError(.locked, "'\(path)' is locked by another process")
      }
      throw StoreError.io("cannot lock", path: path, errno: errno)
    }
  }

  /// Releases the lock and closes the file.
  func unlock() {
    guard fd >= 0 else { return }
    flock(fd, LOCK_UN)
    close(fd)
    fd = -1
  }

  deinit { unlock() }

  /// Whether some live process holds a lock on `path` (false if the file is gone).
  static func isHeld(_ path: String) -> Bool {
    let fd = Glibc.open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    if flock(fd, LOCK_EX | LOCK_NB) == 0 {
      flock(fd, LOCK_UN)
      return false
    }
    return true
  }
}
