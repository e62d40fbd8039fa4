/// Sizes of a store: what the kept checkpoints hold versus what is on disk.
public struct StoreStats: Equatable, Sendable, Codable {
  /// Commits reachable from branches and tags.
  public var commits: Int
  /// Of those, commits whose data retention freed.
  public var prunedCommits: Int
  /// Object files, by kind.
  public var chunkObjects: Int, treeObjects: Int, commitObjects: Int
  /// Sum of the logical (uncompressed) tensor bytes of every commit that keeps data.
  public var logicalBytes: Int64
  /// Uncompressed bytes of the distinct chunks stored.
  public var uniqueBytes: Int64
  /// Bytes of all object files on disk.
  public var storedBytes: Int64
  /// Bytes of chunk object files on disk.
  public var storedChunkBytes: Int64

  /// logicalBytes / uniqueBytes: how much deduplication saves.
  public var dedupRatio: Double {
    uniqueBytes == 0 ? 1 : Double(logicalBytes) / Double(uniqueBytes)
  }
  /// uniqueBytes / storedChunkBytes: how much compression saves.
  public var compressionRatio: Double {
    storedChunkBytes == 0 ? 1 : Double(uniqueBytes) / Double(storedChunkBytes)
  }
}

extension Store {
  /// Counts objects and bytes (reads every object's 16-byte header, no data).
  public func stats() throws -> StoreStats {
    let commits = try reachableCommits(strict: false)
    var s = StoreStats(
      commits: commits.count, prunedCommits: 0, chunkObjects: 0, treeObjects: 0,
      commitObjects: 0, logicalBytes: 0, uniqueBytes: 0, storedBytes: 0, storedChunkBytes: 0)
    for c in commits.values {
      if isPruned(c.id) { s.prunedCommits += 1 } else { s.logicalBytes += c.logicalBytes }
    }
    for (id, size) in objects.all() {
      s.storedBytes += Int64(size)
      guard let header = try? objects.header(id) else { continue }
      switch header.kind {
      case .chunk:
        s.chunkObjects += 1
        s.uniqueBytes += Int64(header.length)
        s.storedChunkBytes += Int64(size)
      case .tree: s.treeObjects += 1
      case .commit: s.commitObjects += 1
      }
    }
    return s
  }
}
