import Foundation

extension S3Bucket {
  /// The `<Code>` of an S3 error body, if it has one.
  static func errorCode(_ response: S3Response) -> String? {
    guard !response.body.isEmpty, let root = S3XMLElement.parse(response.body),
      root.name == "Error"
    else { return nil }
    return root.text("Code")
  }

  /// Whether a 404 means the key is missing (true) rather than the bucket (throws).
  func isMissingKey(_ response: S3Response, key: String, _ action: String) throws -> Bool {
    if Self.errorCode(response) == "NoSuchBucket" {
      throw failure(response, key: key, action)
    }
    return true
  }

  /// The `RemoteError` for an answer the caller cannot use. Only the server's error code is
  /// quoted, never its message: some servers echo the access key id or string to sign there.
  func failure(_ response: S3Response, key: String?, _ action: String) -> RemoteError {
    let code = Self.errorCode(response)
    let what = key.map { "\(action) '\($0)'" } ?? action
    let detail = "HTTP \(response.status)" + (code.map { ", \($0)" } ?? "")
    if response.status == 403 || code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" {
      return RemoteError(
        .accessDenied,
        "\(displayName) refused the access key or its signature while \(what) (\(detail)); "
          + "check the AWS credentials and region in use")
    }
    if code == "NoSuchBucket" {
      return RemoteError(
        .noSuchBucket,
        "bucket '\(name)' does not exist at \(configuration.endpoint.absoluteString) "
          + "(\(displayName), while \(what))")
    }
    return RemoteError(.serverError, "\(displayName) failed \(what) (\(detail))")
  }
}
