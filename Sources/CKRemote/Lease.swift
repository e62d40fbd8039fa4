import Foundation

/// A lease object under `leases/`: how pushers and `gc --remote` exclude each other on a remote
/// that has no locks (docs/FORMAT.md, "Remotes", has the argument).
///
/// A pusher writes `leases/push-<nonce>` before it reads what the remote has, then waits while
/// `leases/gc` exists; gc writes `leases/gc` only if absent, then backs off when it lists a
/// fresh push lease. S3 is strongly consistent for these writes and reads, so of two that run
/// at once at least one sees the other's lease. A lease older than `ttl` is a dead process's and
/// is ignored; live holders refresh theirs every `ttl / 3`.
final class Lease: @unchecked Sendable {
  /// How long a lease lasts without a refresh. Clocks of writers and the server must agree far
  /// better than this.
  static let ttl: TimeInterval = 600

  private let remote: RemoteStore
  private let key: String
  private let lock = NSLock()
  private var refreshed = Date()

  private init(remote: RemoteStore, key: String) {
    self.remote = remote
    self.key = key
  }

  private static func body() -> Data {
    let host = ProcessInfo.processInfo.hostName
    let pid = ProcessInfo.processInfo.processIdentifier
    return Data(
      "{\"host\":\"\(host)\",\"pid\":\(pid),\"time\":\(Date().timeIntervalSince1970)}\n".utf8)
  }

  private static func isFresh(_ object: BucketObject) -> Bool {
    Date().timeIntervalSince(object.lastModified) < ttl
  }

  /// Takes a push lease, then waits (up to `maxWait` seconds) while a fresh gc lease exists.
  static func push(_ remote: RemoteStore, maxWait: TimeInterval = 120) throws -> Lease {
    let nonce = UUID().uuidString.lowercased()
    let lease = Lease(remote: remote, key: "leases/push-\(nonce)")
    _ = try remote.put(lease.key, body(), .none)
    let deadline = Date().addingTimeInterval(maxWait)
    while let gc = try remote.head("leases/gc"), isFresh(gc) {
      guard Date() < deadline else {
        lease.release()
        throw RemoteError(
          .leaseHeld,
          "\(remote.label): a gc holds leases/gc (written \(gc.lastModified)); push again when "
            + "it is done")
      }
      Thread.sleep(forTimeInterval: 0.25)
    }
    return lease
  }

  /// Takes the gc lease; throws `leaseHeld` when another gc holds it or a push is in progress.
  static func gc(_ remote: RemoteStore) throws -> Lease {
    let lease = Lease(remote: remote, key: "leases/gc")
    if try remote.put(lease.key, body(), .absent) == .conditionFailed {
      // A dead gc's lease is taken over: replaced only if it is still the stale version seen.
      guard let held = try remote.head(lease.key), !isFresh(held),
        try remote.put(lease.key, body(), .matches(etag: held.etag)) != .conditionFailed
      else {
        throw RemoteError(.leaseHeld, "\(remote.label): another gc holds leases/gc")
      }
    }
    let pushes = try remote.list("leases/push-").filter(isFresh).sorted {
      $0.lastModified < $1.lastModified
    }
    if let newest = pushes.last {
      lease.release()
      let named = pushes.prefix(3).map { describe($0, remote) }.joined(separator: ", ")
      let more = pushes.count > 3 ? " and \(pushes.count - 3) more" : ""
      throw RemoteError(
        .leaseHeld,
        "\(remote.label): \(pushes.count) push(es) in progress, gc changed nothing: \(named)"
          + "\(more). A lease whose pusher was killed expires \(Int(ttl / 60)) minutes after it "
          + "was written (the newest at \(stamp(newest.lastModified.addingTimeInterval(ttl)))); "
          + "run gc again then")
    }
    return lease
  }

  /// `leases/push-… (host h, pid p, written …)`: who holds a lease, from its body when it is
  /// readable, so that a user can tell a live pusher from a killed one.
  private static func describe(_ object: BucketObject, _ remote: RemoteStore) -> String {
    var who = ""
    if let body = (try? remote.get(object.key)) ?? nil,
      let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
      let host = json["host"] as? String, let pid = json["pid"] as? Int
    {
      who = "host \(host), pid \(pid), "
    }
    return "\(object.key) (\(who)written \(stamp(object.lastModified)))"
  }

  private static func stamp(_ date: Date) -> String {
    ISO8601DateFormatter().string(from: date)
  }

  /// Rewrites the lease when a third of its lifetime has passed (long pushes and gcs call this
  /// as they go).
  func refreshIfDue() throws {
    let due = lock.withLock {
      guard Date().timeIntervalSince(refreshed) > Self.ttl / 3 else { return false }
      refreshed = Date()
      return true
    }
    if due { _ = try remote.put(key, Self.body(), .none) }
  }

  /// Deletes the lease; a failure leaves it to expire.
  func release() { try? remote.delete(key) }
}
