import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Durable file operations: the only place the store talks to the file system directly.
///
/// Every write goes to a temporary file, is fsynced, renamed into place, and (by the caller, in
/// batches) its folder is fsynced, so a reader sees either the old file or the complete new one.
enum FileIO {
  static func exists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
  }

  static func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
  }

  static func fileSize(_ path: String) -> Int? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return Int(st.st_size)
  }

  static func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
      throw StoreError.io("cannot create folder", path: path, errno: errno)
    }
  }

  static func makeDirectories(_ path: String) throws {
    if isDirectory(path) { return }
    let parent = parentFolder(path)
    if !parent.isEmpty && parent != path { try makeDirectories(parent) }
    try makeDirectory(path)
  }

  /// The folder part of a path ("" for a bare name). Plain string work: NSString's
  /// `deletingLastPathComponent` crashes on one-character names on Linux.
  static func parentFolder(_ path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "" }
    return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
  }

  /// Reads a whole file, or its first `limit` bytes.
  static func read(_ path: String, limit: Int = .max) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw StoreError.io("cannot open", path: path, errno: errno) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw StoreError.io("cannot stat", path: path, errno: errno) }
    let size = min(Int(st.st_size), limit)
    var buffer = [UInt8].uninitialized(count: size)
    var done = 0
    try buffer.withUnsafeMutableBytes { raw in
      while done < size {
        let n = Glibc.read(fd, raw.baseAddress! + done, size - done)
        if n < 0 {
          if errno == EINTR { continue }
          throw StoreError.io("cannot read", path: path, errno: errno)
        }
        if n == 0 { break }
        done += n
      }
    }
    if done < size { buffer.removeSubrange(done...) }
    return buffer
  }

  static func readString(_ path: String) throws -> String {
    String(decoding: try read(path), as: UTF8.self)
  }

  static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
    var done = 0
    while done < bytes.count {
      if let code = FaultInjection.failure(.write) {
        throw StoreError.io("cannot write", path: path, errno: code)
      }
      let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        throw StoreError.io("cannot write", path: path, errno: errno)
      }
      done += n
    }
  }

  /// Writes `parts` to `tempPath`, fsyncs it, and renames it to `path`. The caller fsyncs the
  /// folder (see `syncDirectory`) before anything that depends on the file is published.
  static func writeAtomically(
    _ parts: [UnsafeRawBufferPointer], to path: String, tempPath: String
  ) throws {
    let fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StoreError.io("cannot create", path: tempPath, errno: errno) }
    do {
      for part in parts { try writeAll(fd, part, path: tempPath) }
      if let code = syncFile(fd) {
        throw StoreError.io("cannot fsync", path: tempPath, errno: code)
      }
    } catch {
      close(fd)
      unlink(tempPath)
      throw error
    }
    close(fd)
    if let code = FaultInjection.failure(.rename) ?? (rename(tempPath, path) == 0 ? nil : errno) {
      unlink(tempPath)
      throw StoreError.io("cannot rename into place", path: path, errno: code)
    }
  }

  /// fsync(2) through the fault-injection seam; the errno on failure, nil on success.
  private static func syncFile(_ fd: Int32) -> Int32? {
    if let code = FaultInjection.failure(.fsync) { return code }
    return fsync(fd) == 0 ? nil : errno
  }

  static func writeAtomically(_ bytes: [UInt8], to path: String, tempPath: String) throws {
    try bytes.withUnsafeBytes { try writeAtomically([$0], to: path, tempPath: tempPath) }
  }

  /// Makes a folder's entries (renames, creations) durable.
  static func syncDirectory(_ path: String) throws {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw StoreError.io("cannot open folder", path: path, errno: errno) }
    defer { close(fd) }
    if let code = syncFile(fd), code != EINVAL {
      throw StoreError.io("cannot fsync folder", path: path, errno: code)
    }
  }

  /// Appends one record to a log file and fsyncs it.
  static func append(_ bytes: [UInt8], to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StoreError.io("cannot open", path: path, errno: errno) }
    defer { close(fd) }
    try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    if let code = syncFile(fd) { throw StoreError.io("cannot fsync", path: path, errno: code) }
  }

  /// Creates an empty file at `path` directly (no temporary file: it needs an inode and a
  /// folder entry, no data block, so it works on a full file system); an existing file is kept.
  static func createEmpty(_ path: String) throws {
    if let code = FaultInjection.failure(.write) {
      throw StoreError.io("cannot create", path: path, errno: code)
    }
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
    if fd < 0 && errno != EEXIST { throw StoreError.io("cannot create", path: path, errno: errno) }
    if fd >= 0 { close(fd) }
  }

  static func remove(_ path: String) throws {
    if unlink(path) != 0 && errno != ENOENT {
      throw StoreError.io("cannot remove", path: path, errno: errno)
    }
  }

  /// The modification time of `path` if it is a folder itself, not a link to one (lstat).
  static func realDirectoryModificationTime(_ path: String) -> Double? {
    var st = stat()
    guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
    return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
  }

  /// Unlinks every non-folder entry directly inside the folder `path`, then the folder if it is
  /// empty; returns how many entries it unlinked, not counting names in `uncounted`. The folder
  /// is opened with O_NOFOLLOW and entries are unlinked relative to it (unlinkat), so a link is
  /// removed as a link and nothing outside the folder is touched, even if `path` is swapped.
  @discardableResult
  static func removeFlatFolder(_ path: String, keepingCountOf uncounted: Set<String> = [])
    -> Int
  {
    let dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard dfd >= 0 else { return 0 }
    defer { close(dfd) }
    var removed = 0
    for name in list(path) {
      var st = stat()
      guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, (st.st_mode & S_IFMT) != S_IFDIR
      else { continue }
      if unlinkat(dfd, name, 0) == 0 && !uncounted.contains(name) { removed += 1 }
    }
    rmdir(path)
    return removed
  }

  /// Removes `path` and the folders under it if none holds a file (rmdir(2), bottom-up; links
  /// are not followed).
  static func removeEmptyFolders(_ path: String) {
    for entry in list(path) where realDirectoryModificationTime(path + "/" + entry) != nil {
      removeEmptyFolders(path + "/" + entry)
    }
    rmdir(path)
  }

  static func list(_ path: String) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
  }

  static func modificationTime(_ path: String) -> Double? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
  }
}
