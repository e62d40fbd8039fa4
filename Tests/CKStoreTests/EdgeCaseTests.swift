import CKStore
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Locks, paths, names and refs at the edges (issue 13, items 2, 5, 8, 9 and 10).
@Suite struct EdgeCaseTests {
  /// Item 2: a ref lock left by a killed writer, however fresh, is broken at once by the next
  /// writer and by gc; a held one never is.
  @Test func aFreshStaleRefLockIsBrokenAtOnce() throws {
    let t = try TempStore(chunkSize: 4096)
    try t.store.commit([try Make.float32("w", [8], seed: 1)], to: "main", step: 1)
    let lock = t.path + "/refs/heads/main.lock"
    try Files.write([], to: lock)
    let c2 = try t.store.commit([try Make.float32("w", [8], seed: 2)], to: "main", step: 2)
    #expect(try t.store.head(of: "main") == c2.id)
    #expect(!Files.exists(lock))
    try Files.write([], to: lock)
    #expect(try t.store.gc().staleLocksRemoved == [lock])
    #expect(!Files.exists(lock))
    let held = try HeldLock(lock)
    #expect(try t.store.gc().staleLocksRemoved == [])
    let blocked = storeError { try t.store.commit([], to: "main", step: 3) }
    #expect(blocked?.code == .locked)
    #expect(try t.store.head(of: "main") == c2.id)
    withExtendedLifetime(held) {}
  }

  /// Item 2: many processes' worth of writers racing for one ref through stale and fresh lock
  /// files never both hold it: every tag creation of one name but one fails.
  @Test func racingCreatorsOfOneRefNeverBothWin() throws {
    let t = try TempStore(chunkSize: 4096)
    let c = try t.store.commit([try Make.float32("w", [8], seed: 1)], to: "main", step: 1)
    let store = t.store
    for round in 0..<20 {
      let name = "race-\(round)"
      try Files.write([], to: t.path + "/refs/tags/\(name).lock")
      let wins = Mutex(0)
      DispatchQueue.concurrentPerform(iterations: 8) { _ in
        if (try? store.createTag(name, at: c.id)) != nil { wins.withLock { $0 += 1 } }
      }
      #expect(wins.withLock { $0 } == 1)
    }
  }

