import CKStore
import Foundation

extension RemoteStore {
  /// Connects to the remote a store records as `name`: parses its `s3://BUCKET/PREFIX` URL and
  /// finds credentials, region and endpoint the AWS way (`S3Configuration.resolve`); the
  /// recorded endpoint and addressing style win over the environment's.
  public static func connect(
    name: String, _ remote: RemoteConfiguration,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> RemoteStore {
    let url = try S3URL(remote.url)
    var s3 = try S3Configuration.resolve(endpoint: remote.endpoint, environment: environment)
    if let pathStyle = remote.pathStyle { s3.addressing = pathStyle ? .path : .virtualHosted }
    let bucket = S3Bucket(name: url.bucket, configuration: s3, displayName: url.description)
    return RemoteStore(name: name, bucket: bucket, prefix: url.prefix)
  }

  /// Checks that `url` is a well-formed `s3://BUCKET/PREFIX` (no request is made).
  public static func validate(url: String) throws { _ = try S3URL(url) }
}
