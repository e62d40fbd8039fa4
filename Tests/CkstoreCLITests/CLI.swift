import CKTestSupport
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Runs the built `ckstore` binary, which `swift test` builds beside the test bundle.
enum CLI {
  struct Result {
    let status: Int32
    let stdout: String
    let stderr: String
  }

  static var binary: URL { CkstoreBinary.url }

  /// Starts `ckstore ARGS` in the background with its output discarded (tests that run several
  /// at once, or kill one).
  static func spawn(_ args: [String]) throws -> Process {
    let p = Process()
    p.executableURL = binary
    p.arguments = args
    p.environment = CkstoreBinary.environment()
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
  }

  /// Runs `ckstore ARGUMENTS` (or `executable`, such as a helper that runs ckstore itself);
  /// `stdoutPath`/`stderrPath` send that stream to a file (such as /dev/full) instead of the
  /// captured pipe.
  static func run(
    _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
    stdoutPath: String? = nil, stderrPath: String? = nil, executable: String? = nil
  ) throws -> Result {
    let process = Process()
    process.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? binary
    process.arguments = arguments
    process.environment = CkstoreBinary.environment(adding: environment)
    if let directory { process.currentDirectoryURL = directory }
    // A stream sent to a file gets no pipe: an unused pipe's write end would stay open here and
    // its drain would never see end-of-file.
    let out = stdoutPath == nil ? Pipe() : nil
    let err = stderrPath == nil ? Pipe() : nil
    process.standardOutput = try out.map { $0 as Any } ?? sink(stdoutPath!)
    process.standardError = try err.map { $0 as Any } ?? sink(stderrPath!)
    try process.run()
    // Both pipes are drained at once (a crash report on stderr can fill its pipe while stdout is
    // still open), with read(2) retried on EINTR: FileHandle.readDataToEndOfFile traps on it.
    let errData = err.map { Drain($0.fileHandleForReading.fileDescriptor) }
    let outData = out.map { drain($0.fileHandleForReading.fileDescriptor) } ?? []
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData?.wait() ?? [], as: UTF8.self))
  }

  private static func sink(_ path: String) throws -> FileHandle {
    guard let handle = FileHandle(forWritingAtPath: path) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
    return handle
  }

  /// Reads a descriptor to its end, retrying interrupted reads.
  static func drain(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n > 0 {
        out += buffer[0..<n]
      } else if n == 0 || errno != EINTR {
        return out
      }
    }
  }

  /// Drains a descriptor on another thread.
  final class Drain: @unchecked Sendable {
    private var data: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init(_ fd: Int32) {
      DispatchQueue.global().async {
        self.data = CLI.drain(fd)
        self.done.signal()
      }
    }

    func wait() -> [UInt8] {
      done.wait()
      return data
    }
  }
}
