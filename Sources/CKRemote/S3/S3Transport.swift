import Foundation

/// One S3 request before signing: the bucket-relative key (nil for the bucket itself), query,
/// extra headers and body.
struct S3Request {
  var method: String
  var key: String?
  var query: [(String, String)] = []
  var headers: [String: String] = [:]
  var body: Data?
}

/// What the server answered: status, headers (names lowercase) and body.
struct S3Response {
  var status: Int
  var headers: [String: String]
  var body: Data
}

/// Sends signed requests over libcurl (`CurlExchange`: reused easy handles, so connections stay
/// alive), synchronously: each call blocks its thread, so callers get many requests in flight by
/// calling from many threads. Retries 5xx, 429 and connection errors.
final class S3Transport: Sendable {
  let configuration: S3Configuration
  let bucket: String
  let options: S3ClientOptions
  let displayName: String
  private let exchange: CurlExchange
  private let signer: SigV4Signer

  init(
    configuration: S3Configuration, bucket: String, options: S3ClientOptions, displayName: String
  ) {
    self.configuration = configuration
    self.bucket = bucket
    self.options = options
    self.displayName = displayName
    self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
    self.exchange = CurlExchange(timeout: options.requestTimeout)
  }

  /// The URL's host (with port) and encoded path for `key` under the configured addressing.
  func location(key: String?) -> (scheme: String, host: String, path: String) {
    let endpoint = configuration.endpoint
    let scheme = endpoint.scheme!.lowercased()
    var host = endpoint.host!
    if let port = endpoint.port { host += ":\(port)" }
    let base = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
    let encodedKey = key.map { "/" + S3Encoding.encode($0, keepSlash: true) } ?? ""
    switch configuration.addressing {
    case .path:
      let path = base + "/" + S3Encoding.encode(bucket, keepSlash: false) + encodedKey
      return (scheme, host, path)
    case .virtualHosted:
      return (scheme, bucket + "." + host, base + (encodedKey.isEmpty ? "/" : encodedKey))
    }
  }

  /// Sends `request`, retrying per the policy; returns the first non-retryable answer, or the
  /// last retryable one when attempts run out. Throws `.unreachable` when no attempt got an
  /// answer.
  func send(_ request: S3Request) throws -> S3Response {
    let (scheme, host, path) = location(key: request.key)
    let query = SigV4Signer.canonicalQuery(request.query)
    let urlString = "\(scheme)://\(host)\(path)" + (query.isEmpty ? "" : "?" + query)
    guard URL(string: urlString) != nil else {
      throw RemoteError(.invalidRemote, "cannot form a URL for key '\(request.key ?? "")'")
    }
    let payloadHash =
      request.body.map { S3Crypto.hex(S3Crypto.sha256($0)) } ?? S3Crypto.emptyPayloadHash
    var lastError = ""
    for attempt in 0..<options.retry.maxAttempts {
      if attempt > 0 {
        Thread.sleep(forTimeInterval: options.retry.delay(beforeRetry: attempt - 1))
      }
      var headers = request.headers
      headers["host"] = host
      signer.sign(
        method: request.method, canonicalURI: path, query: request.query, headers: &headers,
        payloadHash: payloadHash, date: Date())
      switch exchange.perform(
        method: request.method, url: urlString, headers: headers, body: request.body)
      {
      case .success(let response):
        if response.status >= 500 || response.status == 429, attempt + 1 < options.retry.maxAttempts
        {
          continue
        }
        return response
      case .failure(let error):
        lastError = error.description
      }
    }
    throw RemoteError(
      .unreachable,
      "cannot reach \(displayName) at \(configuration.endpoint.absoluteString) after "
        + "\(options.retry.maxAttempts) attempts (\(lastError))")
  }
}
