import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A SeaweedFS S3 service of its own on loopback, for tests and benchmarks: free ports, a fresh
/// temporary directory, SigV4 authentication on (an admin and a read-only identity), logs kept
/// beside the data and their tail printed when startup fails.
///
/// `.single` runs `weed server` (master, volume, filer and S3 gateway in one process);
/// `.cluster` runs `weed master`, two `weed volume`, `weed filer` and `weed s3` as separate
/// processes, any of which `kill(_:)` can stop for fault tests.
public final class SeaweedFS: @unchecked Sendable {
  /// One process layout.
  public enum Topology: Sendable { case single, cluster }

  /// An S3 key pair from the identities file.
  public struct KeyPair: Sendable {
    /// The access key id.
    public let accessKey: String
    /// The secret key.
    public let secretKey: String

    /// A key pair (tests make wrong ones from a right one).
    public init(accessKey: String, secretKey: String) {
      self.accessKey = accessKey
      self.secretKey = secretKey
    }
  }

  /// May do everything.
  public static let admin = KeyPair(
    accessKey: "CKADMINEXAMPLEKEY01", secretKey: "ckAdminSecret/EXAMPLE+0123456789abcdef")
  /// May read and list, not write.
  public static let readOnly = KeyPair(
    accessKey: "CKREADEREXAMPLEKEY1", secretKey: "ckReaderSecret/EXAMPLE+0123456789abcd")

  /// `http://127.0.0.1:PORT`, the S3 gateway.
  public let endpoint: URL
  /// The temporary directory holding data, identities and logs (removed by `stop`).
  public let directory: URL
  /// The processes by name: `server`, or `master`, `volume0`, `volume1`, `filer`, `s3`.
  public var processNames: [String] { lock.withLock { launched.map(\.name) } }

  private let lock = NSLock()
  private var launched: [(name: String, process: Process)] = []
  private var stopped = false

