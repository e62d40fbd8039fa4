import Foundation

/// What a remote holds under one key, as a HEAD or a listing reports it.
public struct BucketObject: Equatable, Sendable {
  /// The key, relative to the bucket (prefix included).
  public var key: String
  /// The object's size in bytes.
  public var size: Int
  /// The entity tag as the server sent it, quotes included: the token for `If-Match`.
  public var etag: String
  /// When the server last wrote the object.
  public var lastModified: Date

  /// Creates a description of a stored object.
  public init(key: String, size: Int, etag: String, lastModified: Date) {
    self.key = key
    self.size = size
    self.etag = etag
    self.lastModified = lastModified
  }
}

/// The condition a write is made under: how a remote keeps immutable objects immutable and moves
/// refs by compare-and-swap without any lock of its own.
public enum WriteCondition: Equatable, Sendable {
  /// Write whatever is there (used only by `push --force` and by lease bookkeeping).
  case none
  /// `If-None-Match: *`: write only if the key does not exist.
  case absent
  /// `If-Match: ETAG`: write only if the key holds exactly this version.
  case matches(etag: String)
}

/// The outcome of a conditional write.
public enum WriteOutcome: Equatable, Sendable {
  /// The object was written; the new entity tag.
  case written(etag: String)
  /// The condition failed (HTTP 412 or 409): nothing was written.
  case conditionFailed
}

/// A flat key space of immutable-or-compare-and-swapped objects: the one thing a ckstore remote
/// needs from an object store. `S3Bucket` implements it over the S3 API; the push, fetch and gc
/// logic is written against this protocol only.
///
/// Every method is synchronous and thread-safe: callers run many requests in flight by calling
/// from many threads. Errors are `RemoteError` values; none of them ever carries a secret.
public protocol ObjectBucket: Sendable {
  /// A name for the remote in messages, such as `s3://bucket/prefix` (never credentials).
  var displayName: String { get }
  /// The object's bytes, or nil when the key does not exist.
  func get(_ key: String) throws -> Data?
  /// `length` bytes from `offset` (fewer at the end of the object), or nil when the key does not
  /// exist.
  func get(_ key: String, offset: Int, length: Int) throws -> Data?
  /// The object's size, entity tag and time, or nil when the key does not exist.
  func head(_ key: String) throws -> BucketObject?
  /// Writes `body` under `key` if `condition` holds.
  func put(_ key: String, body: Data, condition: WriteCondition) throws -> WriteOutcome
  /// Writes the file at `path` under `key` (multipart above the client's threshold), if
  /// `condition` holds.
  func put(_ key: String, file path: String, condition: WriteCondition) throws -> WriteOutcome
  /// Deletes `key`; deleting a key that does not exist succeeds.
  func delete(_ key: String) throws
  /// Every key that starts with `prefix`, in key order, following pagination to the end.
  func list(prefix: String) throws -> [BucketObject]
}
