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
}

/// A part record's content (docs/FORMAT.md, "Part records"): canonical JSON, so a re-run with the
/// same tensors and descriptions writes the same bytes.
struct PartRecord: Codable, Equatable {
  var format = 1
  var branch: String
  var step: Int64
  var index: Int
  var parts: Int
  var tree: String
  var message: String
  var metrics: [String: Double]
  var metadata: [String: String]

  func encoded() throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(self)) + [10]
  }

  static func decode(_ bytes: [UInt8], key: PartKey) throws -> PartRecord {
    guard let record = try? JSONDecoder().decode(PartRecord.self, from: Data(bytes)),
      record.format == 1, record.branch == key.branch, record.step == key.step,
      record.index == key.index, record.parts == key.count, ObjectID(hex: record.tree) != nil
    else {
      throw StoreError(.corruptObject, "part record 'parts/\(key.path)' is not valid")
    }
    return record
  }
}

extension Store {
  /// How long a rank that completes the set of parts waits for the branch's writer lock (held by
  /// another rank building the same commit, or by a plain writer) before failing with `locked`.
  public static let partCommitWait = 60.0

  var partDirectory: any PartDirectory {
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
    try RefName.validate(branch, kind: "branch")
    guard parts >= 1, parts <= 1 << 16, part >= 0, part < parts else {
      throw StoreError(.invalidArgument, "part \(part) of \(parts) is out of range")
    }
    if let key = metadata.keys.first(where: { $0.hasPrefix(ShardedMetadataKeys.parts) }) {
      throw StoreError(.invalidArgument, "metadata key '\(key)' is reserved for sharded commits")
    }
    try checkPlacements(tensors, slices)
    let rank = "branch '\(branch)' step \(step) part \(part) of \(parts) (rank \(part))"

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

    if let landed = try landedCommit(branch: branch, step: step, parts: parts) {
      guard landed.metadata[ShardedMetadataKeys.part(part)] == tree.hex else {
        throw StoreError(
          .invalidArgument,
          "\(rank): commit \(landed.id.short) already holds this step with other content for "
            + "this rank (part tree \(landed.metadata[ShardedMetadataKeys.part(part)] ?? "-"), "
            + "now \(tree.hex))")
      }
      return .committed(landed)
    }
    try checkPartCount(branch: branch, step: step, parts: parts)
    let key = PartKey(branch: branch, step: step, index: part, count: parts)
    let record = PartRecord(
      branch: branch, step: step, index: part, parts: parts, tree: tree.hex, message: message,
      metrics: metrics, metadata: metadata)
    if let existing = try partDirectory.create(key, contents: try record.encoded()),
      existing != (try record.encoded())
    {
      let other = try? PartRecord.decode(existing, key: key)
      throw StoreError(
        .invalidArgument,
        "\(rank) was already recorded with other content (part tree \(other?.tree ?? "?"), "
          + "now \(tree.hex)); remove that attempt's records before saving it again")
    }
    gcGuard.unlock()
    let present = try checkPartCount(branch: branch, step: step, parts: parts)
    guard present.count == parts else {
      return .pending(recorded: present.count, parts: parts)
    }
    return .committed(try buildShardedCommit(branch: branch, step: step, records: present))
  }

  /// The records of (branch, step); throws if one was written as part of another count.
  @discardableResult
  private func checkPartCount(branch: String, step: Int64, parts: Int) throws -> [PartKey: [UInt8]]
  {
    let present = try partDirectory.records(branch: branch, step: step)
    if let other = present.keys.first(where: { $0.count != parts }) {
      throw StoreError(
        .invalidArgument,
        "branch '\(branch)' step \(step): part \(other.index) was recorded as one of "
          + "\(other.count) parts, this one as one of \(parts)")
    }
    return present
  }

  /// The branch head if it is the sharded commit of (step, parts).
  private func landedCommit(branch: String, step: Int64, parts: Int) throws -> Commit? {
    guard let head = try head(of: branch) else { return nil }
    let c = try commit(head)
    return c.step == step && c.metadata[ShardedMetadataKeys.parts] == String(parts) ? c : nil
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
    let decoded = try records.map { try PartRecord.decode($1, key: $0) }.sorted {
      $0.index < $1.index
    }
    let parts = decoded.count
    if let landed = try landedCommit(branch: branch, step: step, parts: parts) {
      for r in decoded where landed.metadata[ShardedMetadataKeys.part(r.index)] != r.tree {
        throw StoreError(
          .invalidArgument,
          "branch '\(branch)' step \(step): commit \(landed.id.short) holds other content for "
            + "rank \(r.index) than its part record")
      }
      return landed
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
    let parent = try head(of: branch)
    var metadata = decoded[0].metadata
    metadata[ShardedMetadataKeys.parts] = String(parts)
    for r in decoded { metadata[ShardedMetadataKeys.part(r.index)] = r.tree }
    var commit = Commit(
      id: rootTree, tree: rootTree, parents: parent.map { [$0] } ?? [], step: step,
      time: Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000),
      message: decoded[0].message, metrics: decoded[0].metrics, metadata: metadata,
      logicalBytes: Int64(merged.reduce(0) { $0 + $1.byteCount }), addedBytes: Int64(treeBytes))
    commit.id = try objects.put(.commit, commit.encoded()).id
    try objects.syncPending()
    try refs.update(
      RefStore.branchRef(branch), to: commit.id, expected: parent,
      message: "commit: step \(step), \(parts) parts")
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
    for (branch, step) in partDirectory.steps() {
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

  /// The trees that part records name: gc roots until their commit lands.
  func partRecordTrees() throws -> [ObjectID] {
    var out: [ObjectID] = []
    for (branch, step) in partDirectory.steps() {
      for (key, bytes) in try partDirectory.records(branch: branch, step: step) {
        out.append(ObjectID(hex: try PartRecord.decode(bytes, key: key).tree)!)
      }
    }
    return out
  }
}
