import CKStore
import Foundation
import Testing

/// Collects failures from many threads.
final class Failures: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [String] = []
  private var counters: [String: Int] = [:]

  func add(_ message: String) { lock.withLock { list.append(message) } }
  func count(_ key: String) { lock.withLock { counters[key, default: 0] += 1 } }
  var all: [String] { lock.withLock { list } }
  func counter(_ key: String) -> Int { lock.withLock { counters[key] ?? 0 } }
}

/// Commit ids and the payload number each carries, recorded from another thread.
final class CommitLog: @unchecked Sendable {
  private let lock = NSLock()
  private var map: [ObjectID: Int64] = [:]
  func record(_ id: ObjectID, _ n: Int64) { lock.withLock { map[id] = n } }
  var all: [ObjectID: Int64] { lock.withLock { map } }
}

/// A flag one thread sets and others poll.
final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  func set() { lock.withLock { value = true } }
  var isSet: Bool { lock.withLock { value } }
}

@Suite struct ConcurrencyTests {
  /// The tensors committed at `step`: deterministic, so any reader can check what it read.
  static func snapshot(step: Int64) throws -> [TensorData] {
    try [
      Make.float32("model.w", [32, 64], seed: UInt64(step)),
      Make.float32("model.b", [64], seed: 1000 + UInt64(step % 3)),
      Make.random("opt/step", .int64, [1], seed: UInt64(step)),
    ].sorted { $0.name < $1.name }
  }

  @Test func readersOnManyThreadsWhileAWriterCommits() throws {
    let t = try TempStore(chunkSize: 2048)
    try t.store.commit(try Self.snapshot(step: 0), to: "main", step: 0)
    let failures = Failures()
    let done = Flag()
    let store = t.store
    let other = try t.reopen()  // a second handle, as another process would have

    let writer = Thread {
      defer { done.set() }
      do {
        let w = try store.writer(branch: "main")
        for step in Int64(1)...30 {
          try w.commit(try Self.snapshot(step: step), step: step, message: "s\(step)")
        }
      } catch {
        failures.add("writer: \(error)")
      }
    }
    writer.start()
    DispatchQueue.concurrentPerform(iterations: 4) { reader in
      let handle = reader % 2 == 0 ? store : other
      repeat {
        do {
          let c = try handle.resolve("main")
          let expected = try Self.snapshot(step: c.step)
          if reader % 2 == 0 {
            let got = try handle.readSnapshot(c)
            if got != expected { failures.add("reader \(reader): step \(c.step) data differs") }
          } else {
            let got = try handle.readTensor(named: "model.w", in: c)
            if got != expected.first(where: { $0.name == "model.w" }) {
              failures.add("reader \(reader): step \(c.step) model.w differs")
            }
            _ = try handle.history(from: c.id)
          }
          failures.count("reads")
        } catch {
          failures.add("reader \(reader): \(error)")
        }
      } while !done.isSet
    }
    #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
    #expect(failures.counter("reads") >= 4)
    let head = try t.store.resolve("main")
    #expect(head.step == 30)
    #expect(try t.store.history(from: head.id).count == 31)
    #expect(try t.store.fsck().isClean)
  }

  @Test func secondWriterOnABranchIsLocked() throws {
    let t = try TempStore(chunkSize: 4096)
    let tensors = try Self.snapshot(step: 1)
    let first = try t.store.writer(branch: "main")
    try first.commit(tensors, step: 1)

    let again = storeError { try t.store.writer(branch: "main") }
    #expect(again?.code == .locked)
    #expect(again?.message.contains("main") == true)
    // Through another handle (another open file description: as another process).
    #expect(storeError { try t.reopen().writer(branch: "main") }?.code == .locked)
    // The one-shot commit takes the writer lock too.
    #expect(storeError { try t.store.commit(tensors, to: "main", step: 2) }?.code == .locked)
    // Another branch is free.
    try t.store.commit(tensors, to: "side", step: 5)

    try first.commit(tensors, step: 3)
    #expect(try t.store.resolve("main").step == 3)
    first.close()
    let second = try t.store.writer(branch: "main")
    try second.commit(tensors, step: 4)
    #expect(
      try t.store.history(from: try #require(try t.store.head(of: "main"))).map(\.step) == [
        4, 3, 1,
      ])

