import CKStore
import CKTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Crashes and concurrency, with real child processes: SIGKILL during `import` (acceptance 6) and
/// `gc` against a committing process (acceptance 8). Serialized: they measure time.
@Suite(.serialized) struct ConcurrencyTests {
  /// A few MiB of random float32 in several tensors (all new data for each `seed`).
  private static func checkpoint(seed: UInt64) throws -> [TensorData] {
    try [
      floatTensor("model.embed", [1024, 256], seed: seed &* 16 &+ 1),
      floatTensor("model.layers.0.w", [512, 512], seed: seed &* 16 &+ 2),
      floatTensor("model.layers.1.w", [512, 512], seed: seed &* 16 &+ 3),
      floatTensor("model.head", [256, 256], seed: seed &* 16 &+ 4),
      floatTensor("optimizer/model.head/adam.m", [256, 256], seed: seed &* 16 &+ 5),
      floatTensor("model.norm", [256], seed: seed &* 16 &+ 6),
    ]
  }

  @Test func sigkillDuringImportLeavesAConsistentStore() throws {
    let box = try Sandbox()
    var rng = SplitMix64(seed: UInt64(Date().timeIntervalSince1970 * 1000))
    let runSeed = rng.next() % 100_000
    var files: [String] = []
    var data: [[TensorData]] = []
    func prepare(_ i: Int) throws {
      let tensors = try Self.checkpoint(seed: runSeed * 1000 + UInt64(i))
      data.append(tensors)
      files.append(try box.write("ck-\(i).safetensors", tensors))
    }
    // Measure a full import (three of them; the median).
    var durations: [Double] = []
    for i in 0..<3 {
      try prepare(i)
      let start = Date()
      let p = try CLI.spawn(["import", files[i], "--step", "\(i)", "--store", box.store])
      p.waitUntilExit()
      durations.append(Date().timeIntervalSince(start))
      try #require(p.terminationStatus == 0)
    }
    let duration = durations.sorted()[1]
    var head = try #require(box.head())
    var headIndex = 2

    var finished = 0
    var beforeWrites = 0
    var midCommit = 0
    var afterRef = 0
    var staleLocks = 0
    var delays: [Double] = []
    for k in 0..<50 {
      let i = 3 + k
      try prepare(i)
      let objectsBefore = box.objectIDs()
      let tmp = box.store + "/tmp"
      let scratchBefore = Set((try? FileManager.default.subpathsOfDirectory(atPath: tmp)) ?? [])
      let delay = Double(rng.next() % 1_000_000) / 1_000_000 * duration
      delays.append(delay)
      let p = try CLI.spawn(["import", files[i], "--step", "\(i)", "--store", box.store])
      usleep(UInt32(delay * 1_000_000))
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
      let killed = p.terminationReason == .uncaughtSignal
      if !killed {
        #expect(p.terminationStatus == 0, "import \(i) exited \(p.terminationStatus)")
        finished += 1
      }

      // fsck is clean, and the branch names either the previous head or the new complete commit.
      let fsck = try box.ck("fsck", "--json")
      #expect(
        fsck.status == 0, "fsck after kill \(k) (delay \(delay)s): \(fsck.stdout)\(fsck.stderr)")
      let now = try #require(box.head(), "main vanished after kill \(k)")
      let show = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
      #expect(show.commit.id == now)
      let moved = now != head
      if moved {
        #expect(show.commit.step == Int64(i) && show.commit.parents == [head], "kill \(k)")
        headIndex = i
        head = now
        if killed { afterRef += 1 }
      } else if killed {
        let scratch = Set((try? FileManager.default.subpathsOfDirectory(atPath: tmp)) ?? [])
        let newTemp = scratch.subtracting(scratchBefore).contains { $0.hasSuffix(".tmp") }
        if box.objectIDs() == objectsBefore && !newTemp {
          beforeWrites += 1
        } else {
          midCommit += 1
        }
      }
      #expect(show.tensors.map(\.name) == data[headIndex].map(\.name).sorted())
      #expect(
        try box.export("main").tensors == data[headIndex].sorted { $0.name < $1.name }, "kill \(k)")