  /// Item 5: gc through a symlinked `tmp/` removes only dead `<pid>-<nonce>` folders and never
  /// follows a link into another folder.
  @Test func gcNeverFollowsLinksUnderTmp() throws {
    let t = try TempStore(chunkSize: 4096)
    let outside = t.path + "-outside"
    defer { try? FileManager.default.removeItem(atPath: outside) }
    let fm = FileManager.default
    try fm.createDirectory(atPath: outside + "/tmp", withIntermediateDirectories: true)
    try fm.removeItem(atPath: t.path + "/tmp")
    try fm.createSymbolicLink(atPath: t.path + "/tmp", withDestinationPath: outside + "/tmp")
    // Someone else's files in the link's target, old.
    try Files.write([1], to: outside + "/tmp/precious.txt")
    try fm.createDirectory(atPath: outside + "/tmp/project", withIntermediateDirectories: true)
    try Files.write([2], to: outside + "/tmp/project/data.bin")
    try Files.backdate(outside + "/tmp/project", by: 3600)
    // A dead scratch folder holding a link to a folder with files.
    try fm.createDirectory(atPath: outside + "/victim", withIntermediateDirectories: true)
    try Files.write([3], to: outside + "/victim/keep.bin")
    let dead = outside + "/tmp/999999-1"
    try fm.createDirectory(atPath: dead, withIntermediateDirectories: true)
    try Files.write([4], to: dead + "/1.tmp")
    try fm.createSymbolicLink(atPath: dead + "/link", withDestinationPath: outside + "/victim")
    try Files.backdate(dead, by: 3600)
    // A link named like a scratch folder.
    try fm.createSymbolicLink(
      atPath: outside + "/tmp/999999-2", withDestinationPath: outside + "/victim")
    try Files.backdate(outside + "/tmp/project", by: 3600)

    // A process started after the link was planted.
    let store = try Store.open(at: t.path)
    _ = try store.gc()
    #expect(Files.exists(outside + "/tmp/precious.txt"))
    #expect(Files.exists(outside + "/tmp/project/data.bin"))
    #expect(Files.exists(outside + "/victim/keep.bin"))
    #expect(!Files.exists(dead))
    #expect(
      try store.commit([try Make.float32("w", [8], seed: 1)], to: "main", step: 1).step == 1)
  }

  /// Item 8: `a/b` and `a%2Fb` are different branches with different writer locks.
  @Test func branchLockNamesDoNotCollide() throws {
    let t = try TempStore(chunkSize: 4096)
    let one = try t.store.writer(branch: "a/b")
    let other = try t.store.writer(branch: "a%2Fb")
    try one.commit([try Make.float32("w", [8], seed: 1)], step: 1)
    try other.commit([try Make.float32("w", [8], seed: 2)], step: 1)
    #expect(try t.store.head(of: "a/b") != t.store.head(of: "a%2Fb"))
    #expect(storeError { try t.store.writer(branch: "a%2Fb") }?.code == .locked)
  }

  /// Item 10: names too long for the file system fail the name rule, not the file system.
  @Test func tooLongNamesAreRefusedByTheNameRule() throws {
    let t = try TempStore(chunkSize: 4096)
    let c = try t.store.commit([try Make.float32("w", [8], seed: 1)], to: "main", step: 1)
    for name in [String(repeating: "x", count: 255), String(repeating: "x", count: 251)] {
      let e = storeError { try t.store.createBranch(name, at: c.id) }
      #expect(e?.code == .invalidName && e?.message.contains("at most 250") == true, "\(e!)")
    }
    let deep = Array(repeating: String(repeating: "d", count: 60), count: 5).joined(separator: "/")
    let e = storeError { try t.store.createBranch(deep, at: c.id) }
    #expect(
      e?.code == .invalidName && e?.message.contains("too long") == true, "\(String(describing: e))"
    )
    try t.store.createBranch(String(repeating: "y", count: 250), at: c.id)
    try t.store.createTag(String(repeating: "z", count: 250), at: c.id)
  }

  /// Item 10: `a` and `a/b` cannot both exist, and the error says so in both directions.
  @Test func nestedRefConflictsAreExplained() throws {
    let t = try TempStore(chunkSize: 4096)
    let c = try t.store.commit([try Make.float32("w", [8], seed: 1)], to: "main", step: 1)
    try t.store.createBranch("a", at: c.id)
    let down = storeError { try t.store.createBranch("a/b", at: c.id) }
    #expect(
      down?.code == .refConflict && down?.message.contains("'refs/heads/a' exists") == true,
      "\(String(describing: down))")
    try t.store.createTag("x/y", at: c.id)
    let up = storeError { try t.store.createTag("x", at: c.id) }
    #expect(
      up?.code == .refConflict && up?.message.contains("'refs/tags/x/y' exists") == true,
      "\(String(describing: up))")
    #expect(try t.store.branches().map(\.name) == ["a", "main"])
  }

  /// Item 10: a delta chunk whose base is gone names both.
  @Test func aMissingDeltaBaseIsNamed() throws {
    let t = try TempStore(
      configuration: StoreConfiguration(chunkSize: 4096, deltaAgainstParent: true))
    var values = (0..<1024).map { Float($0) }
    try t.store.commit(
      [try TensorData(name: "w", shape: [1024], float32: values)], to: "main", step: 1)
    values[3] += 1
    let second = try t.store.commit(
      [try TensorData(name: "w", shape: [1024], float32: values)], to: "main", step: 2)
    let first = try t.store.resolve("main~1")
    let baseID = try #require(try t.store.tensors(in: first).first?.chunks.first)
    let deltaID = try #require(try t.store.tensors(in: second).first?.chunks.first)
    try #require(baseID != deltaID)
    try FileManager.default.removeItem(
      atPath: t.path + "/objects/" + baseID.hex.prefix(2) + "/" + baseID.hex.dropFirst(2))
    let info = try #require(try t.store.tensors(in: second).first)
    let e = storeError { try t.store.read(info) }
    #expect(e?.code == .objectNotFound, "\(String(describing: e))")
    #expect(
      e?.message.contains(deltaID.hex) == true && e?.message.contains("base is missing") == true,
      "\(String(describing: e))")
  }

  /// Item 9: one malformed ref: fsck reports it and checks the rest; other branches stay
  /// readable; gc refuses to delete anything; HEAD is checked.
  @Test func aMalformedRefIsReportedAndHidesNothingElse() throws {
    let t = try TempStore(chunkSize: 4096)
    let c1 = try t.store.commit([try Make.float32("w", [64], seed: 1)], to: "main", step: 1)
    try t.store.commit([try Make.float32("w", [64], seed: 2)], to: "exp", step: 1)
    try t.store.commit([try Make.float32("w", [64], seed: 3)], to: "main", step: 2)
    try Files.write(Array("not a commit id\n".utf8), to: t.path + "/refs/heads/exp")
    let report = try t.store.fsck()
    #expect(report.problems.map(\.object) == ["refs/heads/exp"])
    #expect(report.commitsChecked == 2)
    #expect(try t.store.branches().map(\.name) == ["main"])
    #expect(try t.store.history(from: t.store.resolve("main").id).count == 2)
    #expect(try t.store.stats().commits == 2)
    let objects = t.objectFiles().count
    let gc = storeError { try t.store.gc(policy: RetentionPolicy(keepLast: 1)) }
    #expect(gc?.code == .corruptObject && gc?.message.contains("refs/heads/exp") == true)
    #expect(t.objectFiles().count == objects)
    #expect(!t.store.isPruned(c1.id))
    try Files.write(Array("ref: refs/heads/..\n".utf8), to: t.path + "/HEAD")
    #expect(try t.store.fsck().problems.map(\.object) == ["refs/heads/exp", "HEAD"])
  }

  /// Item 9: a commit whose chunk exists but is damaged rewrites it instead of deduplicating, so
  /// the new commit exports.
  @Test func aCommitDoesNotDedupeAgainstATruncatedChunk() throws {
    let t = try TempStore(chunkSize: 4096)
    let w = try Make.float32("w", [1024], seed: 7)
    let c1 = try t.store.commit([w], to: "main", step: 1)
    let chunk = try #require(try t.store.tensors(in: c1).first?.chunks.first)
    let path = t.path + "/objects/" + chunk.hex.prefix(2) + "/" + chunk.hex.dropFirst(2)
    try Files.write(Array(try Files.read(path).prefix(10)), to: path)
    let c2 = try t.store.commit([w], to: "main", step: 2)
    let info = try #require(try t.store.tensors(in: c2).first)
    #expect(try t.store.read(info) == w.bytes)
    #expect(try t.store.fsck().isClean)
  }

  /// Item 11: a reader racing gc pruning the very commit it reads sees its bytes intact or a
  /// typed `objectNotFound`/`prunedCommit`, nothing else (the contract in FORMAT.md).
  @Test func readersRacingRetentionSeeIntactBytesOrATypedError() throws {
    let t = try TempStore(chunkSize: 4096)
    let store = t.store
    var expected: [ObjectID: [UInt8]] = [:]
    for step in 1...12 {
      let w = try Make.float32("w", [4096], seed: UInt64(step))
      expected[try store.commit([w], to: "main", step: Int64(step)).id] = w.bytes
    }
    let ids = Array(expected.keys)
    let wanted = expected
    let outcomes = Mutex<[String: Int]>([:])
    let done = Atomic<Bool>(false)
    let readers = DispatchGroup()
    for r in 0..<2 {
      DispatchQueue.global().async(group: readers) {
        var i = r
        while !done.load(ordering: .relaxed) {
          let id = ids[i % ids.count]
          i += 1
          let outcome: String
          do {
            let c = try store.commit(id)
            let info = try store.tensors(in: c)[0]
            outcome = try store.read(info) == wanted[id] ? "intact" : "WRONG BYTES"
          } catch let e as StoreError where [.objectNotFound, .prunedCommit].contains(e.code) {
            outcome = e.code.rawValue
          } catch {
            outcome = "other: \(error)"
          }
          outcomes.withLock { $0[outcome, default: 0] += 1 }
        }
      }
    }
    // The readers must be reading before gc starts: on a loaded machine they were scheduled
    // only after the last gc, and then no read was intact.
    let start = Date()
    while outcomes.withLock({ $0["intact", default: 0] }) < 2, Date().timeIntervalSince(start) < 30
    {
      usleep(1_000)
    }
    for keep in stride(from: 11, through: 1, by: -2) {
      _ = try store.gc(policy: RetentionPolicy(keepLast: keep))
    }
    done.store(true, ordering: .relaxed)
    readers.wait()
    let seen = outcomes.withLock { $0 }
    #expect(Set(seen.keys).isSubset(of: ["intact", "objectNotFound", "prunedCommit"]), "\(seen)")
    #expect(seen["intact", default: 0] > 0)
    #expect(try store.fsck().isClean)
  }
}
