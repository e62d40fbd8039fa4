import ArgumentParser
import CKRemote
import CKTestSupport
import Foundation

/// `ckbench remote`: the S3 client's upload and download rates against a SeaweedFS of its own on
/// loopback, for the same bytes as large and as small objects at the same concurrency (issue 9's
/// push baseline: a push is measured against the 64 MiB-object upload).
struct RemoteBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "remote",
    abstract: "S3 client MB/s: PUT and GET of the same bytes as 64 MiB and as 1 MiB objects.",
    discussion: """
      Starts `weed server` (CKSTORE_WEED, .venv-test/bin/weed or PATH) on free loopback ports \
      with authentication on, uploads --gib of random bytes as objects of each size from \
      --concurrency threads sharing one client, then reads them back; each figure is the median \
      of --repeats runs. The first size is also sent and fetched by curl(1) processes \
      (--aws-sigv4, the same libcurl the S3 client drives) as the HTTP stack's baseline. \
      The server runs on the same machine and shares its cores with the client.
      """)

  @Option(help: "GiB of data per figure.") var gib = 1.0
  @Option(help: "Requests in flight (threads and keep-alive connections).") var concurrency = 8
  @Option(help: "Repetitions per figure (the median is reported).") var repeats = 3
  @Option(help: "Object sizes in MiB (repeatable; the first is the baseline).")
  var objectMib: [Int] = [64, 1]
  @Flag(help: "Skip the curl(1) baseline for the first object size.") var noCurl = false
  @Flag(help: "Print JSON instead of a table.") var json = false

  func run() throws {
    let server = try SeaweedFS()
    defer { server.stop() }
    let bucket = try RemoteBench.bucket("bench", on: server, concurrency: concurrency)
    let total = Int(gib * Double(1 << 30))
    let data = RemoteData.random(count: total)
    var report = BenchReport(machine: BenchReport.machine() + " (shared; server on loopback)")
    var baseline: (put: Double, get: Double, label: String)?
    let curl = noCurl ? nil : RemoteCurlBaseline.curl()
    for (n, mib) in objectMib.enumerated() {
      let size = mib << 20
      let count = (total + size - 1) / size
      var putTimes: [Double] = []
      var getTimes: [Double] = []
      var curlTimes: [(put: Double, get: Double)] = []
      for r in 0..<repeats {
        if n == 0, let curl {
          let baseline = RemoteCurlBaseline(
            server: server, bucket: bucket.name, concurrency: concurrency)
          Timing.settle()
          curlTimes.append(
            try baseline.measure(curl: curl, body: Data(data.prefix(size)), count: count, round: r))
          try RemoteParallel.run(count, workers: concurrency) { i in
            try bucket.delete("curl\(r)/\(i)")
          }
        }
        let keys = (0..<count).map { "r\(r)/\(mib)MiB/\($0)" }
        Timing.settle()
        putTimes.append(
          try timedParallel(count) { i in
            let body = data[(i * size)..<min(total, (i + 1) * size)]
            _ = try bucket.put(keys[i], body: Data(body), condition: .none)
          })
        getTimes.append(
          try timedParallel(count) { i in
            guard let got = try bucket.get(keys[i]), got.count == min(size, total - i * size)
            else { throw BenchFailure("\(keys[i]) read back short") }
          })
        try RemoteParallel.run(count, workers: concurrency) { i in try bucket.delete(keys[i]) }
      }
      let mb = Double(total) / 1e6
      let put = mb / Timing.medianOf(putTimes)
      let get = mb / Timing.medianOf(getTimes)
      let label = "\(count) × \(mib) MiB"
      if !curlTimes.isEmpty {
        baseline = (
          mb / Timing.medianOf(curlTimes.map(\.put)), mb / Timing.medianOf(curlTimes.map(\.get)),
          "curl(1) \(count) × \(mib) MiB"
        )
      }
      report.add(
        "S3 PUT, \(concurrency) in flight", label, put, "MB/s", baseline: baseline?.label,
        baseline?.put)
      report.add(
        "S3 GET, \(concurrency) in flight", label, get, "MB/s", baseline: baseline?.label,
        baseline?.get)
      if n == 0 { baseline = (put, get, label) }
    }
    if let baseline {
      try RemoteSyncFigures(concurrency: concurrency, repeats: repeats, gib: gib).run(
        server: server, into: &report, baseline: (baseline.label, baseline.put))
    }
    report.rows.sort { $0.section < $1.section }
    if json { try report.printJSON() } else { report.printTable() }
  }

  private func timedParallel(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void)
    throws -> Double
  {
    let start = Timing.now()
    try RemoteParallel.run(count, workers: concurrency, body)
    return Timing.now() - start
  }
}

/// Runs `body(0..<count)` from `workers` threads of their own (they block on the network, so
/// not capped at the core count) and rethrows the first error.
enum RemoteParallel {
  static func run(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) throws -> Void)
    throws
  {
    let state = Mutex()
    let group = DispatchGroup()
    for _ in 0..<min(workers, count) {
      group.enter()
      Thread {
        while let i = state.take(below: count) {
          do { try body(i) } catch { state.fail(error) }
        }
        group.leave()
      }.start()
    }
    group.wait()
    if let error = state.error { throw error }
  }

  private final class Mutex: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private(set) var error: Error?

    func take(below count: Int) -> Int? {
      lock.withLock {
        guard error == nil, next < count else { return nil }
        defer { next += 1 }
        return next
      }
    }

    func fail(_ e: Error) { lock.withLock { if error == nil { error = e } } }
  }
}

/// Incompressible bench bytes (xorshift), so no layer can shortcut them.
enum RemoteData {
  static func random(count: Int) -> Data {
    var out = Data(count: count)
    out.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
      let words = raw.bindMemory(to: UInt64.self)
      var s: UInt64 = 0x9E37_79B9_7F4A_7C15
      for i in 0..<words.count {
        s ^= s << 13
        s ^= s >> 7
        s ^= s << 17
        words[i] = s
      }
    }
    return out
  }
}

extension RemoteBench {
  /// A new bucket on `server`, reached as its admin with `concurrency` requests in flight.
  static func bucket(_ name: String, on server: SeaweedFS, concurrency: Int) throws -> S3Bucket {
    let configuration = S3Configuration(
      endpoint: server.endpoint, region: "us-east-1",
      credentials: S3Credentials(
        accessKeyID: SeaweedFS.admin.accessKey, secretAccessKey: SeaweedFS.admin.secretKey))
    let bucket = S3Bucket(
      name: name, configuration: configuration, options: S3ClientOptions(concurrency: concurrency))
    try bucket.createBucket()
    return bucket
  }
}