      // A kill inside the ref update leaves `main.lock`, which no process holds: the next import
      // breaks it at once (no age threshold) and commits.
      let lock = box.store + "/refs/heads/main.lock"
      if FileManager.default.fileExists(atPath: lock) {
        staleLocks += 1
        let next = try box.ck("import", files[i], "--step", "\(i)")
        #expect(next.status == 0, "\(next.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lock))
        head = try #require(box.head())
        headIndex = i
      }
    }
    // Everything the killed processes left is unreferenced: gc may delete it, and then all is
    // still clean.
    try box.ok("gc")
    #expect(try box.ck("fsck").status == 0)
    let log = try decodeLog(try box.ok("log", "--json").stdout)
    // Each stale lock was followed by one more import, which committed.
    #expect(log.count == 3 + afterRef + finished + staleLocks)
    print(
      "[sigkill] seed \(runSeed); import of \(data[0].reduce(0) { $0 + $1.bytes.count } >> 20) MiB "
        + "takes \(String(format: "%.0f", duration * 1000)) ms "
        + "(\(durations.map { String(format: "%.0f", $0 * 1000) }.joined(separator: "/")) ms); "
        + "50 kills at 0…\(String(format: "%.0f", duration * 1000)) ms: \(beforeWrites) before any "
        + "object write, \(midCommit) mid-commit, \(afterRef) after the ref moved, \(finished) "
        + "too late (import finished); \(staleLocks) left main.lock")
  }

  /// Checkpoint `i` of the gc race: consecutive files share most tensors, and some tensors
  /// return to data of commits four and three steps back (pruned by then, so gc may be deleting
  /// exactly the chunks the new commit deduplicates against).
  private static func raceCheckpoint(_ i: Int) throws -> [TensorData] {
    let size = [128, 256]
    return try [
      floatTensor("layers.0.w", size, seed: 10_000 + UInt64(i)),
      floatTensor("layers.1.w", size, seed: 20_000 + UInt64(i % 4)),
      floatTensor("layers.2.w", size, seed: 30_000 + UInt64(i % 3)),
      floatTensor("layers.3.w", size, seed: 40_000),
      floatTensor("layers.4.w", size, seed: 50_000 + UInt64(i / 5)),
      floatTensor("head.w", [64, 256], seed: 60_000 + UInt64(i % 2)),
    ]
  }

  @Test func gcInALoopAgainstACommittingProcessLosesNothing() throws {
    let box = try Sandbox(chunkSize: 64 * 1024)
    let count = 40
    var data: [[TensorData]] = []
    for i in 0..<count {
      data.append(try Self.raceCheckpoint(i))
      try box.write("f\(i).safetensors", data[i])
    }
    let script = """
      for i in $(seq 0 \(count - 1)); do
        "$CK" import "$DIR/f$i.safetensors" --step "$i" -m "race $i" --store "$STORE" >/dev/null || exit 1
      done
      """
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/sh")
    child.arguments = ["-c", script]
    child.environment = CkstoreBinary.environment(adding: [
      "CK": CLI.binary.path, "DIR": box.dir.path, "STORE": box.store,
    ])
    let childErr = Pipe()
    child.standardError = childErr
    let start = Date()
    try child.run()

    // gc as a process and in-process, alternately, with fsck after each round checking every
    // commit that keeps data.
    let store = try Store.open(at: box.store)
    let policy = RetentionPolicy(keepLast: 2, keepEvery: 5)
    var rounds = 0
    var pruned = 0
    var deleted = 0
    var fsckProblems: [String] = []
    while child.isRunning {
      if rounds % 2 == 0 {
        let r = try box.ck("gc", "--keep-last", "2", "--keep-every", "5", "--json")
        #expect(r.status == 0, "gc round \(rounds): \(r.stderr)")
        if let report = try? decodeJSON(GCJSON.self, r.stdout) {
          pruned += report.prunedCommits.count
          deleted += report.objectsDeleted
        }
      } else {
        let report = try store.gc(policy: policy)
        pruned += report.prunedCommits.count
        deleted += report.objectsDeleted
      }
      rounds += 1
      let fsck = try box.ck("fsck", "--json")
      if fsck.status != 0 { fsckProblems.append(fsck.stdout + fsck.stderr) }
    }
    child.waitUntilExit()
    let elapsed = Date().timeIntervalSince(start)
    let err = String(decoding: childErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(child.terminationStatus == 0, "the committing loop failed: \(err)")
    #expect(fsckProblems.isEmpty, "fsck during the race: \(fsckProblems.first ?? "")")

    let final = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-last", "2", "--keep-every", "5", "--json").stdout)
    pruned += final.prunedCommits.count
    let fsck = try decodeJSON(FsckJSON.self, try box.ok("fsck", "--json").stdout)
    #expect(fsck.problems.isEmpty)
    let log = try decodeLog(try box.ok("log", "--json").stdout)
    #expect(log.map(\.step) == (0..<Int64(count)).reversed())
    let kept = log.filter { !$0.pruned }
    // Kept: the last two and every fifth step.
    #expect(
      Set(kept.map(\.step))
        == Set((0..<Int64(count)).filter { $0 % 5 == 0 || $0 >= Int64(count) - 2 }))
    #expect(pruned == count - kept.count)
    for c in kept {
      let back = try box.export(c.id).tensors
      #expect(back == data[Int(c.step)].sorted { $0.name < $1.name }, "step \(c.step) lost data")
    }
    print(
      "[gc race] \(count) imports in \(String(format: "%.1f", elapsed)) s against \(rounds) gc "
        + "rounds (\(deleted) objects deleted, \(pruned) commits pruned); \(kept.count) kept "
        + "commits verified")
    #expect(rounds >= 5, "gc ran only \(rounds) times during the imports")
  }
}
