import CKRemote
import CKTestSupport
import Foundation

/// Clients for a test SeaweedFS: a fresh bucket per test, credentials from the identities file.
enum S3Test {
  /// A bucket name no other test uses.
  static func uniqueBucketName() -> String {
    "t-" + UUID().uuidString.lowercased().prefix(18)
  }

  /// A client for `bucket` (created first unless `create` is false) on `server`.
  static func bucket(
    on server: SeaweedFS, name: String = uniqueBucketName(),
    keys: SeaweedFS.KeyPair = SeaweedFS.admin,
    options: S3ClientOptions = S3ClientOptions(), create: Bool = true
  ) throws -> S3Bucket {
    let configuration = S3Configuration(
      endpoint: server.endpoint, region: "us-east-1",
      credentials: S3Credentials(accessKeyID: keys.accessKey, secretAccessKey: keys.secretKey))
    let bucket = S3Bucket(name: name, configuration: configuration, options: options)
    if create { try bucket.createBucket() }
    return bucket
  }

  /// `count` deterministic pseudo-random bytes.
  static func bytes(_ count: Int, seed: UInt64 = 1) -> Data {
    Data(RemoteTest.bytes(count, seed: seed))
  }
}
