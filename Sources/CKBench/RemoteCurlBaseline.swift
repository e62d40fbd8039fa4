import CKTestSupport
import Foundation

/// The same PUTs and GETs made by curl(1) processes with `--aws-sigv4`: libcurl is also what the
/// S3 client runs on (`CurlExchange`), so this separates the client's own cost from the server's. curl sends `UNSIGNED-PAYLOAD` and so skips the SHA-256 of each body that the
/// ckstore client computes.
struct RemoteCurlBaseline {
  let server: SeaweedFS
  let bucket: String
  let concurrency: Int

  /// curl's path, or nil when curl is missing or predates `--aws-sigv4` (7.75).
  static func curl() -> String? {
    for path in ["/usr/bin/curl", "/usr/local/bin/curl"]
    where FileManager.default.isExecutableFile(atPath: path) {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: path)
      p.arguments = ["--help", "all"]
      let pipe = Pipe()
      p.standardOutput = pipe
      p.standardError = FileHandle.nullDevice
      guard (try? p.run()) != nil else { continue }
      let help = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      if help.contains("--aws-sigv4") { return path }
    }
    return nil
  }

  /// Seconds to PUT `count` copies of `body` and then GET them, `concurrency` processes at a time.
  func measure(curl: String, body: Data, count: Int, round: Int) throws -> (
    put: Double, get: Double
  ) {
    let file = FileManager.default.temporaryDirectory
      .appendingPathComponent("ckbench-curl-\(UUID().uuidString)")
    try body.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let base = server.endpoint.absoluteString + "/" + bucket + "/curl\(round)/"
    let common = [
      "-sS", "-f", "-o", "/dev/null", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
      "\(SeaweedFS.admin.accessKey):\(SeaweedFS.admin.secretKey)",
    ]
    let put = try timed(count) { i in
      try Self.run(
        curl,
        common + ["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-T", file.path, base + "\(i)"])
    }
    let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    let get = try timed(count) { i in
      try Self.run(curl, common + ["-H", "x-amz-content-sha256: \(emptyHash)", base + "\(i)"])
    }
    return (put, get)
  }

  private func timed(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws
    -> Double
  {
    let start = Timing.now()
    try RemoteParallel.run(count, workers: concurrency, body)
    return Timing.now() - start
  }

  private static func run(_ curl: String, _ arguments: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: curl)
    p.arguments = arguments
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
      throw BenchFailure("curl exited \(p.terminationStatus) for \(arguments.last ?? "")")
    }
  }
}

/// A benchmark step that failed.
struct BenchFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
