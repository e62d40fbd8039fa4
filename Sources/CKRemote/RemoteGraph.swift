import CKStore
import Foundation

/// A remote's refs and commit graph, read once, with its live objects: what `gc --remote` and
/// `fsck --remote` walk.
struct RemoteGraph {
  var heads: [String: RemoteStore.RemoteRef]
  var tags: [String: RemoteStore.RemoteRef]
  var pruned: Set<ObjectID>
  var commits: [ObjectID: Commit]

  /// Reads refs, pruned markers and every reachable commit (verified), a level of parents at a
  /// time.
  static func read(_ remote: RemoteStore) throws -> RemoteGraph {
    let heads = try remote.refs("refs/heads")
    let tags = try remote.refs("refs/tags")
    let pruned = try remote.prunedCommits()
    var commits: [ObjectID: Commit] = [:]
    var frontier = Array(Set(heads.values.map(\.id) + tags.values.map(\.id)))
    while !frontier.isEmpty {
      let batch = frontier
      let got = try concurrently(batch.count) { i in try remote.commit(batch[i]).commit }
      frontier = []
      for c in got { commits[c.id] = c }
      frontier = Array(Set(got.flatMap(\.parents).filter { commits[$0] == nil }))
    }
    return RemoteGraph(heads: heads, tags: tags, pruned: pruned, commits: commits)
  }

  /// The commits `policy` drops, by the same rules as a local `gc` (`Store.commitsToPrune`):
  /// branch heads, tagged commits and whatever another branch reaches keep their data.
  func commitsToPrune(_ policy: RetentionPolicy) -> [Commit] {
    if policy.keepLast == nil && policy.keepEvery == nil { return [] }
    let governed = Set(policy.branches ?? Array(heads.keys))
    var keep = Set(tags.values.map(\.id))
    for (name, ref) in heads where !governed.contains(name) {
      var stack = [ref.id]
      while let id = stack.popLast() {
        guard keep.insert(id).inserted else { continue }
        stack.append(contentsOf: commits[id]?.parents ?? [])
      }
    }
    var candidates: [ObjectID: Commit] = [:]
    let window = policy.keepLast ?? (policy.keepEvery == nil ? .max : 1)
    for (name, ref) in heads where governed.contains(name) {
      var next: ObjectID? = ref.id
      var index = 0
      while let id = next, let c = commits[id] {
        let kept =
          index == 0 || index < window
          || (policy.keepEvery.map { $0 > 0 && c.step % $0 == 0 } ?? false)
        if kept { keep.insert(id) } else { candidates[id] = c }
        next = c.parents.first
        index += 1
      }
    }
    return candidates.values.filter { !keep.contains($0.id) && !pruned.contains($0.id) }
      .sorted { $0.step < $1.step }
  }

  /// Every object a reachable commit needs: commit objects, and the trees, chunks and delta
  /// bases of commits not pruned (nor in `alsoPruned`), and of the trees in `roots` (part trees
  /// of unfinished sharded saves). Trees are read and verified; delta
  /// bases are read from each chunk's first 48 bytes when the store writes deltas.
  func liveObjects(
    _ remote: RemoteStore, alsoPruned: Set<ObjectID>, deltas: Bool, roots: [ObjectID] = []
  ) throws -> Set<ObjectID> {
    var live = Set(commits.keys)
    var level =
      commits.values.filter { !pruned.contains($0.id) && !alsoPruned.contains($0.id) }
      .map(\.tree) + roots
    var chunks = Set<ObjectID>()
    while !level.isEmpty {
      let batch = Array(Set(level.filter { !live.contains($0) }))
      live.formUnion(batch)
      let refs = try concurrently(batch.count) { i in
        guard let file = try remote.objectFile(batch[i]) else {
          throw RemoteError(
            .corruptRemote, "\(remote.label) lacks tree \(batch[i].hex); gc changed nothing")
        }
        return try Store.treeReferences(ofFile: file, id: batch[i])
      }
      level = refs.flatMap(\.trees)
      chunks.formUnion(refs.flatMap(\.chunks))
    }
    live.formUnion(chunks)
    if deltas {
      let list = Array(chunks)
      let bases = try concurrently(list.count) { i -> ObjectID? in
        guard
          let head = try remote.bucket.get(
            remote.prefix + RemoteStore.objectKey(list[i]), offset: 0, length: 48)
        else { return nil }
        return Store.deltaBase(ofFile: [UInt8](head))
      }
      live.formUnion(bases.compactMap { $0 })
    }
    return live
  }

  /// The part trees of records on the remote whose sharded commit has not landed (gc roots),
  /// and the (branch, step) folders whose commit is in its branch's first-parent history: left
  /// by a builder killed between its ref update and its cleanup, removable.
  func partRecords(_ remote: RemoteStore) throws -> (
    roots: [ObjectID], landed: [(branch: String, step: Int64)]
  ) {
    let directory = RemotePartDirectory(remote: remote)
    var roots: [ObjectID] = []
    var landed: [(String, Int64)] = []
    for (branch, step) in try directory.steps() {
      let records = try directory.records(branch: branch, step: step)
      var next = heads[branch]?.id
      var built = false
      while let id = next, let c = commits[id], !built {
        built = c.isBuilt(from: records)
        next = c.parents.first
      }
      if built {
        landed.append((branch, step))
        continue
      }
      for (key, bytes) in records {
        do {
          roots.append(try key.tree(ofRecord: bytes))
        } catch let error as StoreError {
          throw RemoteError(.corruptRemote, "\(remote.label): \(error.message)")
        }
      }
    }
    return (roots, landed)
  }
}
