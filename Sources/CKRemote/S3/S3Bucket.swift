import Foundation

/// An `ObjectBucket` over the S3 API: one bucket at one endpoint, keys taken as full keys within
/// the bucket (the caller adds the remote's prefix).
///
/// Thread-safe and synchronous; requests share one keep-alive connection pool as wide as
/// `options.concurrency`. Errors are `RemoteError` values that never hold a credential.
public final class S3Bucket: ObjectBucket, CustomStringConvertible {
  /// The bucket's name.
  public let name: String
  /// The endpoint, region, credentials and addressing in use.
  public let configuration: S3Configuration
  /// The client's tuning.
  public let options: S3ClientOptions
  /// The remote in messages (`s3://BUCKET` unless the caller named it).
  public let displayName: String
  let transport: S3Transport

  /// A client for bucket `name`; `displayName` defaults to `s3://NAME`.
  public init(
    name: String, configuration: S3Configuration, options: S3ClientOptions = S3ClientOptions(),
    displayName: String? = nil
  ) {
    self.name = name
    self.configuration = configuration
    self.options = options
    self.displayName = displayName ?? "s3://\(name)"
    self.transport = S3Transport(
      configuration: configuration, bucket: name, options: options,
      displayName: self.displayName)
  }

  /// The remote's name and endpoint; never credentials.
  public var description: String {
    "S3Bucket(\(displayName) at \(configuration.endpoint.absoluteString))"
  }

  /// Reads the whole object.
  public func get(_ key: String) throws -> Data? {
    let response = try transport.send(S3Request(method: "GET", key: key))
    if response.status == 200 { return response.body }
    if response.status == 404, try isMissingKey(response, key: key, "reading") { return nil }
    throw failure(response, key: key, "reading")
  }

  /// Reads `length` bytes from `offset` with a `Range` header.
  public func get(_ key: String, offset: Int, length: Int) throws -> Data? {
    guard offset >= 0, length > 0 else { return try head(key).map { _ in Data() } }
    let range = "bytes=\(offset)-\(offset + length - 1)"
    let response = try transport.send(S3Request(method: "GET", key: key, headers: ["range": range]))
    switch response.status {
    case 206: return response.body
    // A server that ignores Range sends everything; cut the piece out.
    case 200: return response.body.count > offset ? response.body[offset...].prefix(length) : Data()
    // Past the end: the object exists and has no bytes there.
    case 416: return Data()
    case 404 where try isMissingKey(response, key: key, "reading"): return nil
    default: throw failure(response, key: key, "reading")
    }
  }

  /// Size, entity tag and time from a HEAD. A HEAD answer has no body, so a missing bucket also
  /// reads as a missing key here.
  public func head(_ key: String) throws -> BucketObject? {
    let response = try transport.send(S3Request(method: "HEAD", key: key))
    if response.status == 404 { return nil }
    guard response.status == 200 else { throw failure(response, key: key, "inspecting") }
    return BucketObject(
      key: key, size: Int(response.headers["content-length"] ?? "") ?? 0,
      etag: response.headers["etag"] ?? "",
      lastModified: response.headers["last-modified"].flatMap(S3Dates.rfc1123)
        ?? Date(
          timeIntervalSince1970: 0))
  }

  /// A single PUT with the condition's header; 412 and 409 mean the condition failed.
  public func put(_ key: String, body: Data, condition: WriteCondition) throws -> WriteOutcome {
    var headers = ["content-type": "application/octet-stream"]
    Self.addCondition(condition, to: &headers)
    let response = try transport.send(
      S3Request(method: "PUT", key: key, headers: headers, body: body))
    return try outcome(of: response, key: key)
  }

  /// Writes a file: one PUT up to `options.multipartThreshold`, a multipart upload above it.
  public func put(_ key: String, file path: String, condition: WriteCondition) throws
    -> WriteOutcome
  {
    let size: Int
    do {
      size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    } catch {
      throw RemoteError(.serverError, "cannot read \(path) to upload it as '\(key)': \(error)")
    }
    if size > options.multipartThreshold {
      return try putMultipart(key, file: path, size: size, condition: condition)
    }
    guard let body = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    else { throw RemoteError(.serverError, "cannot read \(path) to upload it as '\(key)'") }
    return try put(key, body: body, condition: condition)
  }

  /// Deletes `key`; a key that is not there is not an error.
  public func delete(_ key: String) throws {
    let response = try transport.send(S3Request(method: "DELETE", key: key))
    if response.status == 204 || response.status == 200 { return }
    if response.status == 404, try isMissingKey(response, key: key, "deleting") { return }
    throw failure(response, key: key, "deleting")
  }

  /// Creates the bucket (with the region's location constraint outside us-east-1). A bucket
  /// this account already owns is not an error.
  public func createBucket() throws {
    var body: Data?
    if configuration.region != "us-east-1" {
      body = Data(
        ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          + "<LocationConstraint>\(configuration.region)</LocationConstraint>"
          + "</CreateBucketConfiguration>").utf8)
    }
    let response = try transport.send(S3Request(method: "PUT", key: nil, body: body))
    if response.status == 200 { return }
    if Self.errorCode(response) == "BucketAlreadyOwnedByYou" { return }
    throw failure(response, key: nil, "creating the bucket")
  }

  static func addCondition(_ condition: WriteCondition, to headers: inout [String: String]) {
    switch condition {
    case .none: break
    case .absent: headers["if-none-match"] = "*"
    case .matches(let etag): headers["if-match"] = etag
    }
  }

  /// The outcome of a conditional write's answer.
  func outcome(of response: S3Response, key: String) throws -> WriteOutcome {
    switch response.status {
    case 200: return .written(etag: response.headers["etag"] ?? "")
    case 412, 409: return .conditionFailed
    default: throw failure(response, key: key, "writing")
    }
  }
}
