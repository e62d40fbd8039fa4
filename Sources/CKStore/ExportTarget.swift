#if canImport(Glibc)
  import Glibc
#endif

/// Where an export writes: a regular file replaced atomically, or a stream (standard output, a
/// FIFO, a character device such as /dev/null) written in order and never replaced.
public enum ExportTarget: Equatable, Sendable {
  /// A regular file (existing or not), written through a temporary file next to it.
  case file(String)
  /// Standard output (`-o -`).
  case standardOutput
  /// A FIFO or character device, opened and written in place.
  case stream(String)

  /// Classifies `path` without following a symlink at it: `-` is standard output, a FIFO or a
  /// character device is streamed to, a missing path, a regular file or a symlink is written
  /// atomically (a symlink is replaced, its target never written). Folders, block devices and
  /// sockets are refused with `invalidArgument` naming the path.
  public static func classify(_ path: String) throws -> ExportTarget {
    if path == "-" { return .standardOutput }
    var st = stat()
    guard lstat(path, &st) == 0 else {
      if errno == ENOENT { return .file(path) }
      throw StoreError.io("cannot inspect output", path: path, errno: errno)
    }
    switch st.st_mode & S_IFMT {
    case S_IFREG, S_IFLNK: return .file(path)
    case S_IFIFO, S_IFCHR: return .stream(path)
    case S_IFDIR:
      throw StoreError(
        .invalidArgument,
        "output '\(path)' is a folder; name a file, or pass --max-shard-size to write shards into it"
      )
    default:
      throw StoreError(
        .invalidArgument,
        "output '\(path)' is neither a regular file, a FIFO nor a character device; refusing to "
          + "write to it")
    }
  }
}

/// A file being written for an export: created exclusively (`O_EXCL|O_NOFOLLOW`, so nothing
/// planted at its name is followed or reused) in the target's own folder, sized up front, and
/// renamed over the target only once it is complete and durable. Dropped without `commit()`,
/// it removes itself: a failed export never leaves a file under the target's name.
final class ExportFile: @unchecked Sendable {
  let target: String
  let temporary: String
  let fd: Int32
  private var committed = false

  /// Creates the temporary file for `target` with room for `size` bytes (failing now, not halfway,
  /// when the disk cannot hold them).
  init(target: String, size: Int) throws {
    let folder = FileIO.parentFolder(target)
    let base = String(target.split(separator: "/").last ?? Substring(target))
    var fd: Int32 = -1
    var temporary = ""
    for _ in 0..<8 {
      temporary =
        (folder.isEmpty ? "" : folder + (folder == "/" ? "" : "/"))
        + ".\(base).ckstore-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
      if fd >= 0 || errno != EEXIST { break }
    }
    guard fd >= 0 else { throw StoreError.io("cannot create", path: temporary, errno: errno) }
    self.fd = fd
    self.target = target
    self.temporary = temporary
    if size > 0 {
      let code = posix_fallocate(fd, 0, off_t(size))
      // File systems without fallocate (EOPNOTSUPP) still get the writes; others fail here.
      if code != 0 && code != EOPNOTSUPP && code != EINVAL {
        throw StoreError.io("cannot make room for \(size) bytes in", path: temporary, errno: code)
      }
    }
  }

  /// Writes `bytes` at `offset` (from any thread).
  func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
    var done = 0
    while done < bytes.count {
      if let code = FaultInjection.failure(.write) {
        throw StoreError.io("cannot write", path: temporary, errno: code)
      }
      let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
      if n < 0 {
        if errno == EINTR { continue }
        throw StoreError.io("cannot write", path: temporary, errno: errno)
      }
      done += n
    }
  }

  /// Makes the file durable and renames it over the target, then makes the rename durable; see
  /// `publish` for the warning it returns.
  func commit() throws -> StoreWarning? {
    try sync()
    return try publish()
  }

  /// Makes the file's content durable (before `publish`).
  func sync() throws {
    if let code = FaultInjection.failure(.fsync) ?? (fsync(fd) == 0 ? nil : errno) {
      throw StoreError.io("cannot fsync", path: temporary, errno: code)
    }
  }

  /// Renames the synced file over the target and makes the rename durable. Once the rename is
  /// done the new file is what readers see, so a failure to make the rename durable is returned as
  /// a warning (the export stands), not thrown.
  func publish() throws -> StoreWarning? {
    if let code = FaultInjection.failure(.rename) ?? (rename(temporary, target) == 0 ? nil : errno)
    {
      throw StoreError.io("cannot rename into place", path: target, errno: code)
    }
    committed = true
    let folder = FileIO.parentFolder(target)
    do {
      try FileIO.syncDirectory(folder.isEmpty ? "." : folder)
    } catch let error as StoreError {
      return StoreWarning(
        "'\(target)' was written, but the rename may not survive a crash: \(error)")
    }
    return nil
  }

  deinit {
    close(fd)
    if !committed { unlink(temporary) }
  }
}
