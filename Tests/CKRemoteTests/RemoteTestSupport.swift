import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

/// Stores, remotes and child processes for the remote tests; every remote is a fresh bucket on
/// a real SeaweedFS (`SeaweedFS.shared()` unless a test needs one of its own to kill).
enum RemoteTest {
  /// A folder of its own under the temporary directory, removed by the test's teardown.
  static func folder(_ test: XCTestCase) -> String {
    let path = NSTemporaryDirectory() + "ckremote-" + UUID().uuidString.lowercased().prefix(12)
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
  }

  /// A new bucket on `server`. SeaweedFS gives every bucket volumes of its own and runs out of
  /// volume slots after a few, so tests share one bucket per server and isolate by prefix.
  static func bucket(on server: SeaweedFS, name: String? = nil) throws -> S3Bucket {
    let name = name ?? "t-" + UUID().uuidString.lowercased().prefix(18)
    let configuration = S3Configuration(
      endpoint: server.endpoint, region: "us-east-1",
      credentials: S3Credentials(
        accessKeyID: SeaweedFS.admin.accessKey, secretAccessKey: SeaweedFS.admin.secretKey),
      addressing: .path)
    let bucket = S3Bucket(name: name, configuration: configuration, displayName: "s3://\(name)")
    try bucket.createBucket()
    return bucket
  }

  private static let sharedLock = NSLock()
  nonisolated(unsafe) private static var shared: [ObjectIdentifier: S3Bucket] = [:]

  /// The bucket the tests on `server` share, created on first use.
  static func sharedBucket(on server: SeaweedFS) throws -> S3Bucket {
    try sharedLock.withLock {
      if let b = shared[ObjectIdentifier(server)] { return b }
      let b = try bucket(on: server)
      shared[ObjectIdentifier(server)] = b
      return b
    }
  }

  /// A remote handle under a fresh prefix of the shared bucket, and its `s3://` URL.
  static func remote(on server: SeaweedFS, name: String = "origin") throws -> (
    remote: RemoteStore, url: String
  ) {
    let bucket = try sharedBucket(on: server)
    let prefix = "runs/" + UUID().uuidString.lowercased().prefix(12)
    return (
      RemoteStore(name: name, bucket: bucket, prefix: prefix), "s3://\(bucket.name)/\(prefix)"
    )
  }

  /// A second handle on the same remote, with its own request counts.
  static func reconnect(_ remote: RemoteStore) -> RemoteStore {
    RemoteStore(name: remote.name, bucket: remote.bucket, prefix: remote.prefix)
  }

  /// Four ranks' local stores under `dir` (`rank0` … `rank3`), each with `origin` set to the
  /// remote at `url`, as ranks on separate machines have.
  static func rankStores(_ dir: String, url: String, env: [String: String]) throws -> [String] {
    try (0..<4).map { i in
      let path = dir + "/rank\(i)"
      _ = try Store.create(at: path)
      let add = try ckstore(
        ["remote", "add", "origin", url, "--path-style", "--store", path], environment: env)
      XCTAssertEqual(add.status, 0, add.err)
      return path
    }
  }

  /// The commit the remote's `branch` names, read straight from the bucket; nil when absent.
  static func head(_ remote: RemoteStore, branch: String = "main") throws -> ObjectID? {
    try remote.bucket.get(remote.prefix + "refs/heads/" + branch).flatMap {
      ObjectID(hex: String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .newlines))
    }
  }

  /// The environment a child `ckstore` needs to reach `server` as the admin.
  static func environment(_ server: SeaweedFS, secret: String = SeaweedFS.admin.secretKey)
    -> [String: String]
  {
    CkstoreBinary.environment(adding: [
      "AWS_ACCESS_KEY_ID": SeaweedFS.admin.accessKey, "AWS_SECRET_ACCESS_KEY": secret,
      "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": server.endpoint.absoluteString,
      "AWS_PROFILE": "", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
      "AWS_CONFIG_FILE": "/nonexistent",
    ])
  }

  /// `count` deterministic pseudo-random bytes.
  static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      out[i] = UInt8(truncatingIfNeeded: state)
    }
    return out
  }

  /// Tensors of a model: `big` (4 MiB, 4 chunks of 1 MiB), `small` and `nested/bias`, each from
  /// its own seed so that a test changes one of them at will.
  static func tensors(big: UInt64, small: UInt64, bias: UInt64 = 7) throws -> [TensorData] {
    [
      try TensorData(
        name: "big", dtype: .float32, shape: [1024, 1024], bytes: bytes(4 << 20, seed: big)),
      try TensorData(name: "small", dtype: .float32, shape: [256], bytes: bytes(1024, seed: small)),
      try TensorData(
        name: "nested/bias", dtype: .float32, shape: [64], bytes: bytes(256, seed: bias)),
    ]
  }

  /// Every tensor's bytes of a commit, by name.
  static func contents(_ store: Store, _ commit: Commit) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for info in try store.tensors(in: commit) { out[info.name] = try store.read(info) }
    return out
  }

  /// Runs the built `ckstore` with `arguments`; returns exit status, stdout and stderr.
  @discardableResult
  static func ckstore(_ arguments: [String], environment: [String: String]) throws -> (
    status: Int32, out: String, err: String
  ) {
    let process = Process()
    process.executableURL = CkstoreBinary.url
    process.arguments = arguments
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
      process.terminationStatus, String(decoding: outData, as: UTF8.self),
      String(decoding: errData, as: UTF8.self)
    )
  }
}
