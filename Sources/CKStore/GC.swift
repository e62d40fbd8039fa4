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
  public func gc(policy: RetentionPolicy = RetentionPolicy(), dryRun: Bool = false) throws
    -> GCReport
  {
    var report = GCReport(
      dryRun: dryRun, prunedCommits: [], objectsDeleted: 0, bytesFreed: 0, objectsKept: 0,
      staleTempFilesRemoved: 0, staleLocksRemoved: [])
    if !dryRun {
      report.staleTempFilesRemoved = ScratchSpace.cleanStale(tmpRoot: root + "/tmp")
      report.staleLocksRemoved = refs.cleanStaleLocks(grace: 10)
    }
    let dropping = dryRun ? try commitsToPrune(policy) : try applyRetention(policy)
    report.prunedCommits = dropping.map(\.id.hex)
    let assumedPruned = Set(dropping.map(\.id))

    let firstLive = try liveObjects(alsoPruned: assumedPruned)
    let candidates = objects.all().filter { !firstLive.contains($0.id) }
    let sweep = { () throws -> Void in
      let live = try self.liveObjects(alsoPruned: assumedPruned)
      for (id, size) in candidates where !live.contains(id) {
        if !dryRun { try self.objects.delete(id) }
        report.objectsDeleted += 1
        report.bytesFreed += size
      }
      report.objectsKept = self.objects.all().count - (dryRun ? report.objectsDeleted : 0)
    }
    if dryRun {
      try sweep()
    } else {
      let exclusive = try FileLock.acquire(gcLockPath, .exclusive)
      defer { exclusive.unlock() }
      try sweep()
    }
    return report
  }

  /// Objects that reachable commits need: every reachable commit object, and the trees and
  /// chunks of each one not pruned.
  func liveObjects(alsoPruned: Set<ObjectID> = []) throws -> Set<ObjectID> {
    var live = Set<ObjectID>()
    for (id, c) in try reachableCommits() {
      live.insert(id)
      if isPruned(id) || alsoPruned.contains(id) { continue }
      try markTree(c.tree, into: &live)
    }
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
