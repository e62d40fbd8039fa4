import Foundation

/// The built `ckstore` binary, for tests that run it as a user would.
public enum CkstoreBinary {
  /// Its location: `swift test` and `swift build --build-tests` put it beside the test bundle.
  public static var url: URL {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for dir in [bundleDir, bundleDir.deletingLastPathComponent()] {
      let candidate = dir.appendingPathComponent("ckstore")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return bundleDir.appendingPathComponent("ckstore")
  }

  /// The environment for a child `ckstore`: this process's, without `CKSTORE_DIR` (each test
  /// names its store), with crash backtraces off (a crash fails the test at once), plus `extra`.
  public static func environment(adding extra: [String: String] = [:]) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "CKSTORE_DIR")
    env["SWIFT_BACKTRACE"] = "enable=no"
    for (k, v) in extra { env[k] = v }
    return env
  }
}
