import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

/// Acceptance 1: push, clone, incremental push, fetch and remote-tracking revisions, `--latest`
/// clones and pruned markers, all against a real SeaweedFS.
final class RemoteSyncTests: XCTestCase {
  func testPushThenCloneIsCompleteAndByteIdentical() throws {
    let server = try SeaweedFS.shared()
    let dir = RemoteTest.folder(self)
    let store = try Store.create(at: dir + "/a")
    var commits: [Commit] = []
    for step in 1...3 {
      commits.append(
        try store.commit(
          RemoteTest.tensors(big: UInt64(step), small: 100 + UInt64(step)), to: "main",
          step: Int64(step), metrics: ["loss": 1 / Double(step)]))
    }
    try store.createTag("best", at: commits[1].id)
    let (remote, url) = try RemoteTest.remote(on: server)
    let report = try Push.run(store, to: remote, refs: ["main", "best"])
    XCTAssertEqual(report.refs.map(\.ref), ["refs/heads/main", "refs/tags/best"])
    XCTAssertEqual(store.remoteTrackingRefs("origin").first?.id, commits[2].id)

    let (clone, _) = try Clone.run(
      RemoteTest.reconnect(remote), configuration: RemoteConfiguration(url: url),
      into: dir + "/b")
    XCTAssertTrue(try clone.fsck().isClean)
    XCTAssertEqual(try clone.head(of: "main"), commits[2].id)
    XCTAssertEqual(try clone.tags().map(\.name), ["best"])
    for c in commits {
      XCTAssertFalse(clone.isPartial(c.id), "a full clone has every commit's data")
      XCTAssertEqual(try RemoteTest.contents(clone, c), try RemoteTest.contents(store, c))
      XCTAssertEqual(try clone.commit(c.id), c)
    }
    XCTAssertTrue(try RemoteFsck.run(RemoteTest.reconnect(remote)).isClean)
  }

  /// One changed tensor sends its chunk, the trees on its path and the commit: nothing else,
  /// and no listing of `objects/`.
  func testIncrementalPushSendsOnlyWhatChanged() throws {
    let server = try SeaweedFS.shared()
    let store = try Store.create(at: RemoteTest.folder(self) + "/a")
    try store.commit(RemoteTest.tensors(big: 1, small: 2, bias: 3), to: "main", step: 1)
    let (remote, _) = try RemoteTest.remote(on: server)
    _ = try Push.run(store, to: remote, refs: ["main"])

    // Only `nested/bias` changes: its one chunk, the `nested/` tree, the root tree, the commit.
    let second = try store.commit(
      RemoteTest.tensors(big: 1, small: 2, bias: 4), to: "main", step: 2)
    let again = RemoteTest.reconnect(remote)
    let report = try Push.run(store, to: again, refs: ["main"])
    let objectKeys = again.stats.keysWritten.filter { $0.hasPrefix("objects/") }
    XCTAssertEqual(report.objectsSent, 4)
    XCTAssertEqual(objectKeys.count, 4, "\(objectKeys)")
    let bias = try store.tensorInfo(named: "nested/bias", in: second)
    XCTAssertTrue(
      objectKeys.contains(
        "objects/" + bias.chunks[0].hex.prefix(2) + "/" + bias.chunks[0].hex.dropFirst(2)))
    XCTAssertTrue(
      objectKeys.contains("objects/" + second.id.hex.prefix(2) + "/" + second.id.hex.dropFirst(2)))
    // Besides the objects: the lease, then the ref; and only small listings.
    XCTAssertEqual(again.stats.keysWritten.count, objectKeys.count + 2)
    XCTAssertEqual(again.stats.keysWritten.last, "refs/heads/main")
    XCTAssertFalse(again.stats.prefixesListed.contains { $0.hasPrefix("objects") })
    XCTAssertLessThanOrEqual(again.stats.totalRequests, objectKeys.count + 10)
  }

