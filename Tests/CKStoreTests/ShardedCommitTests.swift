import CKStore
import Foundation
import Testing

/// The sharded save protocol on a local store (docs/FORMAT.md, "Sharded commits").
@Suite struct ShardedCommitTests {
  /// A 4-part checkpoint: `emb` [64, 16] and `head` [12, 5] in row slices, `bias.<i>` whole in
  /// part i, and `scale` replicated (the same data in every part).
  struct Job {
    let emb = RowSharded(name: "emb", shape: [64, 16], seed: 1, rows: evenRows(64, 4))
    let head = RowSharded(
      name: "head", shape: [12, 5], seed: 2, rows: [0..<2, 2..<3, 3..<9, 9..<12])
    let scale = try! TensorData(name: "scale", shape: [3], float32: [1, 2, 3])

    func bias(_ i: Int) -> TensorData {
      try! TensorData(name: "bias.\(i)", shape: [2], float32: [Float(i), -Float(i)])
    }

    func save(_ store: Store, part i: Int, step: Int64 = 5, emb: RowSharded? = nil) throws
      -> PartOutcome
    {
      let (e, ep) = try (emb ?? self.emb).part(i)
      let (h, hp) = try head.part(i)
      return try store.commitPart(
        [e, h, TensorSource(bias(i)), TensorSource(scale)], slices: ["emb": ep, "head": hp],
        part: i, of: 4, branch: "main", step: step, message: "sharded", metrics: ["loss": 0.25])
    }
  }

