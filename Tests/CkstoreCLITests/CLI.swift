import Foundation

/// Runs the built `ckstore` binary, which `swift test` builds beside the test bundle.
enum CLI {
  struct Result {
    let status: Int32
    let stdout: String
    let stderr: String
  }

  static var binary: URL {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for dir in [bundleDir, bundleDir.deletingLastPathComponent()] {
      let candidate = dir.appendingPathComponent("ckstore")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return bundleDir.appendingPathComponent("ckstore")
  }

  static func run(
    _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil
  ) throws -> Result {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "CKSTORE_DIR")
    // A crash should fail the test quickly, not spend seconds symbolicating a backtrace.
    env["SWIFT_BACKTRACE"] = "enable=no"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }
}
