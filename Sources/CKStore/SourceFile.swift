#if canImport(Glibc)
  import Glibc
#endif

/// A file opened for reading tensor bytes in place (`TensorSource(file:…)`): read with `pread`
/// from many threads at once, never whole. It remembers the file's identity and times when it was
/// opened, so a file truncated or rewritten while a commit reads it is refused, not committed.
public final class SourceFile: @unchecked Sendable {
  /// The path it was opened from, for messages.
  public let path: String
  /// The file's size when it was opened.
  public let size: Int
  private let fd: Int32
  private let opened: Identity

  /// What changes when a file's content does: size, modification and status-change times.
  private struct Identity: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int
    var modified: timespec
    var changed: timespec

    static func == (a: Identity, b: Identity) -> Bool {
      a.device == b.device && a.inode == b.inode && a.size == b.size
        && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
        && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
    }
  }

  /// Opens `path` for reading; throws `io` naming the file if it cannot, `invalidArgument` if it
  /// is not a regular file.
  public init(path: String) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw StoreError.io("cannot open", path: path, errno: errno) }
    do {
      let identity = try Self.identity(fd, path: path)
      var st = stat()
      _ = fstat(fd, &st)
      guard (st.st_mode & S_IFMT) == S_IFREG else {
        throw StoreError(.invalidArgument, "'\(path)' is not a regular file")
      }
      self.fd = fd
      self.path = path
      self.size = identity.size
      self.opened = identity
    } catch {
      close(fd)
      throw error
    }
  }

  deinit { close(fd) }

  private static func identity(_ fd: Int32, path: String) throws -> Identity {
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw StoreError.io("cannot stat", path: path, errno: errno) }
    return Identity(
      device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int(st.st_size),
      modified: st.st_mtim, changed: st.st_ctim)
  }

  /// Reads exactly `buffer.count` bytes at `offset`; a short read means the file was truncated.
  /// `tensor` names what was being read in the error.
  public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int, for tensor: String)
    throws
  {
    var done = 0
    while done < buffer.count {
      let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
      if n < 0 {
        if errno == EINTR { continue }
        throw StoreError.io("cannot read tensor '\(tensor)' from", path: path, errno: errno)
      }
      if n == 0 {
        throw StoreError(
          .invalidArgument,
          "'\(path)' was truncated while it was read: tensor '\(tensor)' needs bytes up to "
            + "\(offset + buffer.count), the file ends at \(offset + done)")
      }
      done += n
    }
  }

  /// Throws `invalidArgument` naming the file if it changed (size, content times) since it was
  /// opened: what was read may mix old and new bytes.
  public func checkUnchanged() throws {
    guard try Self.identity(fd, path: path) == opened else {
      throw StoreError(
        .invalidArgument,
        "'\(path)' changed while it was read (size or modification time differs); nothing was "
          + "committed from it")
    }
  }
}