  @Test func fourPartsMakeOneCommitWhenTheLastLands() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    for i in [2, 0, 3] {
      #expect(
        try job.save(t.store, part: i)
          == .pending(recorded: [2, 0, 3].firstIndex(of: i)! + 1, parts: 4))
      #expect(try t.store.head(of: "main") == nil)
    }
    guard case .committed(let commit) = try job.save(t.store, part: 1) else {
      Issue.record("the last part did not commit")
      return
    }
    #expect(try t.store.head(of: "main") == commit.id)
    #expect(commit.step == 5 && commit.message == "sharded" && commit.metrics == ["loss": 0.25])
    #expect(commit.metadata["ckstore.parts"] == "4")
    #expect(try t.store.history(from: commit.id).count == 1)
    let snapshot = Dictionary(
      uniqueKeysWithValues: try t.store.readSnapshot(commit).map { ($0.name, $0) })
    #expect(snapshot["emb"]?.bytes == job.emb.bytes && snapshot["emb"]?.shape == [64, 16])
    #expect(snapshot["head"]?.bytes == job.head.bytes && snapshot["head"]?.shape == [12, 5])
    #expect(snapshot["scale"] == job.scale)
    for i in 0..<4 { #expect(snapshot["bias.\(i)"] == job.bias(i)) }
    let emb = try t.store.tensorInfo(named: "emb", in: commit)
    #expect(emb.slices.map(\.part) == [0, 1, 2, 3])
    let logical: Int64 = 64 * 16 * 4 + 12 * 5 * 4 + 12 + 4 * 8
    #expect(commit.logicalBytes == logical)
    #expect(!FileManager.default.fileExists(atPath: t.path + "/parts/main/5"))
    #expect(try t.store.fsck().isClean)
  }

  @Test func concurrentPartsYieldExactlyOneCommit() throws {
    for round in 0..<5 {
      let t = try TempStore(chunkSize: 256)
      let job = Job()
      let outcomes = LockedOutcomes()
      let store = t.store
      DispatchQueue.concurrentPerform(iterations: 4) { i in
        outcomes.add(Result { try job.save(store, part: i) })
      }
      let results = try outcomes.all.map { try $0.get() }
      let ids = Set(
        results.compactMap { r -> ObjectID? in
          if case .committed(let c) = r { return c.id }
          return nil
        })
      #expect(ids.count == 1, "round \(round): \(results)")
      let head = try #require(try t.store.head(of: "main"))
      #expect(ids == [head])
      #expect(try t.store.history(from: head).count == 1)
      #expect(try t.store.fsck().isClean)
    }
  }

  @Test func samePartTwiceIsIdempotentOtherContentIsRefused() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    #expect(try job.save(t.store, part: 0) == .pending(recorded: 1, parts: 4))
    #expect(try job.save(t.store, part: 0) == .pending(recorded: 1, parts: 4))
    let changed = RowSharded(name: "emb", shape: [64, 16], seed: 99, rows: evenRows(64, 4))
    let before = try #require(
      throws: StoreError.self, performing: { try job.save(t.store, part: 0, emb: changed) })
    #expect(before.code == .invalidArgument)
    #expect(before.message.contains("step 5") && before.message.contains("rank 0"))
    #expect(before.message.contains("branch 'main'"))
    for i in 1..<4 { _ = try job.save(t.store, part: i) }
    let head = try #require(try t.store.head(of: "main"))
    // After the commit landed: the same part again reports the commit, another is refused.
    #expect(try job.save(t.store, part: 2) == .committed(try t.store.commit(head)))
    let after = try #require(
      throws: StoreError.self, performing: { try job.save(t.store, part: 2, emb: changed) })
    #expect(after.code == .invalidArgument && after.message.contains("rank 2"))
    #expect(try t.store.head(of: "main") == head)
    #expect(try t.store.history(from: head).count == 1)
  }

  @Test func overlappingSlicesAreRefusedNamingTensorAndRanks() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    let bad = RowSharded(
      name: "emb", shape: [64, 16], seed: 1, rows: [0..<16, 12..<32, 32..<48, 48..<64])
    for i in 0..<3 { _ = try job.save(t.store, part: i, emb: bad) }
    let error = try #require(
      throws: StoreError.self, performing: { try job.save(t.store, part: 3, emb: bad) })
    #expect(error.code == .invalidTensor)
    #expect(error.message.contains("'emb'") && error.message.contains("rank 0"))
    #expect(error.message.contains("rank 1") && error.message.contains("overlap"))
    #expect(try t.store.head(of: "main") == nil)
    #expect(try t.store.fsck().isClean)
  }

  @Test func aGapIsRefusedNamingTensorAndRanks() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    let bad = RowSharded(
      name: "emb", shape: [64, 16], seed: 1, rows: [0..<16, 16..<30, 32..<48, 48..<64])
    for i in 0..<3 { _ = try job.save(t.store, part: i, emb: bad) }
    let error = try #require(
      throws: StoreError.self, performing: { try job.save(t.store, part: 3, emb: bad) })
    #expect(error.code == .invalidTensor)
    #expect(error.message.contains("'emb'") && error.message.contains("gap"))
    #expect(error.message.contains("rows 30..<32 between rank 1 and rank 2"))
    #expect(try t.store.head(of: "main") == nil)
  }

  @Test func gcKeepsThePartsOfAnUnfinishedSave() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    for i in 0..<3 { _ = try job.save(t.store, part: i) }
    let report = try t.store.gc()
    #expect(report.objectsDeleted == 0)
    // The re-run of the missing part completes the checkpoint from the parts gc kept.
    guard case .committed(let commit) = try job.save(t.store, part: 3) else {
      Issue.record("no commit")
      return
    }
    let emb = try t.store.readTensor(named: "emb", in: commit)
    #expect(emb.bytes == job.emb.bytes)
    #expect(try t.store.fsck().isClean)
  }

  @Test func gcRemovesTheRecordsOfALandedCommitOnly() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    for i in 0..<4 { _ = try job.save(t.store, part: i, step: 5) }
    for i in 0..<3 { _ = try job.save(t.store, part: i, step: 6) }
    // As if the builder of step 5 died between its ref update and its cleanup: its records
    // (the same bytes, made in a second store from the same data) are back.
    let fm = FileManager.default
    let step5 = t.path + "/parts/main/5"
    try fm.createDirectory(atPath: step5, withIntermediateDirectories: true)
    let other = try TempStore(chunkSize: 256)
    for i in 0..<3 { _ = try job.save(other.store, part: i, step: 5) }
    for i in 0..<3 {
      try fm.copyItem(
        atPath: other.path + "/parts/main/5/\(i)-of-4", toPath: step5 + "/\(i)-of-4")
    }
    _ = try t.store.gc()
    #expect(!fm.fileExists(atPath: step5))
    #expect(try fm.contentsOfDirectory(atPath: t.path + "/parts/main/6").count == 3)
    guard case .committed(let six) = try job.save(t.store, part: 3, step: 6) else {
      Issue.record("step 6 did not commit after gc")
      return
    }
    #expect(try t.store.readTensor(named: "emb", in: six).bytes == job.emb.bytes)
  }

  /// The local counterpart of the remote's moved-branch cases: the builder holds the branch's
  /// writer lock, so the branch never moves inside a build (no `rejected` here). A commit made
  /// between the parts, and one made by a writer the builder waits for, are both below it.
  @Test func commitsMadeBeforeTheBuildAreTheShardedCommitsAncestors() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    for i in 0..<3 { _ = try job.save(t.store, part: i) }
    let between = try t.store.commit([job.scale], to: "main", step: 3)
    let writer = try t.store.writer(branch: "main")
    let extra = job.bias(7)
    let held = LockedCommit()
    let done = DispatchSemaphore(value: 0)
    Thread {
      // The last part completes the set while this writer holds the branch.
      usleep(200_000)
      held.set(Result { try writer.commit([extra], step: 4) })
      writer.close()
      done.signal()
    }.start()
    let outcome = try job.save(t.store, part: 3)
    done.wait()
    let plain = try #require(try held.value?.get())
    guard case .committed(let commit) = outcome else {
      Issue.record("the last part did not commit")
      return
    }
    #expect(plain.parents == [between.id])
    #expect(commit.parents == [plain.id] && commit.step == 5)
    #expect(try t.store.head(of: "main") == commit.id)
    #expect(try t.store.readTensor(named: "emb", in: commit).bytes == job.emb.bytes)
    #expect(try t.store.fsck().isClean)
  }

  @Test func aPartOfAnotherCountIsRefused() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    _ = try job.save(t.store, part: 0)
    let scale = TensorSource(job.scale)
    let error = try #require(
      throws: StoreError.self,
      performing: {
        try t.store.commitPart([scale], part: 1, of: 2, branch: "main", step: 5)
      })
    #expect(error.message.contains("one of 4 parts"))
  }

  /// A sharded commit's part keys describe the store, not the checkpoint: an export leaves them
  /// out, and an import of a file that has them (older exports) ignores them, so the copy is an
  /// ordinary commit and not one that claims part trees it does not have.
  @Test func partKeysDoNotTravelThroughExportAndImport() throws {
    let t = try TempStore(chunkSize: 256)
    let job = Job()
    for i in 0..<4 { _ = try job.save(t.store, part: i) }
    let commit = try t.store.resolve("main")
    #expect(commit.metadata[ShardedMetadataKeys.parts] == "4")
    let exported = Store.exportMetadata(commit)
    #expect(!exported.keys.contains { $0.hasPrefix("ckstore.part") }, "\(exported)")
    let older = exported.merging(commit.metadata) { a, _ in a }
    let split = try CommitMetadataKeys.split(older, file: "old.safetensors")
    #expect(split.step == 5 && split.rest.keys.allSatisfy { !ShardedMetadataKeys.isSharded($0) })
  }
}

/// Outcomes collected from concurrent ranks.
final class LockedOutcomes: @unchecked Sendable {
  private let lock = NSLock()
  private var results: [Result<PartOutcome, Error>] = []
  func add(_ r: Result<PartOutcome, Error>) { lock.withLock { results.append(r) } }
  var all: [Result<PartOutcome, Error>] { lock.withLock { results } }
}

/// A commit made on another thread.
final class LockedCommit: @unchecked Sendable {
  private let lock = NSLock()
  private var result: Result<Commit, Error>?
  func set(_ r: Result<Commit, Error>) { lock.withLock { result = r } }
  var value: Result<Commit, Error>? { lock.withLock { result } }
}
