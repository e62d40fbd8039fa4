import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The `NAME.lock` file that serializes moves of one ref: whoever holds an exclusive flock on the
/// file currently at that path owns the ref until it unlinks the file and releases the flock.
///
/// A lock file whose flock nobody holds was left by a dead process (the kernel drops a flock when
/// its holder dies) and is taken over at once, with no age threshold. Each acquisition re-checks,
/// while holding the flock, that its descriptor is still the file at the path, so a file a taker
/// unlinked meanwhile is never mistaken for the lock.
final class RefLock {
  let path: String
  private var fd: Int32

  /// How long a writer waits for a lock whose flock is held before reporting `locked`. A live
  /// writer holds a ref lock for one small write, rename and fsync; gc's check of a lock holds it
  /// for a few microseconds; a lock held for longer belongs to a writer still at work.
  static let holdTolerance = 0.5

  private init(path: String, fd: Int32) {
    self.path = path
    self.fd = fd
  }

  /// Takes the lock at `path`, creating it or taking over a stale one; nil if a live process
  /// holds it for longer than `holdTolerance`.
  static func acquire(_ path: String) throws -> RefLock? {
    let deadline = Date().addingTimeInterval(holdTolerance)
    while true {
      if let fd = try openLocked(path) {
        if isStillAtPath(fd, path) { return RefLock(path: path, fd: fd) }
        // Someone unlinked the file between our open and our flock: start over.
        close(fd)
        continue
      }
      if Date() >= deadline { return nil }
      usleep(2_000)
    }
  }

  /// Opens (creating exclusively when absent) and flocks the file at `path`; nil when another
  /// process holds the flock of an existing file.
  private static func openLocked(_ path: String) throws -> Int32? {
    var fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    var created = true
    if fd < 0 {
      guard errno == EEXIST else {
        throw StoreError.io("cannot create lock", path: path, errno: errno)
      }
      fd = open(path, O_RDWR | O_CLOEXEC)
      created = false
      if fd < 0 {
        // Removed since our create failed: try creating again.
        if errno == ENOENT { return try openLocked(path) }
        throw StoreError.io("cannot open lock", path: path, errno: errno)
      }
    }
    // A file just created can only be flocked by a process checking it (gc, another writer that
    // found it): they let go at once, so the creator waits; a file found existing is tried.
    let operation = created ? LOCK_EX : LOCK_EX | LOCK_NB
    while flock(fd, operation) != 0 {
      if errno == EINTR { continue }
      let code = errno
      close(fd)
      if code == EWOULDBLOCK { return nil }
      throw StoreError.io("cannot lock", path: path, errno: code)
    }
    return fd
  }

  /// Whether `fd` is the file now at `path` (same device and inode).
  private static func isStillAtPath(_ fd: Int32, _ path: String) -> Bool {
    var held = stat()
    var current = stat()
    guard fstat(fd, &held) == 0, stat(path, &current) == 0 else { return false }
    return held.st_dev == current.st_dev && held.st_ino == current.st_ino
  }

  /// Removes the lock file, then releases the flock (in that order: a process waiting on this
  /// file then sees it unlinked and starts over).
  func release() {
    guard fd >= 0 else { return }
    unlink(path)
    flock(fd, LOCK_UN)
    close(fd)
    fd = -1
  }

  deinit { release() }

  /// Removes the lock at `path` if no process holds it; returns whether it did.
  static func removeIfStale(_ path: String) -> Bool {
    let fd = open(path, O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return false }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      close(fd)
      return false
    }
    guard isStillAtPath(fd, path) else {
      flock(fd, LOCK_UN)
      close(fd)
      return false
    }
    RefLock(path: path, fd: fd).release()
    return true
  }
}
