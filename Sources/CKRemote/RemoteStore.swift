import CKStore
import Foundation

/// Requests and bytes one remote handle has moved, for reports, progress and tests (the
/// incremental-push test counts the requests).
public final class TransferStats: @unchecked Sendable {
  private let lock = NSLock()
  private var counts: [String: Int] = [:]
  private var sent = 0
  private var received = 0
  private var written: [String] = []
  private var listed: [String] = []

  /// Requests by method (`GET`, `HEAD`, `PUT`, `DELETE`, `LIST`).
  public var requests: [String: Int] { lock.withLock { counts } }
  /// Every request made.
  public var totalRequests: Int { lock.withLock { counts.values.reduce(0, +) } }
  /// Body bytes uploaded.
  public var bytesSent: Int { lock.withLock { sent } }
  /// Body bytes downloaded.
  public var bytesReceived: Int { lock.withLock { received } }
  /// The keys written (PUT), relative to the remote's prefix, in order.
  public var keysWritten: [String] { lock.withLock { written } }
  /// The prefixes listed, relative to the remote's prefix, in order.
  public var prefixesListed: [String] { lock.withLock { listed } }

  func recordKey(written key: String) { lock.withLock { written.append(key) } }
  func recordKey(listed key: String) { lock.withLock { listed.append(key) } }

  func record(_ method: String, sent s: Int = 0, received r: Int = 0) {
    lock.withLock {
      counts[method, default: 0] += 1
      sent += s
      received += r
    }
  }
}

/// A ckstore store laid out under a bucket prefix (docs/FORMAT.md, "Remotes"): the keys, and
/// every request made through one place so that they are counted and their errors name the
/// remote.
public final class RemoteStore: @unchecked Sendable {
  /// The remote's name in this store (`origin`), for messages.
  public let name: String
  /// The bucket, prefix included in its display name.
  public let bucket: ObjectBucket
  /// The key prefix, empty or ending in `/`.
  public let prefix: String
  /// What this handle has moved so far.
  public let stats = TransferStats()

  /// A remote under `prefix` (with or without a trailing `/`) in `bucket`.
  public init(name: String, bucket: ObjectBucket, prefix: String) {
    self.name = name
    self.bucket = bucket
    let trimmed = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    self.prefix = trimmed.isEmpty ? "" : trimmed + "/"
  }

  /// `remote 'origin' (s3://bucket/prefix)`, for messages.
  public var label: String { "remote '\(name)' (\(bucket.displayName))" }

  static func objectKey(_ id: ObjectID) -> String {
    let hex = id.hex
    return "objects/\(hex.prefix(2))/\(hex.dropFirst(2))"
  }

  // MARK: Counted requests (keys relative to the prefix)

  func get(_ key: String) throws -> Data? {
    let data = try bucket.get(prefix + key)
    stats.record("GET", received: data?.count ?? 0)
    return data
  }

  func head(_ key: String) throws -> BucketObject? {
    let object = try bucket.head(prefix + key)
    stats.record("HEAD")
    return object
  }

  func put(_ key: String, _ body: Data, _ condition: WriteCondition) throws -> WriteOutcome {
    let outcome = try bucket.put(prefix + key, body: body, condition: condition)
    stats.record("PUT", sent: body.count)
    stats.recordKey(written: key)
    return outcome
  }

  func put(_ key: String, file: String, size: Int, _ condition: WriteCondition) throws
    -> WriteOutcome
  {
    let outcome = try bucket.put(prefix + key, file: file, condition: condition)
    stats.record("PUT", sent: size)
    stats.recordKey(written: key)
    return outcome
  }

  func delete(_ key: String) throws {
    try bucket.delete(prefix + key)
    stats.record("DELETE")
  }

  /// Keys under `sub` (relative to the prefix), with the prefix removed from each key.
  func list(_ sub: String) throws -> [BucketObject] {
    let found = try bucket.list(prefix: prefix + sub)
    stats.record("LIST")
    stats.recordKey(listed: sub)
    return found.map {
      var o = $0
      o.key = String(o.key.dropFirst(prefix.count))
      return o
    }
  }

  // MARK: The store's parts

  /// The remote's `config`, or nil when nothing was ever pushed there.
  func configuration() throws -> StoreConfiguration? {
    guard let data = try get("config") else { return nil }
    do {
      let config = try JSONDecoder().decode(StoreConfiguration.self, from: data)
      guard config.formatVersion == StoreConfiguration.currentFormatVersion else {
        throw RemoteError(
          .corruptRemote,
          "\(label) has store format \(config.formatVersion); this ckstore reads "
            + "\(StoreConfiguration.currentFormatVersion)")
      }
      return config
    } catch let error as RemoteError {
      throw error
    } catch {
      throw RemoteError(.corruptRemote, "\(label): its config is not a ckstore config")
    }
  }