    // Released on deinit as well.
    do { _ = try t.store.writer(branch: "temp") }
    second.close()
    #expect(throws: Never.self) { try t.store.writer(branch: "temp").close() }
  }

  @Test func refCompareAndSwapConflicts() throws {
    let t = try TempStore(chunkSize: 4096)
    let c1 = try t.store.commit(try Self.snapshot(step: 1), to: "main", step: 1)
    let c2 = try t.store.commit(try Self.snapshot(step: 2), to: "main", step: 2)
    try t.store.createBranch("exp", at: c1.id)
    // Creating a ref expects it absent: it exists, so the swap fails and the ref stays.
    let conflict = storeError { try t.store.createBranch("exp", at: c2.id) }
    #expect(conflict?.code == .refConflict)
    #expect(conflict?.message.contains("exp") == true)
    #expect(try t.store.head(of: "exp") == c1.id)
    // Same for main, created by the first commit.
    #expect(storeError { try t.store.createBranch("main", at: c1.id) }?.code == .refConflict)
    #expect(try t.store.head(of: "main") == c2.id)
    #expect(storeError { try t.store.createTag("v1", at: c1.id) } == nil)
    #expect(storeError { try t.store.createTag("v1", at: c2.id) } != nil)
    #expect(try t.store.resolve("v1") == c1)

    // Two handles racing to create the same branch: exactly one wins.
    let a = t.store
    let b = try t.reopen()
    let failures = Failures()
    for round in 0..<20 {
      let name = "race\(round)"
      DispatchQueue.concurrentPerform(iterations: 2) { i in
        do {
          try (i == 0 ? a : b).createBranch(name, at: i == 0 ? c1.id : c2.id)
          failures.count("won")
        } catch let error as StoreError where error.code == .refConflict || error.code == .locked {
          failures.count("lost")
        } catch {
          failures.add("\(error)")
        }
      }
      let winner = try t.store.head(of: name)
      #expect(winner == c1.id || winner == c2.id)
    }
    #expect(failures.all.isEmpty, "\(failures.all)")
    #expect(failures.counter("won") == 20)
    #expect(failures.counter("lost") == 20)
    // The reflog records one creation per ref.
    #expect(try t.store.reflog(branch: "exp").count == 1)
    #expect(try t.store.reflog(branch: "main").map(\.new) == [c1.id, c2.id])
  }

  /// A small pool of payloads: commit n carries payload n % 3, so every few commits repeat the
  /// data of a commit that keepLast 1 has just pruned.
  static func payload(_ n: Int64) throws -> [TensorData] { try snapshot(step: n % 3) }

  /// gc in a loop on this thread while another thread commits snapshots identical to ones
  /// retention prunes (the dedup race: a commit reuses objects gc is about to delete). Afterwards
  /// every kept commit verifies and reads back what was committed.
  @Test func gcLoopAgainstCommitsThatReusePrunedObjects() throws {
    let t = try TempStore(chunkSize: 2048)
    let committer = t.store
    let collector = try t.reopen()  // gc through its own handle, as another process would
    let failures = Failures()
    let done = Flag()
    let committed = CommitLog()

    let thread = Thread {
      defer { done.set() }
      for n in Int64(0)..<60 {
        do {
          let c = try committer.commit(try Self.payload(n), to: "main", step: n)
          committed.record(c.id, n)
        } catch {
          failures.add("commit \(n): \(error)")
        }
      }
    }
    thread.start()
    var runs = 0
    var deleted = 0
    repeat {
      do {
        let report = try collector.gc(policy: RetentionPolicy(keepLast: 1))
        deleted += report.objectsDeleted
        runs += 1
      } catch {
        failures.add("gc: \(error)")
      }
    } while !done.isSet
    _ = try collector.gc(policy: RetentionPolicy(keepLast: 1))

    #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
    #expect(runs > 1)
    #expect(deleted > 0)  // gc really freed pruned data while commits reused it
    let fresh = try t.reopen()
    let report = try fresh.fsck()
    #expect(report.isClean, "\(report.problems)")
    let all = committed.all
    #expect(all.count == 60)
    var kept = 0
    for (id, n) in all where !fresh.isPruned(id) {
      kept += 1
      #expect(try fresh.readSnapshot(try fresh.commit(id)) == (try Self.payload(n)), "commit \(n)")
    }
    #expect(kept >= 1)
    #expect(try fresh.resolve("main").step == 59)
    #expect(try fresh.readSnapshot(try fresh.resolve("main")) == (try Self.payload(59)))
    #expect(try fresh.history(from: try fresh.resolve("main").id).count == 60)
  }

  /// The same race through `reusing`: each commit reuses the entries of the commit three back,
  /// which retention has usually pruned by then. A commit either succeeds with data that reads
  /// back, or fails with `objectNotFound` before its ref moves; it never names missing chunks.
  @Test func gcLoopAgainstCommitsReusingEntriesOfPrunedCommits() throws {
    let t = try TempStore(chunkSize: 2048)
    let committer = t.store
    let collector = try t.reopen()
    let failures = Failures()
    let done = Flag()
    let committed = CommitLog()

    let thread = Thread {
      defer { done.set() }
      do {
        let w = try committer.writer(branch: "main")
        var entries: [[TensorInfo]] = []
        for n in Int64(0)..<45 {
          let fresh = try Self.snapshot(step: n).filter { $0.name != "model.b" }
          let reused = n >= 3 ? entries[Int(n) - 3].filter { $0.name == "model.b" } : []
          let tensors = reused.isEmpty ? try Self.snapshot(step: n) : fresh
          do {
            let c = try w.commit(tensors, reusing: reused, step: n)
            committed.record(c.id, n)
            entries.append(try committer.tensors(in: c))
          } catch let error as StoreError where error.code == .objectNotFound {
            failures.count("refused")
            let c = try w.commit(try Self.snapshot(step: n), step: n)
            committed.record(c.id, n)
            entries.append(try committer.tensors(in: c))
          }
        }
      } catch {
        failures.add("committer: \(error)")
      }
    }
    thread.start()
    repeat {
      do {
        _ = try collector.gc(policy: RetentionPolicy(keepLast: 1))
      } catch {
        failures.add("gc: \(error)")
      }
    } while !done.isSet

    #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
    let fresh = try t.reopen()
    let report = try fresh.fsck()
    #expect(report.isClean, "\(report.problems)")
    // model.b of payload n is the same data as payload n - 3 (seed 1000 + n % 3): reused
    // entries must read back exactly what a fresh commit would have stored.
    for (id, n) in committed.all where !fresh.isPruned(id) {
      #expect(try fresh.readSnapshot(try fresh.commit(id)) == (try Self.snapshot(step: n)))
    }
    #expect(committed.all.count == 45)
    #expect(try fresh.resolve("main").step == 44)
  }
}
