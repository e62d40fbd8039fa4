import CKStore
import Foundation
import Testing

@Suite struct RetentionGCTests {
  /// A branch of commits, each with its own `w` (4 chunks) and a `shared` tensor every commit has.
  struct Run {
    let t: TempStore
    var commits: [Commit] = []
    var snapshots: [ObjectID: [TensorData]] = [:]

    init(chunkSize: Int = 4096) throws { t = try TempStore(chunkSize: chunkSize) }

    static func tensors(step: Int64) throws -> [TensorData] {
      try [
        Make.float32("w", [16, 256], seed: UInt64(step) * 7919),
        Make.float32("shared", [1024], seed: 1),
      ]
    }

    mutating func commit(step: Int64, to branch: String = "main") throws -> Commit {
      let tensors = try Self.tensors(step: step)
      let c = try t.store.commit(tensors, to: branch, step: step, message: "step \(step)")
      commits.append(c)
      snapshots[c.id] = tensors
      return c
    }

    /// Every object a commit's data needs: its root tree (the names are flat) and chunks.
    func objects(of c: Commit) throws -> Set<ObjectID> {
      Set(try t.store.tensors(in: c).flatMap(\.chunks)).union([c.tree])
    }
  }

  @Test func keepLastTwoOfTen() throws {
    var run = try Run()
    for step in 1...10 { _ = try run.commit(step: Int64(step) * 100) }
    let pruned = Array(run.commits[0..<8])
    let kept = Array(run.commits[8...])
    var keptObjects = Set<ObjectID>()
    for c in kept { keptObjects.formUnion(try run.objects(of: c)) }
    var exclusive = Set<ObjectID>()
    for c in pruned { exclusive.formUnion(try run.objects(of: c).subtracting(keptObjects)) }
    #expect(exclusive.count == 8 * (4 + 1))  // each pruned commit's own `w` chunks and tree
    let exclusiveBytes = exclusive.reduce(0) { $0 + Files.size(run.t.objectPath($1)) }
    let filesBefore = run.t.objectIDs()

    let report = try run.t.store.gc(policy: RetentionPolicy(keepLast: 2))
    #expect(!report.dryRun)
    #expect(Set(report.prunedCommits) == Set(pruned.map(\.id.hex)))
    #expect(report.objectsDeleted == exclusive.count)
    #expect(report.bytesFreed == exclusiveBytes)
    #expect(report.objectsKept == filesBefore.count - exclusive.count)

    // The exclusive data is gone from disk; everything else stays.
    #expect(run.t.objectIDs() == filesBefore.subtracting(exclusive))
    for id in exclusive { #expect(!run.t.hasObject(id)) }
    for c in run.commits { #expect(run.t.hasObject(c.id)) }

    let store = try run.t.reopen()
    // Kept commits read back what was committed, byte for byte.
    for c in kept {
      #expect(!store.isPruned(c.id))
      #expect(try store.readSnapshot(c) == run.snapshots[c.id]!.sorted { $0.name < $1.name })
      let exported = Safetensors.encode(try store.readSnapshot(c), metadata: [:])
      #expect(exported == Safetensors.encode(run.snapshots[c.id]!, metadata: [:]))
    }
    // History still lists all ten with their metadata; the eight older ones are pruned.
    let history = try store.history(from: try #require(try store.head(of: "main")))
    #expect(history.map(\.id) == run.commits.reversed().map(\.id))
    #expect(history.map(\.step) == (1...10).reversed().map { Int64($0) * 100 })
    #expect(history.map(\.message) == (1...10).reversed().map { "step \($0 * 100)" })
    #expect(
      history.map { store.isPruned($0.id) } == [false, false] + Array(repeating: true, count: 8))

    let fsck = try store.fsck()
    #expect(fsck.isClean, "\(fsck.problems)")
    #expect(fsck.commitsChecked == 10)

    // Reading, listing or diffing a pruned commit fails clearly.
    let old = pruned[3]
    let e1 = storeError { try store.readSnapshot(old) }
    #expect(e1?.code == .prunedCommit)
    #expect(e1?.message.contains(old.id.short) == true)
    #expect(storeError { try store.readTensor(named: "w", in: old) }?.code == .prunedCommit)
    #expect(storeError { try store.tensors(in: old) }?.code == .prunedCommit)
    #expect(storeError { try store.diff(old, kept[1]) }?.code == .prunedCommit)
    #expect(try store.resolve("step-400") == old)  // still resolvable: its metadata stays

    // A second gc with the same policy has nothing left to do.
    let again = try store.gc(policy: RetentionPolicy(keepLast: 2))
    #expect(again.prunedCommits.isEmpty && again.objectsDeleted == 0)
    let stats = try store.stats()
    #expect(stats.commits == 10 && stats.prunedCommits == 8)
    #expect(stats.chunkObjects == 2 * 4 + 1)
  }

  @Test func dryRunDeletesNothingAndReportsTheSameCounts() throws {
    var run = try Run()
    for step in 1...6 { _ = try run.commit(step: Int64(step)) }
    let filesBefore = run.t.objectIDs()
    let policy = RetentionPolicy(keepLast: 3)
    let dry = try run.t.store.gc(policy: policy, dryRun: true)
    #expect(dry.dryRun)
    #expect(run.t.objectIDs() == filesBefore)
    #expect(run.commits.allSatisfy { !run.t.store.isPruned($0.id) })
    #expect(dry.prunedCommits.count == 3)
    #expect(dry.objectsDeleted == 3 * 5)
    #expect(dry.objectsKept == filesBefore.count - dry.objectsDeleted)
    for c in run.commits { #expect(try run.t.store.readSnapshot(c).count == 2) }

    let real = try run.t.store.gc(policy: policy)
    #expect(Set(real.prunedCommits) == Set(dry.prunedCommits))
    #expect(real.objectsDeleted == dry.objectsDeleted)
    #expect(real.bytesFreed == dry.bytesFreed)
    #expect(real.objectsKept == dry.objectsKept)
    #expect(run.t.objectIDs().count == filesBefore.count - real.objectsDeleted)
  }

  @Test func keepEveryKeepsMultiplesOfK() throws {
    var run = try Run()
    for step in 1...10 { _ = try run.commit(step: Int64(step)) }
    let report = try run.t.store.gc(policy: RetentionPolicy(keepLast: 2, keepEvery: 3))
    let prunedSteps = run.commits.filter { run.t.store.isPruned($0.id) }.map(\.step)
    #expect(prunedSteps == [1, 2, 4, 5, 7, 8])
    #expect(report.prunedCommits.count == 6)
    for c in run.commits where !run.t.store.isPruned(c.id) {
      #expect(try run.t.store.readSnapshot(c) == run.snapshots[c.id]!.sorted { $0.name < $1.name })
    }
    #expect(try run.t.store.fsck().isClean)

    // keepLast 1 with keepEvery 2: the head and the even steps.
    var other = try Run()
    for step in 1...7 { _ = try other.commit(step: Int64(step)) }
    _ = try other.t.store.gc(policy: RetentionPolicy(keepLast: 1, keepEvery: 2))
    #expect(other.commits.filter { other.t.store.isPruned($0.id) }.map(\.step) == [1, 3, 5])

    // keepEvery alone thins the branch too (head and multiples), rather than keeping everything.
    var thin = try Run()
    for step in 1...7 { _ = try thin.commit(step: Int64(step)) }
    _ = try thin.t.store.gc(policy: RetentionPolicy(keepEvery: 3))
    #expect(thin.commits.filter { thin.t.store.isPruned($0.id) }.map(\.step) == [1, 2, 4, 5])
  }

  @Test func tagsAndOtherBranchesAreNeverPruned() throws {
    var run = try Run()
    for step in 1...10 { _ = try run.commit(step: Int64(step)) }
    let main = run.commits
    try run.t.store.createTag("release", at: main[2].id)  // step 3
    try run.t.store.createBranch("exp", at: main[4].id)  // step 5
    let exp1 = try run.commit(step: 51, to: "exp")
    let exp2 = try run.commit(step: 52, to: "exp")

    // Only main is governed: everything exp reaches (steps 1…5) and the tag keep their data.
    let report = try run.t.store.gc(policy: RetentionPolicy(keepLast: 2, branches: ["main"]))
    func prunedSteps() -> [Int64] {
      run.commits.filter { run.t.store.isPruned($0.id) }.map(\.step).sorted()
    }
    #expect(prunedSteps() == [6, 7, 8])
    #expect(report.prunedCommits.count == 3)
    #expect(try run.t.store.fsck().isClean)

    // Every branch governed: each branch keeps its last two; the tag still keeps step 3.
    _ = try run.t.store.gc(policy: RetentionPolicy(keepLast: 2))
    #expect(prunedSteps() == [1, 2, 4, 5, 6, 7, 8])
    for c in [main[2], main[8], main[9], exp1, exp2] {
      #expect(!run.t.store.isPruned(c.id))
      #expect(
        try run.t.reopen().readSnapshot(c) == run.snapshots[c.id]!.sorted { $0.name < $1.name })
    }
    #expect(try run.t.store.resolve("release") == main[2])
    let fsck = try run.t.store.fsck()
    #expect(fsck.isClean, "\(fsck.problems)")
  }

  /// An ungoverned branch keeps everything it reaches, even when a governed branch's kept
  /// commits lie on its history (here the other branch sorts after `main` and forks at main~1).
  @Test func ungovernedBranchKeepsItsWholeHistory() throws {
    var run = try Run()
    for step in 1...10 { _ = try run.commit(step: Int64(step)) }
    try run.t.store.createBranch("zz", at: run.commits[8].id)  // main~1, kept by keepLast 2
    let report = try run.t.store.gc(policy: RetentionPolicy(keepLast: 2, branches: ["main"]))
    #expect(report.prunedCommits.isEmpty)
    #expect(run.commits.filter { run.t.store.isPruned($0.id) }.map(\.step) == [])
    for c in run.commits {
      #expect(
        try run.t.reopen().readSnapshot(c) == run.snapshots[c.id]!.sorted { $0.name < $1.name })
    }
  }

  /// A killed process's scratch folder and ref lock are removed by gc; live ones never are.
  @Test func staleTempFoldersAndRefLocksAreCleaned() throws {
    let t = try TempStore(chunkSize: 4096)
    let c1 = try t.store.commit([try Make.float32("w", [8], seed: 1)], to: "main", step: 1)
    try t.store.createBranch("exp", at: c1.id)
    let tmp = t.path + "/tmp"
    let fm = FileManager.default

    // Stale: owner lock file present but not held, old enough.
    let stale = tmp + "/999999-12345"
    try fm.createDirectory(atPath: stale, withIntermediateDirectories: true)
    for name in ["owner.lock", "1.tmp", "2.tmp", "3.tmp"] {
      try Files.write(Array(name.utf8), to: stale + "/" + name)
    }
    try Files.backdate(stale, by: 3600)
    // Stale without even an owner lock.
    let orphan = tmp + "/999998-1"
    try fm.createDirectory(atPath: orphan, withIntermediateDirectories: true)
    try Files.write([1], to: orphan + "/1.tmp")
    try Files.backdate(orphan, by: 120)
    // Live: old, but its owner lock is held.
    let live = tmp + "/\(getpid())-777"
    try fm.createDirectory(atPath: live, withIntermediateDirectories: true)
    let liveOwner = try HeldLock(live + "/owner.lock")
    try Files.write([1], to: live + "/1.tmp")
    try Files.backdate(live, by: 3600)
    // Young: nobody holds it, but a process may be between mkdir and flock.
    let young = tmp + "/999997-1"
    try fm.createDirectory(atPath: young, withIntermediateDirectories: true)
    try Files.write([1], to: young + "/1.tmp")

    // Ref locks: a stale one on main, a held one on exp, and one just left by a dead writer on a
    // third branch (no age threshold: nobody holds its flock, so it is stale at once).
    let mainLock = t.path + "/refs/heads/main.lock"
    try Files.write([], to: mainLock)
    try Files.backdate(mainLock, by: 30)
    let expLock = t.path + "/refs/heads/exp.lock"
    let heldExp = try HeldLock(expLock)
    try Files.backdate(expLock, by: 30)
    let freshLock = t.path + "/refs/heads/fresh.lock"
    try Files.write([], to: freshLock)

    let report = try t.store.gc()
    #expect(!Files.exists(stale))
    #expect(!Files.exists(orphan))
    #expect(report.staleTempFilesRemoved == 3 + 1)
    #expect(Files.exists(live + "/1.tmp"))
    #expect(Files.exists(young + "/1.tmp"))
    #expect(report.staleLocksRemoved.sorted() == [freshLock, mainLock])
    #expect(!Files.exists(mainLock))
    #expect(Files.exists(expLock))
    #expect(!Files.exists(freshLock))

    // main is writable again; exp is not while the lock's holder lives, however old the lock.
    let c2 = try t.store.commit([try Make.float32("w", [8], seed: 2)], to: "main", step: 2)
    #expect(try t.store.head(of: "main") == c2.id)
    let blocked = storeError { try t.store.commit([], to: "exp", step: 3) }
    #expect(blocked?.code == .locked)
    #expect(blocked?.message.contains("exp.lock") == true)
    #expect(try t.store.head(of: "exp") == c1.id)
    #expect(try t.store.reflog(branch: "exp").count == 1)

    // A writer breaks an old ref lock that no process holds by itself, too.
    try Files.write([], to: mainLock)
    try Files.backdate(mainLock, by: 30)
    let c3 = try t.store.commit([try Make.float32("w", [8], seed: 3)], to: "main", step: 3)
    #expect(try t.store.head(of: "main") == c3.id)
    #expect(!Files.exists(mainLock))

    // Once the holder is gone (and the lock is old), the next gc removes it.
    heldExp.release()
    liveOwner.release()
    _ = try t.store.gc()
    #expect(!Files.exists(expLock))
    #expect(!Files.exists(live))
    #expect(try t.store.fsck().isClean)
  }
}
