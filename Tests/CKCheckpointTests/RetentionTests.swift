import CKCheckpoint
import CKEngine
import CKStore
import Foundation
import Testing

/// Acceptance 5: `maxToKeep: 3` leaves exactly the 3 newest checkpoints with data after 10
/// saves, `log` lists all 10, and a manager never drops another branch's or a tagged commit.
@Suite struct RetentionTests {
  /// Chunk ids used by the commits that keep data.
  func liveChunks(_ store: Store, _ commits: [Commit]) throws -> Set<ObjectID> {
    var out = Set<ObjectID>()
    for c in commits where !store.isPruned(c.id) {
      out.formUnion(try store.tensors(in: c).flatMap(\.chunks))
    }
    return out
  }

  @Test func maxToKeep3LeavesTheThreeNewestAndLogListsAllTen() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 3)
    let manager = try CheckpointManager(run.checkpoint, store: store, maxToKeep: 3)
    var saved: [SavedCheckpoint] = []
    for _ in 0..<10 {
      try run.train(2)
      saved.append(try #require(try manager.save(metrics: ["loss": Double(run.checkpoint.step)])))
    }
    #expect(saved.map(\.step) == Array(stride(from: 2, through: 20, by: 2)))
    #expect(try manager.checkpoints().map(\.step) == [20, 18, 16])
    #expect(try manager.latest()?.commit == saved[9].commit)

    let history = try store.history(from: try #require(try store.head(of: "main")))
    #expect(history.count == 10)
    #expect(history.filter { store.isPruned($0.id) }.map(\.step) == [14, 12, 10, 8, 6, 4, 2])
    for old in saved.prefix(7) {
      let error = try #require(throws: StoreError.self) { try store.readSnapshot(old.commit) }
      #expect(error.code == .prunedCommit)
      let restoreError = try #require(throws: StoreError.self) { try manager.restore(old.name) }
      #expect(restoreError.code == .prunedCommit)
    }
    let tensorCount = try run.checkpoint.tensors().count
    #expect(tensorCount == 20)
    for kept in saved.suffix(3) {
      #expect(try store.readSnapshot(kept.commit).count == tensorCount)
    }

    // The data of the 7 dropped checkpoints is freed: the chunk files are exactly those the
    // 3 kept ones use, fewer than 10 saves wrote.
    let stats = try store.stats()
    #expect(stats.commits == 10)
    #expect(stats.prunedCommits == 7)
    #expect(stats.commitObjects == 10, "metadata of every checkpoint stays")
    let live = try liveChunks(store, history)
    #expect(stats.chunkObjects == live.count)
    let everWritten = saved.reduce(0) { $0 + $1.commit.addedBytes }
    #expect(stats.uniqueBytes < everWritten / 2, "\(stats.uniqueBytes) of \(everWritten)")

    // `ckstore log` lists all 10, the 7 old ones marked pruned.
    let log = try CLI.ok(["log", "--oneline", "--store", dir.path("store")])
    let lines = log.stdout.split(separator: "\n")
    #expect(lines.count == 10)
    for s in saved { #expect(log.stdout.contains("step-\(s.step) ")) }
    #expect(lines.filter { $0.hasSuffix("[pruned]") }.count == 7)
    #expect(lines.prefix(3).allSatisfy { !$0.hasSuffix("[pruned]") })
  }

  @Test func aManagerNeverDropsAnotherBranchesOrATaggedCommit() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 3)
    let manager = try CheckpointManager(run.checkpoint, store: store, maxToKeep: 2)
    var saved: [SavedCheckpoint] = []
    // Another branch with its own history, and a branch and a tag on early main commits.
    try store.commit(try run.checkpoint.tensors(), to: "other", step: 0)
    try store.commit(
      [try TensorData(name: "x", shape: [2], float32: [1, 2])], to: "other", step: 1)
    for i in 0..<10 {
      try run.train(1)
      saved.append(try #require(try manager.save()))
      if i == 1 { try store.createTag("best", at: saved[0].commit.id) }
      if i == 4 { try store.createBranch("experiment", at: saved[4].commit.id) }
    }
    let otherHistory = try store.history(from: try #require(try store.head(of: "other")))
    #expect(otherHistory.count == 2)
    #expect(otherHistory.allSatisfy { !store.isPruned($0.id) })
    #expect(!store.isPruned(saved[0].commit.id), "tagged")
    #expect(!store.isPruned(saved[4].commit.id), "another branch's head")
    #expect(!store.isPruned(saved[3].commit.id), "reachable from another branch")
    #expect(try store.readSnapshot(try store.resolve("best")).count == 20)
    #expect(try store.readSnapshot(try store.resolve("experiment")).count == 20)
    let prunedSteps = saved.filter { store.isPruned($0.commit.id) }.map(\.step)
    // 2 and 3 were dropped before the branch existed (keep 2: at step 5 they were 3rd and 4th).
    #expect(prunedSteps == [2, 3, 6, 7, 8])
    #expect(try manager.checkpoints().map(\.step) == [10, 9, 5, 4, 1])
  }
}
