import CKStore
import Foundation

/// Sharded saves straight to a remote (docs/FORMAT.md, "Sharded commits", remote variant): N
/// processes, on as many machines, each save one part; the commit appears on the remote branch
/// when, and only when, every part is on the remote, by conditional writes only.
public enum RemotePart {
  /// Saves part `part` of `parts` of the checkpoint at (`branch`, `step`) to `remote`, and
  /// builds the commit there if this makes every part durable.
  ///
  /// `store` is this rank's local store, a staging area: the part's chunks and part tree are
  /// written there first (as `Store.commitPart` writes them), then PUT to the remote with
  /// `If-None-Match: *`, and only then is the part record created on the remote, also with
  /// `If-None-Match: *`. A record already there with the same bytes is success (a re-run), with
  /// other bytes `invalidArgument` naming branch, step and rank. The rank that finds all N
  /// records fetches the other parts' trees (no chunks), merges them, uploads the merged trees
  /// and the commit, and moves the remote branch by `If-Match` on the ETag it read; if it loses
  /// that race to another builder of the same commit, it returns the winner's commit. Neither
  /// the local store's refs nor its remote-tracking refs change. Holds a push lease throughout,
  /// so `gc --remote` never runs while a part relies on objects already on the remote.
  public static func save(
    _ store: Store, to remote: RemoteStore, tensors: [TensorSource],
    slices: [String: SlicePlacement] = [:], part: Int, of parts: Int, branch: String,
    step: Int64, message: String = "", metrics: [String: Double] = [:],
    metadata: [String: String] = [:], progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> PartOutcome {
    let lease = try Lease.push(remote)
    defer { lease.release() }
    if try remote.configuration() == nil { try remote.initialize(like: store.configuration) }
    let directory = RemotePartDirectory(remote: remote)
    let refKey = "refs/heads/" + branch
    return try store.preparePart(
      tensors, slices: slices, part: part, of: parts, branch: branch, step: step,
      message: message, metrics: metrics, metadata: metadata, progress: progress
    ) { prepared -> PartOutcome in
      let head = try remote.ref(refKey).map { try remote.commit($0.id).commit }
      if let landed = try prepared.landed(in: head) { return .committed(landed) }
      try prepared.checkCount(try directory.records(branch: branch, step: step))
      try upload(store, remote, tree: prepared.tree, chunks: true, lease: lease)
      if let existing = try directory.create(prepared.key, contents: prepared.record) {
        try prepared.check(existing: existing)
      }
      let present = try directory.records(branch: branch, step: step)
      try prepared.checkCount(present)
      guard present.count == parts else {
        return .pending(recorded: present.count, parts: parts)
      }
      return .committed(
        try build(store, remote, refKey: refKey, records: present, lease: lease))
    }
  }

  /// Merges the records' part trees into a commit, uploads it and moves the remote branch.
  private static func build(
    _ store: Store, _ remote: RemoteStore, refKey: String, records: [PartKey: [UInt8]],
    lease: Lease
  ) throws -> Commit {
    let any = records.keys.first!
    // The ETag is read before the head's content (`RemoteStore.ref`), so a swap against it
    // never overwrites a move this builder did not see.
    let current = try remote.ref(refKey)
    if let current, case let head = try remote.commit(current.id).commit,
      head.isBuilt(from: records)
    {
      return head
    }
    for (key, bytes) in records {
      try receiveTrees(store, remote, root: try key.tree(ofRecord: bytes))
    }
    let commit = try store.writeShardedCommit(records: records, parent: current?.id)
    // The chunks are the parts' own, on the remote before their records: only trees are new.
    try upload(store, remote, tree: commit.tree, chunks: false, lease: lease)
    _ = try remote.put(
      RemoteStore.objectKey(commit.id), Data(try store.objectFile(commit.id)), .absent)
    let condition: WriteCondition = current.map { .matches(etag: $0.etag) } ?? .absent
    let outcome = try remote.put(refKey, Data((commit.id.hex + "\n").utf8), condition)
    if outcome == .conditionFailed {
      if let winner = try remote.ref(refKey), case let head = try remote.commit(winner.id).commit,
        head.isBuilt(from: records)
      {
        return head
      }
      // The records stay: they are what lets a re-run build the commit on the new head.
      throw RemoteError(
        .rejected,
        "\(remote.label) rejected \(refKey) for the sharded commit of step \(any.step): the "
          + "branch moved to another commit while it was built; nothing was committed. The "
          + "\(records.count) part records stay: re-run any part to build it on the new head")
    }
    // Best effort: a re-run ignores the records of a landed step (it finds the commit), and
    // `gc --remote` deletes those a builder killed here leaves.
    try? RemotePartDirectory(remote: remote).remove(branch: any.branch, step: any.step)
    return commit
  }

  /// PUTs (`If-None-Match: *`) every tree under `tree` and, with `chunks`, every chunk they
  /// name; a 412 is another writer's copy of the same immutable object.
  private static func upload(
    _ store: Store, _ remote: RemoteStore, tree: ObjectID, chunks: Bool, lease: Lease
  ) throws {
    var objects: [ObjectID] = []
    var level = [tree]
    var seen = Set<ObjectID>()
    while !level.isEmpty {
      var next: [ObjectID] = []
      for id in level where seen.insert(id).inserted {
        objects.append(id)
        let refs = try Store.treeReferences(ofFile: try store.objectFile(id), id: id)
        next += refs.trees
        for chunk in refs.chunks where chunks && seen.insert(chunk).inserted {
          objects.append(chunk)
        }
      }
      level = next
    }
    let list = objects
    _ = try concurrently(list.count) { i in
      try lease.refreshIfDue()
      let path = store.objectFilePath(list[i])
      _ = try remote.put(
        RemoteStore.objectKey(list[i]), file: path, size: FileManager.default.fileSize(path),
        .absent)
    }
  }

  /// Fetches (verified) every tree under `root` that `store` lacks; no chunk.
  private static func receiveTrees(_ store: Store, _ remote: RemoteStore, root: ObjectID) throws {
    var level = [root]
    let received = Counter()
    while !level.isEmpty {
      var next: [ObjectID] = []
      for id in level {
        if !store.hasObject(id) { try Fetch.receive(store, remote, id, received) }
        next += try Store.treeReferences(ofFile: try store.objectFile(id), id: id).trees
      }
      level = next
    }
  }
}
