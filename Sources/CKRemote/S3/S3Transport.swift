import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

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

/// Sends signed requests over one shared `URLSession` (keep-alive, a connection pool as wide as
/// the concurrency), synchronously: each call blocks its thread on a semaphore, so callers get
/// many requests in flight by calling from many threads. Retries 5xx, 429 and connection errors.
final class S3Transport: Sendable {
  let configuration: S3Configuration
  let bucket: String
  let options: S3ClientOptions
  let displayName: String
  private let session: URLSession
  private let signer: SigV4Signer

  init(
    configuration: S3Configuration, bucket: String, options: S3ClientOptions, displayName: String
  ) {
    self.configuration = configuration
    self.bucket = bucket
    self.options = options
    self.displayName = displayName
    self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
    let config = URLSessionConfiguration.ephemeral
    config.httpMaximumConnectionsPerHost = options.concurrency
    config.timeoutIntervalForRequest = options.requestTimeout
    config.urlCache = nil
    config.httpCookieStorage = nil
    self.session = URLSession(configuration: config)
  }

  deinit { session.finishTasksAndInvalidate() }

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
    guard let url = URL(string: urlString) else {
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
      var urlRequest = URLRequest(url: url, timeoutInterval: options.requestTimeout)
      urlRequest.httpMethod = request.method
      for (name, value) in headers where name != "host" {
        urlRequest.setValue(value, forHTTPHeaderField: name)
      }
      switch perform(urlRequest, body: request.body) {
      case .success(let response):
        if response.status >= 500 || response.status == 429, attempt + 1 < options.retry.maxAttempts
        {
          continue
        }
        return response
      case .failure(let error):
        lastError = error.localizedDescription
      }
    }
    throw RemoteError(
      .unreachable,
      "cannot reach \(displayName) at \(configuration.endpoint.absoluteString) after "
        + "\(options.retry.maxAttempts) attempts (\(lastError))")
  }

  /// One HTTP exchange, blocking until it ends.
  private func perform(_ request: URLRequest, body: Data?) -> Result<S3Response, Error> {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox()
    let handler: @Sendable (Data?, URLResponse?, Error?) -> Void = { data, response, error in
      if let http = response as? HTTPURLResponse, error == nil {
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
          if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
        }
        box.result = .success(
          S3Response(status: http.statusCode, headers: headers, body: data ?? Data()))
      } else {
        box.result = .failure(error ?? URLError(.badServerResponse))
      }
      done.signal()
    }
    let task =
      body.map { session.uploadTask(with: request, from: $0, completionHandler: handler) }
      ?? session.dataTask(with: request, completionHandler: handler)
    task.resume()
    done.wait()
    return box.result!
  }
}

/// The completion handler's result, handed to the waiting thread (the semaphore orders the
/// write before the read).
private final class ResultBox: @unchecked Sendable {
  var result: Result<S3Response, Error>?
}
