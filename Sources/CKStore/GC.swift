import Foundation

/// What a `gc` run did (or, with `dryRun`, would do).
public struct GCReport: Equatable, Sendable, Codable {
  /// Whether nothing was deleted.
  public var dryRun: Bool
  /// Commits whose data retention dropped in this run.
  public var prunedCommits: [String]
  /// Objects deleted (or that would be).
  public var objectsDeleted: Int
  /// Bytes of object files deleted (or that would be).
  public var bytesFreed: Int
  /// Objects that stay.
  public var objectsKept: Int
  /// Stale temporary files of dead processes removed.
  public var staleTempFilesRemoved: Int
  /// Stale ref lock files of dead processes removed.
  public var staleLocksRemoved: [String]
}

extension Store {
  /// Applies `policy` (if any), then deletes every object no kept commit reaches.
  ///
  /// Safe against concurrent commits: the sweep holds the store's gc lock exclusively, which every
  /// commit holds shared from its first write to its ref update, and the live set is recomputed
  /// under that lock. A tree that cannot be read stops gc before anything is deleted.
  ///
  /// Outcomes are truthful: an error means no commit was marked pruned (markers written before a
  /// failure are removed again); once the markers are durable the prune stands, and a failure
  /// while freeing the data is a warning (the next gc frees it).
  public func gc(policy: RetentionPolicy = RetentionPolicy(), dryRun: Bool = false) throws
    -> GCReport
  {
    var report = GCReport(
      dryRun: dryRun, prunedCommits: [], objectsDeleted: 0, bytesFreed: 0, objectsKept: 0,
      staleTempFilesRemoved: 0, staleLocksRemoved: [])
    if !dryRun {
      report.staleTempFilesRemoved = ScratchSpace.cleanStale(tmpRoot: root + "/tmp")
      report.staleLocksRemoved = refs.cleanStaleLocks()
      _ = removeLandedParts()
    }
    let dropping: [Commit]
    do {
      dropping = try commitsToPrune(policy)
      _ = try refs.list("refs/heads") + refs.list("refs/tags")
    } catch let error as StoreError {
      throw StoreError(error.code, "gc stopped before changing anything: \(error.message)")
    }
    let assumedPruned = Set(dropping.map(\.id))
    let firstLive = try liveObjects(alsoPruned: assumedPruned)
    let candidates = objects.all().filter { !firstLive.contains($0.id) }
    if !dryRun { try markPruned(dropping) }
    report.prunedCommits = dropping.map(\.id.hex)

    let sweep = { () throws -> Void in
      let live = try self.liveObjects(alsoPruned: assumedPruned)
      for (id, size) in candidates where !live.contains(id) {
        if !dryRun { try self.objects.delete(id) }
        report.objectsDeleted += 1
        report.bytesFreed += size
      }
    }
    do {
      if dryRun {
        try sweep()
      } else {
        let exclusive = try FileLock.acquire(gcLockPath, .exclusive)
        defer { exclusive.unlock() }
        try sweep()
      }
    } catch  where !dryRun && !dropping.isEmpty {
      warnings.report(
        StoreWarning(
          "pruned \(dropping.count) commits (the change landed), but freeing their data stopped "
            + "after \(report.objectsDeleted) objects: \(error); run gc again to free the rest"))
    }
    report.objectsKept = objects.all().count - (dryRun ? report.objectsDeleted : 0)
    return report
  }

  /// Objects that reachable commits need: every reachable commit object, and the trees and
  /// chunks of each one not pruned.
  func liveObjects(alsoPruned: Set<ObjectID> = []) throws -> Set<ObjectID> {
    var live = Set<ObjectID>()
    for (id, c) in try reachableCommits() {
      live.insert(id)
      if isPruned(id) || isPartial(id) || alsoPruned.contains(id) { continue }
      try markTree(c.tree, into: &live)
    }
    // Part records of sharded saves not yet committed keep their trees and chunks (FORMAT.md,
    // "Sharded commits"): a re-run completes the commit from them.
    for tree in try partRecordTrees() { try markTree(tree, into: &live) }
    // A live delta chunk needs its base, whichever commit the base came from. Only stores that
    // write deltas can hold them (the setting is fixed at creation), so others skip the reads.
    if configuration.deltaAgainstParent {
      for id in live {
        if let base = try? objects.deltaBase(of: id) { live.insert(base) }
      }
    }
    return live
  }

  private func markTree(_ id: ObjectID, into live: inout Set<ObjectID>) throws {
    guard live.insert(id).inserted else { return }
    let t: Tree
    do {
      t = try tree(id)
    } catch let error as StoreError {
      throw StoreError(error.code, "gc stopped before deleting anything: \(error.message)")
    }
    for (_, entry) in t.entries {
      switch entry {
      case .tree(let sub): try markTree(sub, into: &live)
      case .tensor(let info): live.formUnion(info.chunks)
      }
    }
  }
}
