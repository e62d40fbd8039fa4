import CKStore
import Foundation

/// What `gc --remote` did (or, with `dryRun`, would do).
public struct RemoteGCReport: Equatable, Sendable, Codable {
  /// The remote's name.
  public var remote: String
  /// Whether nothing was changed.
  public var dryRun: Bool
  /// Commits the policy pruned in this run.
  public var prunedCommits: [String]
  /// Objects deleted (or that would be).
  public var objectsDeleted: Int
  /// Bytes of objects deleted (or that would be).
  public var freedBytes: Int
  /// Objects that stay.
  public var objectsKept: Int
  /// Unused objects younger than the grace period, left for a later gc.
  public var objectsTooYoung: Int
}

/// Retention and garbage collection on a remote, safe against concurrent pushers without any
/// lock (docs/FORMAT.md, "Remotes", "gc on a remote").
public enum RemoteGC {
  /// The default grace period: an unused object younger than this is never deleted.
  public static let defaultGrace: TimeInterval = 3600

  /// Applies `policy` to the remote's branches, then deletes every object no kept commit uses
  /// and that is older than `grace` seconds. Holds the gc lease throughout; throws `leaseHeld`
  /// (having changed nothing) while a push is in progress.
  public static func run(
    _ remote: RemoteStore, policy: RetentionPolicy, grace: TimeInterval = defaultGrace,
    dryRun: Bool = false
  ) throws -> RemoteGCReport {
    guard let settings = try remote.configuration() else {
      throw RemoteError(.invalidRemote, "\(remote.label) holds no ckstore store")
    }
    let lease = dryRun ? nil : try Lease.gc(remote)
    defer { lease?.release() }
    let graph = try RemoteGraph.read(remote)
    let dropping = graph.commitsToPrune(policy)
    let parts = try graph.partRecords(remote)
    let live = try graph.liveObjects(
      remote, alsoPruned: Set(dropping.map(\.id)), deltas: settings.deltaAgainstParent,
      roots: parts.roots)
    try lease?.refreshIfDue()
    var report = RemoteGCReport(
      remote: remote.name, dryRun: dryRun, prunedCommits: dropping.map(\.id.hex),
      objectsDeleted: 0, freedBytes: 0, objectsKept: 0, objectsTooYoung: 0)
    if !dryRun {
      // Markers first: once one is on the remote the commit is pruned, its data may go.
      _ = try concurrently(dropping.count) { i in
        _ = try remote.put("pruned/" + dropping[i].id.hex, Data(), .absent)
      }
    }
    let now = Date()
    var doomed: [BucketObject] = []
    for object in try remote.list("objects/") {
      let hex = object.key.dropFirst(8).replacingOccurrences(of: "/", with: "")
      guard let id = ObjectID(hex: hex), !live.contains(id) else {
        report.objectsKept += 1
        continue
      }
      if now.timeIntervalSince(object.lastModified) < grace {
        report.objectsTooYoung += 1
        report.objectsKept += 1
      } else {
        doomed.append(object)
      }
    }
    let targets = doomed
    if !dryRun {
      _ = try concurrently(targets.count) { i in
        try lease?.refreshIfDue()
        try remote.delete(targets[i].key)
      }
      for (branch, step) in parts.landed {
        try RemotePartDirectory(remote: remote).remove(branch: branch, step: step)
      }
      // Push leases of dead processes, so that they stop holding gc back forever.
      for stale in try remote.list("leases/push-")
      where now.timeIntervalSince(stale.lastModified) > Lease.ttl {
        try remote.delete(stale.key)
      }
    }
    report.objectsDeleted = targets.count
    report.freedBytes = targets.reduce(0) { $0 + $1.size }
    return report
  }
}

/// What `fsck --remote` found.
public struct RemoteFsckReport: Equatable, Sendable, Codable {
  /// The remote's name.
  public var remote: String
  /// Commits checked.
  public var commitsChecked: Int
  /// Objects read and verified.
  public var objectsChecked: Int
  /// Everything found wrong; empty when the remote is sound.
  public var problems: [RemoteFsckProblem]

  /// Whether nothing is wrong.
  public var isClean: Bool { problems.isEmpty }
}

/// One problem `fsck --remote` found.
public struct RemoteFsckProblem: Equatable, Sendable, Codable {
  /// The object at fault (64 hex), or nil when the problem is not one object's (a ref).
  public var object: String?
  /// What is wrong, naming the remote.
  public var message: String

  /// Encodes both fields, `object` as null when absent (docs/JSON.md: never omitted).
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(object, forKey: .object)
    try c.encode(message, forKey: .message)
  }
}

/// Verifies a remote: every reachable commit, and every tree and chunk of commits not pruned,
/// downloaded and checked exactly as a local read checks it.
public enum RemoteFsck {
  /// Runs the check; problems are reported, not thrown (a missing or unreadable remote throws).
  public static func run(_ remote: RemoteStore) throws -> RemoteFsckReport {
    guard try remote.configuration() != nil else {
      throw RemoteError(.invalidRemote, "\(remote.label) holds no ckstore store")
    }
    var report = RemoteFsckReport(
      remote: remote.name, commitsChecked: 0, objectsChecked: 0, problems: [])
    let graph: RemoteGraph
    do {
      graph = try RemoteGraph.read(remote)
    } catch let error as RemoteError where error.code == .corruptRemote {
      report.problems.append(RemoteFsckProblem(object: nil, message: error.message))
      return report
    }
    report.commitsChecked = graph.commits.count
    let live: Set<ObjectID>
    do {
      live = try graph.liveObjects(remote, alsoPruned: [], deltas: false)
    } catch let error as StoreError {
      report.problems.append(RemoteFsckProblem(object: nil, message: error.message))
      return report
    } catch let error as RemoteError where error.code == .corruptRemote {
      report.problems.append(RemoteFsckProblem(object: nil, message: error.message))
      return report
    }
    let ids = Array(live.subtracting(graph.commits.keys))
    let problems = try concurrently(ids.count) { i -> RemoteFsckProblem? in
      do {
        guard let file = try remote.objectFile(ids[i]) else {
          return RemoteFsckProblem(
            object: ids[i].hex, message: "object \(ids[i].hex) is missing on \(remote.label)")
        }
        try Store.verifyObjectFile(file, id: ids[i]) { base, into in
          guard let baseFile = try remote.objectFile(base) else {
            throw StoreError(
              .objectNotFound, "object \(ids[i].hex): its delta base \(base.hex) is missing")
          }
          let decoded = try Store.decodeObjectFile(baseFile, id: base) { _, _ in
            throw StoreError(.corruptObject, "delta base \(base.hex) is a delta too")
          }
          guard decoded.payload.count == into.count else {
            throw StoreError(.corruptObject, "delta base \(base.hex) has the wrong length")
          }
          decoded.payload.withUnsafeBytes { into.copyMemory(from: $0) }
        }
        return nil
      } catch let error as StoreError {
        return RemoteFsckProblem(object: ids[i].hex, message: error.message)
      }
    }
    report.objectsChecked = graph.commits.count + ids.count
    report.problems += problems.compactMap { $0 }
    return report
  }
}
