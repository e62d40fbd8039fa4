import CKStore
import Foundation

/// What one ref's push did.
public struct PushedRef: Equatable, Sendable, Codable {
  /// `refs/heads/main` or `refs/tags/v1`.
  public var ref: String
  /// What the remote named before; nil when the ref was created.
  public var old: String?
  /// What it names now.
  public var new: String
  /// Whether it was already there (nothing sent for it).
  public var upToDate: Bool

  /// Encodes every field, `old` as null when the ref was created (docs/JSON.md: never omitted).
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(ref, forKey: .ref)
    try c.encode(old, forKey: .old)
    try c.encode(new, forKey: .new)
    try c.encode(upToDate, forKey: .upToDate)
  }
}

/// What a push did.
public struct PushReport: Equatable, Sendable, Codable {
  /// The remote's name.
  public var remote: String
  /// Each ref pushed.
  public var refs: [PushedRef]
  /// Objects uploaded (already-present ones excluded).
  public var objectsSent: Int
  /// Body bytes uploaded.
  public var sentBytes: Int
  /// Requests made.
  public var requests: Int
}

/// Sends commits and what they need to a remote, then moves its refs by compare-and-swap.
public enum Push {
  /// Pushes each of `refs` (`main`, `refs/heads/main`, `v1`, `refs/tags/v1`) to `remote`.
  ///
  /// Sends only what the remote lacks: the remote's refs are read, the commits this store has
  /// from them are walked, and their objects (data of commits not pruned on the remote) are
  /// taken as present. Every object is written with `If-None-Match: *` and is durable before the
  /// ref moves; the ref moves with `If-Match` on the entity tag read before its content, so a
  /// concurrent push that won is never overwritten: this one fails with `rejected`, naming the
  /// branch. A remote ref naming a commit this store lacks, or one that is not an ancestor of
  /// the local commit, is refused unless `force` (which still swaps only the version it read).
  ///
  /// `progress` receives (bytes sent, bytes to send); `width` uploads are in flight at once.
  public static func run(
    _ store: Store, to remote: RemoteStore, refs names: [String], force: Bool = false,
    width: Int = 16, progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> PushReport {
    let locals = try names.map { try localRef(store, $0) }
    let lease = try Lease.push(remote)
    defer { lease.release() }
    if try remote.configuration() == nil { try remote.initialize(like: store.configuration) }
    let remoteHeads = try remote.refs("refs/heads")
    let remoteTags = try remote.refs("refs/tags")
    let remotePruned = try remote.prunedCommits()

    var plans: [(ref: String, id: ObjectID, current: RemoteStore.RemoteRef?)] = []
    for (ref, id) in locals {
      let isTag = ref.hasPrefix("refs/tags/")
      let name = String(ref.dropFirst(isTag ? 10 : 11))
      let current = (isTag ? remoteTags : remoteHeads)[name]
      if let current, current.id != id, !force {
        try checkFastForward(
          store, remote: remote, ref: ref, from: current.id, to: id, isTag: isTag)
      }
      plans.append((ref, id, current))
    }

    // What the remote has: the commits this store has below its refs, and their data unless
    // the remote pruned it (or it is not here to list).
    var have = Set<ObjectID>()
    var haveCommits = Set<ObjectID>()
    var stack = (Array(remoteHeads.values) + Array(remoteTags.values)).map(\.id).filter(
      store.hasObject)
    while let id = stack.popLast() {
      guard haveCommits.insert(id).inserted, let c = try? store.commit(id) else { continue }
      have.insert(id)
      stack.append(contentsOf: c.parents.filter(store.hasObject))
      if !remotePruned.contains(id), !store.isPruned(id), !store.isPartial(id),
        let objects = try? store.dataObjects(of: c)
      {
        have.formUnion(objects)
      }
    }

    // What to send, oldest commit first; commit objects and pruned markers after the data.
    var toSend: [ObjectID] = []
    var commitsToSend: [ObjectID] = []
    var markersToSend: [ObjectID] = []
    var queued = have
    for plan in plans {
      var chain: [Commit] = []
      var pending = [plan.id]
      while let id = pending.popLast() {
        guard !haveCommits.contains(id), queued.insert(id).inserted else { continue }
        let c = try store.commit(id)
        chain.append(c)
        pending.append(contentsOf: c.parents)
      }
      for c in chain.reversed() {
        commitsToSend.append(c.id)
        if store.isPruned(c.id) {
          if !remotePruned.contains(c.id) { markersToSend.append(c.id) }
          continue
        }
        if store.isPartial(c.id) {
          throw RemoteError(
            .invalidRemote,
            "cannot push \(plan.ref) to \(remote.label): commit \(c.id.short) (step \(c.step)) "
              + "has no data in this store (partial clone); fetch its data first")
        }
        for id in try store.dataObjects(of: c) where queued.insert(id).inserted {
          toSend.append(id)
        }
      }
    }

    let (data, commits, markers) = (toSend, commitsToSend, markersToSend)
    let sizes = data.map { FileManager.default.fileSize(store.objectFilePath($0)) }
    let total = sizes.reduce(0, +)
    let done = Counter()
    let sent = Counter()
    progress?(0, total)
    _ = try concurrently(data.count, width: width) { i in
      try lease.refreshIfDue()
      let outcome = try remote.put(
        RemoteStore.objectKey(data[i]), file: store.objectFilePath(data[i]), size: sizes[i],
        .absent)
      if case .written = outcome { _ = sent.add(1) }
      progress?(done.add(sizes[i]), total)
    }
    _ = try concurrently(commits.count) { i in
      let outcome = try remote.put(
        RemoteStore.objectKey(commits[i]), Data(try store.objectFile(commits[i])), .absent)
      if case .written = outcome { _ = sent.add(1) }
    }
    _ = try concurrently(markers.count) { i in
      _ = try remote.put("pruned/" + markers[i].hex, Data(), .absent)
    }

    var report = PushReport(
      remote: remote.name, refs: [], objectsSent: 0, sentBytes: 0, requests: 0)
    for plan in plans {
      let upToDate = plan.current?.id == plan.id
      if !upToDate {
        let condition: WriteCondition = plan.current.map { .matches(etag: $0.etag) } ?? .absent
        let body = Data((plan.id.hex + "\n").utf8)
        // A retried request whose first attempt landed (its reply lost) sees its own write
        // as a failed condition: the ref already naming this commit is a success.
        if try remote.put(plan.ref, body, condition) == .conditionFailed,
          try remote.get(plan.ref) != body
        {
          throw RemoteError(
            .rejected,
            "\(remote.label) rejected \(plan.ref): it moved while pushing (another push won; "
              + "non-fast-forward). Fetch, then push again")
        }
      }
      if plan.ref.hasPrefix("refs/heads/") {
        try store.setRemoteTrackingRef(
          remote.name, branch: String(plan.ref.dropFirst(11)), to: plan.id)
      }
      report.refs.append(
        PushedRef(ref: plan.ref, old: plan.current?.id.hex, new: plan.id.hex, upToDate: upToDate))
    }
    report.objectsSent = sent.value
    report.sentBytes = remote.stats.bytesSent
    report.requests = remote.stats.totalRequests
    return report
  }

  /// The full ref name and commit of a local branch or tag.
  static func localRef(_ store: Store, _ name: String) throws -> (String, ObjectID) {
    let bare =
      name.hasPrefix("refs/heads/")
      ? String(name.dropFirst(11)) : name.hasPrefix("refs/tags/") ? nil : name
    if let bare, let id = try store.head(of: bare) { return ("refs/heads/" + bare, id) }
    let tag = name.hasPrefix("refs/tags/") ? String(name.dropFirst(10)) : name
    if let hit = try store.tags().first(where: { $0.name == tag }) {
      return ("refs/tags/" + tag, hit.id)
    }
    throw RemoteError(.invalidRemote, "nothing to push: no branch or tag '\(name)' with commits")
  }

  private static func checkFastForward(
    _ store: Store, remote: RemoteStore, ref: String, from old: ObjectID, to new: ObjectID,
    isTag: Bool
  ) throws {
    if isTag {
      throw RemoteError(
        .rejected,
        "\(remote.label) rejected \(ref): the tag exists there and names \(old.short)")
    }
    guard store.hasObject(old) else {
      throw RemoteError(
        .rejected,
        "\(remote.label) rejected \(ref): it names \(old.short), which this store does not have "
          + "(non-fast-forward); fetch first, or push --force")
    }
    var stack = [new]
    var seen = Set<ObjectID>()
    while let id = stack.popLast() {
      if id == old { return }
      guard seen.insert(id).inserted else { continue }
      stack.append(contentsOf: try store.commit(id).parents)
    }
    throw RemoteError(
      .rejected,
      "\(remote.label) rejected \(ref): \(old.short) there is not an ancestor of \(new.short) "
        + "(non-fast-forward); fetch and merge, or push --force")
  }
}

/// A counter shared by worker threads.
final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var n = 0

  /// Adds `k`; returns the new value.
  func add(_ k: Int) -> Int {
    lock.withLock {
      n += k; return n
    }
  }
  var value: Int { lock.withLock { n } }
}

extension FileManager {
  func fileSize(_ path: String) -> Int {
    ((try? attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
  }
}
