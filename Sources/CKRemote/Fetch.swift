import CKStore
import Foundation

/// What a fetch did.
public struct FetchReport: Equatable, Sendable, Codable {
  /// The remote's name.
  public var remote: String
  /// Remote-tracking refs set, sorted by name.
  public var refs: [TrackingRef]
  /// Commit objects received.
  public var commitsReceived: Int
  /// Data objects (trees and chunks) received.
  public var objectsReceived: Int
  /// Body bytes downloaded.
  public var receivedBytes: Int
  /// Requests made.
  public var requests: Int
  /// Things that did not stop the fetch (a tag that differs here).
  public var warnings: [String]
}

/// A remote-tracking ref a fetch set.
public struct TrackingRef: Equatable, Sendable, Codable {
  /// `origin/main`.
  public var name: String
  /// The commit it names.
  public var id: String

  /// A ref and the commit it names.
  public init(name: String, id: String) {
    self.name = name
    self.id = id
  }
}

/// Brings a remote's history here: refs, every commit object and pruned marker, and the data
/// of only the commits asked for; the other commits are marked partial and their data is
/// fetched when read (`RemoteFallback`).
public enum Fetch {
  /// Fetches every branch of `remote` into `refs/remotes/<remote>/…`, its tags into local tags
  /// (when they do not clash), and commit objects and pruned markers for the whole history.
  /// No tensor data moves.
  public static func run(_ store: Store, from remote: RemoteStore) throws -> FetchReport {
    guard try remote.configuration() != nil else {
      throw RemoteError(
        .invalidRemote, "\(remote.label) holds no ckstore store (no config under the prefix)")
    }
    let heads = try remote.refs("refs/heads")
    let tags = try remote.refs("refs/tags")
    let pruned = try remote.prunedCommits()
    var report = FetchReport(
      remote: remote.name, refs: [], commitsReceived: 0, objectsReceived: 0, receivedBytes: 0,
      requests: 0, warnings: [])
    report.commitsReceived = try receiveHistory(
      store, remote, from: Array(heads.values.map(\.id)) + tags.values.map(\.id),
      pruned: pruned)
    // A commit whose data was never here and that the remote has since pruned is pruned here.
    for id in pruned where store.isPartial(id) {
      try store.receivePrunedMarkers([id])
      try store.clearPartial(id)
    }
    for (branch, ref) in heads.sorted(by: { $0.key < $1.key }) {
      try store.setRemoteTrackingRef(remote.name, branch: branch, to: ref.id)
      report.refs.append(TrackingRef(name: "\(remote.name)/\(branch)", id: ref.id.hex))
    }
    for (tag, ref) in tags.sorted(by: { $0.key < $1.key }) {
      do {
        try store.ensureTag(tag, at: ref.id)
      } catch let error as StoreError {
        report.warnings.append(error.message)
      }
    }
    report.receivedBytes = remote.stats.bytesReceived
    report.requests = remote.stats.totalRequests
    return report
  }

  /// Receives the commit objects reachable from `roots` that this store lacks; each new commit
  /// is marked pruned (the remote pruned it) or partial (its data stays on the remote). Returns
  /// how many arrived.
  static func receiveHistory(
    _ store: Store, _ remote: RemoteStore, from roots: [ObjectID], pruned: Set<ObjectID>
  ) throws -> Int {
    var frontier = Array(Set(roots.filter { !store.hasObject($0) }))
    var seen = Set(frontier)
    var received = 0
    while !frontier.isEmpty {
      let batch = frontier
      let got = try concurrently(batch.count) { i in try remote.commit(batch[i]) }
      frontier = []
      for (c, file) in got {
        try store.receiveObject(c.id, file: file)
        if pruned.contains(c.id) {
          try store.receivePrunedMarkers([c.id])
        } else {
          try store.markPartial([c.id])
        }
        received += 1
        for p in c.parents where !store.hasObject(p) && seen.insert(p).inserted {
          frontier.append(p)
        }
      }
    }
    return received
  }

  /// Fetches the data (trees, chunks, delta bases) of `commits` that is not here, verifying each
  /// object on receipt, and clears their partial markers. `progress` receives (objects done,
  /// objects known so far). Returns the number of objects received.
  @discardableResult
  public static func data(
    _ store: Store, from remote: RemoteStore, commits: [Commit],
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> Int {
    let received = Counter()
    for c in commits where !store.isPruned(c.id) {
      // Trees level by level (each names the next), then every chunk at once.
      var level = [c.tree]
      var chunks: [ObjectID] = []
      var seen = Set<ObjectID>()
      while !level.isEmpty {
        let batch = level.filter { seen.insert($0).inserted }
        let refs = try concurrently(batch.count) { i in
          try treeReferences(store, remote, batch[i], received)
        }
        level = refs.flatMap(\.trees)
        chunks += refs.flatMap(\.chunks)
      }
      let missing = Array(Set(chunks.filter { !store.hasObject($0) }))
      let done = Counter()
      _ = try concurrently(missing.count) { i in
        try receive(store, remote, missing[i], received)
        progress?(done.add(1), missing.count)
      }
      try store.clearPartial(c.id)
    }
    return received.value
  }

  private static func treeReferences(
    _ store: Store, _ remote: RemoteStore, _ id: ObjectID, _ received: Counter
  ) throws -> (trees: [ObjectID], chunks: [ObjectID]) {
    if !store.hasObject(id) { try receive(store, remote, id, received) }
    return try Store.treeReferences(ofFile: try store.objectFile(id), id: id)
  }

  /// Downloads one object, its delta base first when it is a delta, verifies and stores it.
  static func receive(_ store: Store, _ remote: RemoteStore, _ id: ObjectID, _ received: Counter)
    throws
  {
    guard let file = try remote.objectFile(id) else {
      throw RemoteError(.corruptRemote, "\(remote.label) lacks object \(id.hex)")
    }
    if let base = Store.deltaBase(ofFile: file), !store.hasObject(base) {
      try receive(store, remote, base, received)
    }
    do {
      try store.receiveObject(id, file: file)
    } catch let error as StoreError {
      throw RemoteError(.corruptRemote, "\(remote.label): \(error.message)")
    }
    _ = received.add(1)
  }
}
