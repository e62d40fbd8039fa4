import Foundation

/// When and how long to wait before retrying a request that failed in a way that may pass:
/// HTTP 5xx, 429 or a connection error. Capped exponential backoff with full jitter (the delay
/// before retry `n` is uniform in `0...min(maxDelay, baseDelay * 2^n)`), as AWS's SDKs do.
public struct S3RetryPolicy: Sendable, Equatable {
  /// Attempts in all, the first included (at least 1).
  public var maxAttempts: Int
  /// The backoff's scale, in seconds.
  public var baseDelay: Double
  /// The longest wait between two attempts, in seconds.
  public var maxDelay: Double

  /// A policy; the defaults give up after about 3 s of waiting in the worst case.
  public init(maxAttempts: Int = 5, baseDelay: Double = 0.2, maxDelay: Double = 5) {
    self.maxAttempts = max(1, maxAttempts)
    self.baseDelay = baseDelay
    self.maxDelay = maxDelay
  }

  /// The wait before retry number `retry` (0 for the first retry).
  func delay(beforeRetry retry: Int) -> Double {
    let ceiling = min(maxDelay, baseDelay * pow(2, Double(min(retry, 30))))
    return ceiling > 0 ? Double.random(in: 0...ceiling) : 0
  }
}

/// The client's tuning: concurrency, multipart, retries, timeouts, page size.
public struct S3ClientOptions: Sendable, Equatable {
  /// Requests in flight at most (keep-alive connections per host); callers bring the threads.
  public var concurrency: Int
  /// Files larger than this go up as a multipart upload.
  public var multipartThreshold: Int
  /// The size of each part but the last: at least 5 MiB, S3's minimum (SeaweedFS enforces it
  /// too, with EntityTooSmall), and grown when a file would need over 10,000 parts.
  public var partSize: Int
  /// Parts of one multipart upload in flight at once.
  public var partsInFlight: Int
  /// Seconds a request may sit idle (no bytes either way) before it fails and is retried.
  public var requestTimeout: Double
  /// Retries of failed requests.
  public var retry: S3RetryPolicy
  /// Keys per ListObjectsV2 page (S3 caps it at 1000).
  public var listPageSize: Int

  /// S3's smallest part but the last.
  public static let minimumPartSize = 5 << 20

  /// Options; the defaults suit checkpoints on a fast link.
  public init(
    concurrency: Int = 8, multipartThreshold: Int = 64 << 20, partSize: Int = 16 << 20,
    partsInFlight: Int = 4, requestTimeout: Double = 60, retry: S3RetryPolicy = S3RetryPolicy(),
    listPageSize: Int = 1000
  ) {
    self.concurrency = max(1, concurrency)
    self.multipartThreshold = multipartThreshold
    self.partSize = max(Self.minimumPartSize, partSize)
    self.partsInFlight = max(1, partsInFlight)
    self.requestTimeout = requestTimeout
    self.retry = retry
    self.listPageSize = min(1000, max(1, listPageSize))
  }
}