  /// Whether anything was ever pushed here (the prefix holds a store's `config`).
  public func hasStore() throws -> Bool { try configuration() != nil }

  /// Makes the prefix a store by writing `config` (only if absent: the first pusher's wins).
  func initialize(like config: StoreConfiguration) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    _ = try put("config", try encoder.encode(config) + Data([10]), .absent)
  }

  /// A ref as the remote holds it, with the entity tag to compare-and-swap against.
  struct RemoteRef {
    var id: ObjectID
    var etag: String
  }

  /// The remote's refs under `refs/heads/` or `refs/tags/`, by name. Each entity tag is taken
  /// before the content is read, so a ref that moves in between fails the later swap rather
  /// than being overwritten.
  func refs(_ folder: String) throws -> [String: RemoteRef] {
    let listed = try list(folder + "/")
    let values = try concurrently(listed.count) { i in try self.readRef(listed[i].key) }
    var out: [String: RemoteRef] = [:]
    for (entry, value) in zip(listed, values) {
      guard var value else { continue }
      value.etag = entry.etag
      out[String(entry.key.dropFirst(folder.count + 1))] = value
    }
    return out
  }

  /// One ref, its entity tag taken by a HEAD before its content is read; nil when absent.
  func ref(_ key: String) throws -> RemoteRef? {
    guard let meta = try head(key), var value = try readRef(key) else { return nil }
    value.etag = meta.etag
    return value
  }

  private func readRef(_ key: String) throws -> RemoteRef? {
    guard let data = try get(key) else { return nil }
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(
      in: .whitespacesAndNewlines)
    guard let id = ObjectID(hex: text) else {
      throw RemoteError(.corruptRemote, "\(label): ref \(key) does not hold a commit id")
    }
    return RemoteRef(id: id, etag: "")
  }

  /// Commits the remote has marked pruned (one listing of `pruned/`).
  func prunedCommits() throws -> Set<ObjectID> {
    Set(try list("pruned/").compactMap { ObjectID(hex: String($0.key.dropFirst(7))) })
  }

  /// An object file from the remote, verified against its id by the caller's rules; nil when
  /// the remote lacks it.
  func objectFile(_ id: ObjectID) throws -> [UInt8]? {
    try get(Self.objectKey(id)).map { [UInt8]($0) }
  }

  /// A commit object from the remote, verified.
  func commit(_ id: ObjectID) throws -> (commit: Commit, file: [UInt8]) {
    guard let file = try objectFile(id) else {
      throw RemoteError(.corruptRemote, "\(label) lacks commit \(id.hex)")
    }
    do {
      return (try Store.decodeCommitFile(file, id: id), file)
    } catch let error as StoreError {
      throw RemoteError(.corruptRemote, "\(label): \(error.message)")
    }
  }
}

/// Runs `body` for 0..<count on up to `width` threads; results in order. After the first error
/// no new iteration starts, and that error is rethrown. Requests to a remote wait on the
/// network, so the width is well above the core count.
func concurrently<T: Sendable>(
  _ count: Int, width: Int = 16, _ body: @escaping @Sendable (Int) throws -> T
) throws -> [T] {
  guard count > 0 else { return [] }
  let work = ConcurrentWork<T>(count: count)
  let group = DispatchGroup()
  for _ in 0..<min(width, count) {
    group.enter()
    Thread {
      while let i = work.claim() { work.finish(i, Result { try body(i) }) }
      group.leave()
    }.start()
  }
  group.wait()
  return try work.results()
}

/// The shared state of one `concurrently` call, behind one lock.
private final class ConcurrentWork<T: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var slots: [Result<T, Error>?]
  private var next = 0
  private var failed: Error?

  init(count: Int) { slots = Array(repeating: nil, count: count) }

  func claim() -> Int? {
    lock.withLock {
      guard failed == nil, next < slots.count else { return nil }
      next += 1
      return next - 1
    }
  }

  func finish(_ i: Int, _ result: Result<T, Error>) {
    lock.withLock {
      slots[i] = result
      if case .failure(let error) = result, failed == nil { failed = error }
    }
  }

  func results() throws -> [T] {
    try lock.withLock {
      if let failed { throw failed }
      return try slots.map { try $0!.get() }
    }
  }
}
