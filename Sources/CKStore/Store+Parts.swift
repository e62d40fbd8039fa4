import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Where a part's tensor lies in the global tensor it is a slice of: the part's tensor (its
/// `TensorSource` shape is the slice's extent) starts at `offset` in a tensor of `globalShape`.
public struct SlicePlacement: Equatable, Sendable {
  /// The shape of the whole tensor across all parts.
  public var globalShape: [Int]
  /// Where this slice starts, one index per dimension.
  public var offset: [Int]

  /// A placement; `offset` has one entry per dimension of `globalShape`.
  public init(globalShape: [Int], offset: [Int]) {
    self.globalShape = globalShape
    self.offset = offset
  }
}

/// What `Store.commitPart` did.
public enum PartOutcome: Equatable, Sendable {
  /// Every part is recorded and the sharded commit is the branch head: this call built it, or
  /// found it already there (a re-run of a part that landed).
  case committed(Commit)
  /// This part is durable; the commit appears when the other parts are (`recorded` of `parts`).
  case pending(recorded: Int, parts: Int)
}

/// Commit metadata keys of a sharded commit (docs/FORMAT.md, "Sharded commits").
public enum ShardedMetadataKeys {
  /// The number of parts, in decimal.
  public static let parts = "ckstore.parts"
  /// `ckstore.part.<I>`: the hex id of part I's tree.
  public static func part(_ index: Int) -> String { "ckstore.part.\(index)" }

  /// Whether `key` is one of these: they describe how the store holds a commit, not the
  /// checkpoint, so an export leaves them out and an import ignores them.
  public static func isSharded(_ key: String) -> Bool {
    key == parts || key.hasPrefix("ckstore.part.")
  }
}

extension Store {
  /// How long a rank that completes the set of parts waits for the branch's writer lock (held by
  /// another rank building the same commit, or by a plain writer) before failing with `locked`.
  public static let partCommitWait = 60.0

  package var partDirectory: any PartDirectory {
    LocalPartDirectory(root: root + "/parts", scratch: scratch)
  }

  /// Saves part `part` (0-based) of `parts` of the sharded checkpoint at (`branch`, `step`), and
  /// builds the commit if this makes every part durable (docs/FORMAT.md, "Sharded commits").
  ///
  /// Run from N processes at once, one per part, this yields exactly one commit, which appears
  /// only once all N parts are durable; a rank killed at any moment leaves no commit, and running
  /// it again completes the checkpoint. A tensor in `slices` is a slice of a global tensor; the
  /// slices of all parts must tile it exactly (else `invalidTensor` naming the tensor and the
  /// ranks, and no commit). An ordinary tensor must come from one part (or from several with the
  /// same data). The commit's message, metrics and metadata are part 0's.
  ///
  /// Re-running a part with the same content succeeds without writing anything new; with other
  /// content it throws `invalidArgument` naming the branch, step and rank.
  public func commitPart(
    _ tensors: [TensorSource], slices: [String: SlicePlacement] = [:], part: Int, of parts: Int,
    branch: String, step: Int64, message: String = "", metrics: [String: Double] = [:],
    metadata: [String: String] = [:], progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> PartOutcome {
    let directory = partDirectory
    let outcome = try preparePart(
      tensors, slices: slices, part: part, of: parts, branch: branch, step: step,
      message: message, metrics: metrics, metadata: metadata, progress: progress
    ) { prepared -> (landed: Commit?, records: [PartKey: [UInt8]]) in
      if let landed = try prepared.landed(in: try head(of: branch).map { try commit($0) }) {
        return (landed, [:])
      }
      try prepared.checkCount(try directory.records(branch: branch, step: step))
      if let existing = try directory.create(prepared.key, contents: prepared.record) {
        try prepared.check(existing: existing)
      }
      let present = try directory.records(branch: branch, step: step)
      try prepared.checkCount(present)
      return (nil, present)
    }
    if let landed = outcome.landed { return .committed(landed) }
    let present = outcome.records
    guard present.count == parts else {
      return .pending(recorded: present.count, parts: parts)
    }
    return .committed(try buildShardedCommit(branch: branch, step: step, records: present))
  }

  /// Step 1 of a part's save (docs/FORMAT.md, "Sharded commits"): checks the placements,
  /// writes the part's chunks (no delta bases) and part tree, fsyncs them, and runs `body` with
  /// the part while holding the gc lock shared, so that gc cannot free the part's objects before
  /// `body` has recorded them (locally, or on a remote after uploading them).
  package func preparePart<T>(
    _ tensors: [TensorSource], slices: [String: SlicePlacement], part: Int, of parts: Int,
    branch: String, step: Int64, message: String, metrics: [String: Double],
    metadata: [String: String], progress: (@Sendable (Int, Int) -> Void)?,
    _ body: (PreparedPart) throws -> T
  ) throws -> T {
    try RefName.validate(branch, kind: "branch")
    guard parts >= 1, parts <= 1 << 16, part >= 0, part < parts else {
      throw StoreError(.invalidArgument, "part \(part) of \(parts) is out of range")
    }
    if let key = metadata.keys.first(where: { $0.hasPrefix(ShardedMetadataKeys.parts) }) {
      throw StoreError(.invalidArgument, "metadata key '\(key)' is reserved for sharded commits")
    }
    try checkPlacements(tensors, slices)
    let gcGuard = try FileLock.acquire(gcLockPath, .shared)
    defer { gcGuard.unlock() }
    let (written, _) = try writeChunks(tensors, bases: [:], progress: progress)
    for file in Set(tensors.compactMap { $0.file.map(ObjectIdentifier.init) }) {
      try tensors.first { $0.file.map(ObjectIdentifier.init) == file }!.file!.checkUnchanged()
    }
    let entries = written.map { info -> TensorInfo in
      guard let placement = slices[info.name] else { return info }
      let slice = TensorSlice(
        region: TensorRegion(offset: placement.offset, extent: info.shape), part: part,
        chunkBytes: info.chunkBytes, chunks: info.chunks)
      return .sliced(
        name: info.name, dtype: info.dtype, shape: placement.globalShape, slices: [slice])
    }
    let (tree, _) = try writeTrees(entries)
    try objects.syncPending()
    let record = PartRecord(
      branch: branch, step: step, index: part, parts: parts, tree: tree.hex, message: message,
      metrics: metrics, metadata: metadata)
    return try body(
      PreparedPart(
        key: PartKey(branch: branch, step: step, index: part, count: parts), tree: tree,
        record: try record.encoded()))
  }

  private func checkPlacements(_ tensors: [TensorSource], _ slices: [String: SlicePlacement])
    throws
  {
    let names = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    for (name, placement) in slices {
      guard let t = names[name] else {
        throw StoreError(.invalidArgument, "slice placement for '\(name)', which this part lacks")
      }
      let region = TensorRegion(offset: placement.offset, extent: t.shape)
      guard !t.dtype.isSubByte, region.fits(placement.globalShape),
        TensorInfo.byteCount(dtype: t.dtype, shape: placement.globalShape) != nil
      else {
        throw StoreError(
          .invalidTensor,
          "tensor '\(name)': a \(t.dtype) slice \(region) does not fit a global shape "
            + "\(placement.globalShape)")
      }
    }
  }

  /// Merges the parts' trees into one commit and moves the branch to it, holding the branch's
  /// writer lock (waiting up to `partCommitWait` for it) and the gc lock shared.
  private func buildShardedCommit(branch: String, step: Int64, records: [PartKey: [UInt8]])
    throws -> Commit
  {
    let writer = try waitForWriter(branch)
    defer { writer.close() }
    let gcGuard = try FileLock.acquire(gcLockPath, .shared)
    defer { gcGuard.unlock() }
    let parent = try head(of: branch)
    if let head = try parent.map({ try self.commit($0) }), head.step == step,
      head.metadata[ShardedMetadataKeys.parts] == String(records.count)
    {
      guard head.isBuilt(from: records) else {
        throw StoreError(
          .invalidArgument,
          "branch '\(branch)' step \(step): commit \(head.id.short) holds other part trees "
            + "than the part records")
      }
      return head
    }
    let commit = try writeShardedCommit(records: records, parent: parent)
    try refs.update(
      RefStore.branchRef(branch), to: commit.id, expected: parent,
      message: "commit: step \(step), \(records.count) parts")
    do {
      try partDirectory.remove(branch: branch, step: step)
    } catch {
      warnings.report(
        StoreWarning(
          "sharded commit \(commit.id.short) landed, but its part records stay: \(error); "
            + "gc removes them"))
    }
    return commit
  }

  /// Steps 3 and 4 of building a sharded commit, short of moving any ref: merges the part trees
  /// the records name (they must be in this store) into one tree, writes it and the commit
  /// (child of `parent`), fsynced, and returns the commit. Overlapping or missing slices throw
  /// `invalidTensor` naming the tensor and the ranks. The caller moves the ref.
  package func writeShardedCommit(records: [PartKey: [UInt8]], parent: ObjectID?) throws -> Commit {
    let decoded = try records.map { try PartRecord.decode($1, key: $0) }.sorted {
      $0.index < $1.index
    }
    var byPart: [[TensorInfo]] = []
    for r in decoded {
      var infos: [TensorInfo] = []
      try walk(ObjectID(hex: r.tree)!, prefix: "") { infos.append($0) }
      byPart.append(infos)
    }
    let merged = try ShardMerge.merge(byPart)
    let (rootTree, treeBytes) = try writeTrees(merged)
    try objects.syncPending()
    var metadata = decoded[0].metadata
    metadata[ShardedMetadataKeys.parts] = String(decoded.count)
    for r in decoded { metadata[ShardedMetadataKeys.part(r.index)] = r.tree }
    var commit = Commit(
      id: rootTree, tree: rootTree, parents: parent.map { [$0] } ?? [], step: decoded[0].step,
      time: Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000),
      message: decoded[0].message, metrics: decoded[0].metrics, metadata: metadata,
      logicalBytes: Int64(merged.reduce(0) { $0 + $1.byteCount }), addedBytes: Int64(treeBytes))
    commit.id = try objects.put(.commit, commit.encoded()).id
    try objects.syncPending()
    return commit
  }

  /// The branch's writer lock, polled until `partCommitWait` has passed: the rank that holds it
  /// is building the same commit (or a plain writer is committing), both short.
  private func waitForWriter(_ branch: String) throws -> BranchWriter {
    let deadline = Date().addingTimeInterval(Self.partCommitWait)
    while true {
      do {
        return try BranchWriter(store: self, branch: branch)
      } catch let error as StoreError where error.code == .locked && Date() < deadline {
        usleep(5_000)
      }
    }
  }

  /// Removes the part records of (branch, step) that a sharded commit in the branch's
  /// first-parent history was built from (same step, same part tree for every record): left by
  /// a rank that died between its ref update and the cleanup. Returns how many steps it cleaned.
  /// Records of unfinished saves stay: they are gc roots until a re-run completes the commit.
  func removeLandedParts() -> Int {
    var removed = 0
    for (branch, step) in (try? partDirectory.steps()) ?? [] {
      guard let head = try? head(of: branch), let history = try? self.history(from: head),
        let records = try? partDirectory.records(branch: branch, step: step)
      else { continue }
      let trees = records.map { key, bytes in
        (key.index, (try? PartRecord.decode(bytes, key: key))?.tree)
      }
      // No records left (a builder killed halfway through removing them) is landed too when
      // the step's sharded commit is in the history.
      let landed = history.contains { c in
        c.step == step && c.metadata[ShardedMetadataKeys.parts] != nil
          && trees.allSatisfy { c.metadata[ShardedMetadataKeys.part($0.0)] == $0.1 }
      }
      if landed, (try? partDirectory.remove(branch: branch, step: step)) != nil { removed += 1 }
    }
    return removed
  }

  /// Removes the part records of unfinished sharded saves of `branch` at steps after `step`
  /// whose number of parts is not `parts`, and returns those steps with their old N: a job that
  /// resumes from `step` with `parts` ranks redoes those steps, and the records of its earlier
  /// layout would refuse its parts. Their objects become garbage for gc. Only for the job that
  /// owns the branch: a save still running elsewhere would be left pending.
  public func abandonParts(of branch: String, after step: Int64, notOf parts: Int) throws
    -> [(step: Int64, parts: Int)]
  {
    var abandoned: [(Int64, Int)] = []
    for (b, s) in try partDirectory.steps() where b == branch && s > step {
      let records = try partDirectory.records(branch: b, step: s)
      guard let other = records.keys.first(where: { $0.count != parts }) else { continue }
      try partDirectory.remove(branch: b, step: s)
      abandoned.append((s, other.count))
    }
    return abandoned.sorted { $0.0 < $1.0 }
  }

  /// The trees that part records name: gc roots until their commit lands.
  func partRecordTrees() throws -> [ObjectID] {
    var out: [ObjectID] = []
    for (branch, step) in try partDirectory.steps() {
      for (key, bytes) in try partDirectory.records(branch: branch, step: step) {
        out.append(try key.tree(ofRecord: bytes))
      }
    }
    return out
  }
}