  /// Starts a service and waits (up to `timeout` seconds per stage) until its S3 gateway
  /// answers and a volume accepts writes. Throws `SeaweedFSError` with the logs' tail on failure
  /// and when no `weed` binary is found.
  public init(topology: Topology = .single, timeout: Double = 60) throws {
    let weed = try SeaweedFSBinary.locate()
    directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("ckstore-weed-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let identities = directory.appendingPathComponent("identities.json")
    try Data(Self.identitiesJSON.utf8).write(to: identities)
    let ports = try FreePorts.take(topology == .single ? 8 : 12)
    endpoint = URL(string: "http://127.0.0.1:\(ports[0])")!
    let d = directory.path
    // Iceberg and Lance listen on fixed ports unless disabled; buckets are created on first
    // upload unless told not to, which would hide NoSuchBucket from the tests.
    let s3Flags = [
      "-port.iceberg=0", "-port.lance=0", "-autoCreateBucket=false", "-config=\(identities.path)",
    ]
    do {
      switch topology {
      case .single:
        try launch(
          weed, "server",
          [
            "server", "-dir=\(d)/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
            "-s3.port=\(ports[0])", "-s3.port.grpc=\(ports[1])", "-master.port=\(ports[2])",
            "-master.port.grpc=\(ports[3])", "-volume.port=\(ports[4])",
            "-volume.port.grpc=\(ports[5])", "-filer.port=\(ports[6])",
            "-filer.port.grpc=\(ports[7])", "-volume.max=0",
            "-master.volumeSizeLimitMB=\(Self.volumeSizeLimitMB)",
          ] + s3Flags.map { "-s3." + $0.dropFirst() }, makeDir: "data")
        try waitForWrites(master: ports[2], timeout: timeout)
      case .cluster:
        let master = "127.0.0.1:\(ports[2]).\(ports[3])"
        try launch(
          weed, "master",
          [
            "master", "-mdir=\(d)/master", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-port=\(ports[2])", "-port.grpc=\(ports[3])",
            "-volumeSizeLimitMB=\(Self.volumeSizeLimitMB)",
          ], makeDir: "master")
        try waitForHTTP(port: ports[2], path: "/cluster/status", name: "master", timeout: timeout)
        for i in 0..<2 {
          try launch(
            weed, "volume\(i)",
            [
              "volume", "-dir=\(d)/volume\(i)", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
              "-port=\(ports[4 + 2 * i])", "-port.grpc=\(ports[5 + 2 * i])", "-master=\(master)",
              "-max=0",
            ], makeDir: "volume\(i)")
        }
        try launch(
          weed, "filer",
          [
            "filer", "-defaultStoreDir=\(d)/filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-port=\(ports[8])", "-port.grpc=\(ports[9])", "-master=\(master)",
          ], makeDir: "filer")
        try waitForHTTP(port: ports[8], path: "/", name: "filer", timeout: timeout)
        try launch(
          weed, "s3",
          [
            "s3", "-ip.bind=127.0.0.1", "-port=\(ports[0])", "-port.grpc=\(ports[1])",
            "-filer=127.0.0.1:\(ports[8]).\(ports[9])",
          ] + s3Flags, makeDir: nil)
        try waitForWrites(master: ports[2], timeout: timeout)
      }
      try waitForHTTP(port: ports[0], path: "/", name: "s3", timeout: timeout)
    } catch {
      let logs = logTails()
      stop()
      throw SeaweedFSError(message: "\(error)\n\(logs)")
    }
  }

  deinit { stop() }

  /// Kills one process at once with SIGKILL (a crash, for fault tests) and waits for it.
  public func kill(_ name: String) {
    guard let process = lock.withLock({ launched.first { $0.name == name }?.process }) else {
      return
    }
    if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }

  /// Starts a killed process again, with the same arguments and log (fault tests re-run the
  /// failed work after it); for `s3` or `server`, waits until the gateway answers.
  public func restart(_ name: String, timeout: Double = 60) throws {
    kill(name)
    guard let index = lock.withLock({ launched.firstIndex { $0.name == name } }) else { return }
    let old = lock.withLock { launched[index].process }
    let process = Process()
    process.executableURL = old.executableURL
    process.arguments = old.arguments
    process.currentDirectoryURL = old.currentDirectoryURL
    // Process closes the log handle it was given once the child runs, so the log is reopened
    // (appending) rather than the old handle reused (EBADF).
    let handle = try FileHandle(forWritingTo: directory.appendingPathComponent("\(name).log"))
    handle.seekToEndOfFile()
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    lock.withLock { launched[index].process = process }
    if name == "s3" || name == "server", let port = endpoint.port {
      try waitForHTTP(port: port, path: "/", name: name, timeout: timeout)
    }
  }

  /// Stops every process (SIGTERM, then SIGKILL after 5 s), waits for them and removes the
  /// directory. Safe to call twice.
  public func stop() {
    let processes: [Process] = lock.withLock {
      if stopped { return [] }
      stopped = true
      return launched.reversed().map(\.process)
    }
    for p in processes where p.isRunning { p.terminate() }
    let deadline = Date().addingTimeInterval(5)
    for p in processes {
      while p.isRunning, Date() < deadline { usleep(50_000) }
      if p.isRunning { Glibc.kill(p.processIdentifier, SIGKILL) }
      p.waitUntilExit()
    }
    try? FileManager.default.removeItem(at: directory)
  }

  /// The last lines of every process's log, for failure messages.
  public func logTails(lines: Int = 30) -> String {
    lock.withLock { launched.map(\.name) }.map { name in
      let log = directory.appendingPathComponent("\(name).log")
      let text = (try? String(contentsOf: log, encoding: .utf8)) ?? "(no log)"
      let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
      return "--- \(name).log (last \(lines) lines) ---\n" + tail.joined(separator: "\n")
    }.joined(separator: "\n")
  }

  private func launch(_ weed: String, _ name: String, _ arguments: [String], makeDir: String?)
    throws
  {
    if let makeDir {
      try FileManager.default.createDirectory(
        at: directory.appendingPathComponent(makeDir), withIntermediateDirectories: true)
    }
    let log = directory.appendingPathComponent("\(name).log")
    guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
      throw SeaweedFSError(message: "cannot create \(log.path)")
    }
    let handle = try FileHandle(forWritingTo: log)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: weed)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // The child has its own copy of the descriptor.
    try? handle.close()
    lock.withLock { launched.append((name, process)) }
  }

  /// Polls until `path` on `port` gives any HTTP answer, failing early if a process died.
  private func waitForHTTP(port: Int, path: String, name: String, timeout: Double) throws {
    try poll(what: "\(name) on port \(port)", timeout: timeout) {
      LoopbackHTTP.get(port: port, path: path) != nil
    }
  }

  /// Polls the master's `/dir/assign` until it hands out a file id: then a volume is up and
  /// registered, so the first S3 write does not race volume growth.
  private func waitForWrites(master port: Int, timeout: Double) throws {
    try poll(what: "a writable volume (master port \(port))", timeout: timeout) {
      LoopbackHTTP.get(port: port, path: "/dir/assign")?.contains("\"fid\"") == true
    }
  }

  private func poll(what: String, timeout: Double, _ ready: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if ready() { return }
      if let dead = lock.withLock({ launched.first { !$0.process.isRunning } }) {
        throw SeaweedFSError(
          message: "weed \(dead.name) exited with status \(dead.process.terminationStatus) "
            + "while waiting for \(what)")
      }
      usleep(200_000)
    }
    throw SeaweedFSError(message: "timed out after \(Int(timeout)) s waiting for \(what)")
  }

  /// Every bucket is a SeaweedFS collection with volumes of its own, so the default 8 volumes
  /// of 30 GiB run out after a few buckets: volumes are made small and their count left to free
  /// disk space (`-volume.max=0`).
  static let volumeSizeLimitMB = 256

  private static let identitiesJSON = """
    {"identities": [
      {"name": "admin", "credentials": [{"accessKey": "\(admin.accessKey)",
        "secretKey": "\(admin.secretKey)"}],
       "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
      {"name": "reader", "credentials": [{"accessKey": "\(readOnly.accessKey)",
        "secretKey": "\(readOnly.secretKey)"}],
       "actions": ["Read", "List"]}
    ]}
    """
}

/// Why a SeaweedFS service could not be found or started (with its logs' tail).
public struct SeaweedFSError: Error, CustomStringConvertible {
  /// What went wrong, for the test log.
  public let message: String
  /// The message.
  public var description: String { message }
}