  func testFetchGivesRemoteTrackingRevisionsThatReadLazily() throws {
    let server = try SeaweedFS.shared()
    let dir = RemoteTest.folder(self)
    let a = try Store.create(at: dir + "/a")
    try a.commit(RemoteTest.tensors(big: 1, small: 2), to: "main", step: 100)
    let (remote, url) = try RemoteTest.remote(on: server)
    _ = try Push.run(a, to: remote, refs: ["main"])
    let b = try Clone.run(
      RemoteTest.reconnect(remote), configuration: RemoteConfiguration(url: url),
      into: dir + "/b"
    ).store

    let s200 = try a.commit(RemoteTest.tensors(big: 3, small: 4), to: "main", step: 200)
    let s300 = try a.commit(RemoteTest.tensors(big: 3, small: 5), to: "main", step: 300)
    _ = try Push.run(a, to: remote, refs: ["main"])
    let fetching = RemoteTest.reconnect(remote)
    let report = try Fetch.run(b, from: fetching)
    XCTAssertEqual(report.refs, [TrackingRef(name: "origin/main", id: s300.id.hex)])
    XCTAssertEqual(report.commitsReceived, 2)
    XCTAssertEqual(fetching.stats.bytesReceived < 10_000, true, "fetch moves no tensor data")

    XCTAssertEqual(try b.resolve("origin/main").id, s300.id)
    XCTAssertEqual(try b.resolve("origin/main:step-200").id, s200.id)
    XCTAssertEqual(try b.resolve("origin/main~1").id, s200.id)
    XCTAssertEqual(try b.head(of: "main"), try a.history(from: s300.id).last?.id)
    XCTAssertTrue(b.isPartial(s200.id))
    // Without the remote, a partial commit is refused, named; with it, reads fetch what they
    // read: one tensor's chunk, not the whole commit.
    XCTAssertThrowsError(try b.tensors(in: s200)) { error in
      XCTAssertTrue("\(error)".contains(s200.id.short), "\(error)")
    }
    let lazy = RemoteTest.reconnect(remote)
    b.objectFallback = RemoteFallback([lazy])
    let small = try b.tensorInfo(named: "small", in: s200)
    XCTAssertEqual(try b.read(small), try a.read(try a.tensorInfo(named: "small", in: s200)))
    XCTAssertLessThan(lazy.stats.bytesReceived, 100_000, "only the trees and one small chunk")
    XCTAssertEqual(try RemoteTest.contents(b, s300), try RemoteTest.contents(a, s300))
  }

  /// `--latest` brings the history and one checkpoint's data: ≤ 1.1× its stored bytes.
  func testLatestCloneTransfersAboutOneCheckpoint() throws {
    let server = try SeaweedFS.shared()
    let dir = RemoteTest.folder(self)
    let store = try Store.create(at: dir + "/a")
    var last: Commit?
    for step in 1...10 {
      last = try store.commit(
        RemoteTest.tensors(big: UInt64(step), small: UInt64(50 + step), bias: UInt64(90 + step)),
        to: "main", step: Int64(step))
    }
    let (remote, url) = try RemoteTest.remote(on: server)
    _ = try Push.run(store, to: remote, refs: ["main"])
    let cloning = RemoteTest.reconnect(remote)
    let clone = try Clone.run(
      cloning, configuration: RemoteConfiguration(url: url), into: dir + "/b", depth: .newest(1)
    ).store
    let stored = try store.dataObjects(of: last!).reduce(0) {
      $0
        + (try FileManager.default.attributesOfItem(atPath: store.objectFilePath($1))[.size]
          as! Int)
    }
    let ratio = Double(cloning.stats.bytesReceived) / Double(stored)
    XCTAssertLessThanOrEqual(
      ratio, 1.1, "received \(cloning.stats.bytesReceived), one is \(stored)")
    XCTAssertEqual(try clone.history(from: last!.id).count, 10)
    XCTAssertFalse(clone.isPartial(last!.id))
    XCTAssertTrue(clone.isPartial(try clone.resolve("main~1").id))
    XCTAssertTrue(try clone.fsck().isClean)
    XCTAssertEqual(try RemoteTest.contents(clone, last!), try RemoteTest.contents(store, last!))
  }

  /// Commits pruned before a push travel as markers; a remote gc's prunes reach a fetch.
  func testPrunedMarkersTravelBothWays() throws {
    let server = try SeaweedFS.shared()
    let dir = RemoteTest.folder(self)
    let store = try Store.create(at: dir + "/a")
    var commits: [Commit] = []
    for step in 1...4 {
      commits.append(
        try store.commit(
          RemoteTest.tensors(big: UInt64(step), small: 2), to: "main", step: Int64(step)))
    }
    _ = try store.gc(policy: RetentionPolicy(keepLast: 3))
    XCTAssertTrue(store.isPruned(commits[0].id))
    let (remote, url) = try RemoteTest.remote(on: server)
    _ = try Push.run(store, to: remote, refs: ["main"])
    let clone = try Clone.run(
      RemoteTest.reconnect(remote), configuration: RemoteConfiguration(url: url),
      into: dir + "/b", depth: .newest(1)
    ).store
    XCTAssertEqual(try clone.history(from: commits[3].id).count, 4, "log lists every commit")
    XCTAssertTrue(clone.isPruned(commits[0].id))
    XCTAssertTrue(clone.isPartial(commits[1].id))

    let gc = try RemoteGC.run(
      RemoteTest.reconnect(remote), policy: RetentionPolicy(keepLast: 1), grace: 0)
    XCTAssertEqual(Set(gc.prunedCommits), Set([commits[1].id.hex, commits[2].id.hex]))
    XCTAssertGreaterThan(gc.objectsDeleted, 0)
    _ = try Fetch.run(clone, from: RemoteTest.reconnect(remote))
    XCTAssertTrue(clone.isPruned(commits[1].id))
    XCTAssertFalse(clone.isPartial(commits[1].id))
    XCTAssertTrue(try RemoteFsck.run(RemoteTest.reconnect(remote)).isClean)
    // The local store keeps the data it has: a remote prune does not take it away.
    XCTAssertFalse(store.isPruned(commits[1].id))
  }
}
