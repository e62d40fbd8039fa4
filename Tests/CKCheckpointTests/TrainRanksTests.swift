import CKStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `ckstore train --ranks N` (issue 10, point 4): N worker processes own the rows of every
/// parameter and its Adam state and save each checkpoint as one sharded commit. What is checked:
/// the result is bit-identical to one process training alone, under any sequence of layouts
/// (resharding on resume, plain runs in between); a rank killed mid-save leaves no commit and a
/// re-run completes the run, still bit-identical; killing the coordinator stops its workers.
/// Serialized: each test runs several processes, and the machine has two cores.
@Suite(.serialized) struct TrainRanksTests {
  static let args = ["train", "--seed", "5", "--keep-last", "100"]

  /// Every tensor of a revision, the per-step loss series (`ckstore/metrics/loss`) included.
  func state(_ store: Store, _ revision: String = "main") throws -> [String: TensorData] {
    try snapshot(store, revision)
  }

  @Test func shardedTrainingIsBitIdenticalToOneProcessUnderEveryLayout() throws {
    let dir = try TempDir()
    try CLI.ok(Self.args + ["--steps", "400", "--save-every", "50", "--store", dir.path("one")])
    // 4 ranks, then 3, then one process, then 12 (more ranks than the 10 rows of the last bias,
    // so some ranks own none of it), each run resuming the previous one's last checkpoint.
    let legs: [(steps: Int, ranks: Int?)] = [(150, 4), (250, 3), (300, nil), (400, 12)]
    for (steps, ranks) in legs {
      let out = try CLI.ok(
        Self.args + ["--steps", "\(steps)", "--save-every", "50", "--store", dir.path("sharded")]
          + (ranks.map { ["--ranks", "\($0)"] } ?? [])
      ).stdout
      if let ranks { #expect(out.contains("in \(ranks) rank processes"), "\(out)") }
    }
    let one = try Store.open(at: dir.path("one"))
    let sharded = try Store.open(at: dir.path("sharded"))
    let history = try sharded.history(from: try sharded.resolve("main").id)
    #expect(history.map(\.step) == Array(stride(from: 400, through: 50, by: -50)))
    for commit in history {
      let parts = commit.metadata[ShardedMetadataKeys.parts]
      let expected: String? =
        switch commit.step {
        case ...150: "4"
        case ...250: "3"
        case ...300: nil
        default: "12"
        }
      #expect(parts == expected, "step \(commit.step)")
      #expect(
        differences(try state(one, "main:step-\(commit.step)"), try state(sharded, commit.id.hex))
          == [], "step \(commit.step)")
    }
    // A 4-rank commit holds each weight as 4 row slices; the restored run moved on from it.
    let early = try sharded.resolve("main:step-150")
    let weight = try sharded.tensorInfo(named: "model/layers.0.weight", in: early)
    #expect(weight.slices.map(\.region.offset) == [[0, 0], [16, 0], [32, 0], [48, 0]])
    // Rank 0 stored the loss of each of the 50 steps since the previous save.
    let series = try #require(try state(sharded, "main:step-150")["ckstore/metrics/loss"])
    #expect(series.shape == [50, 2])
    #expect(differences(try state(sharded, "main:step-150"), try state(sharded)).count > 4)
    let show = try CLI.ok(["show", "main", "--store", dir.path("sharded")]).stdout
    #expect(show.contains("ckstore.parts=12"), "\(show)")
    let fsck = try CLI.ok(["fsck", "--store", dir.path("sharded")]).stdout
    #expect(fsck.contains("OK"), "\(fsck)")
  }

  /// The child processes of `pid` (the rank workers of a coordinator), in the order they were
  /// started (so by rank): by start time, then pid.
  static func children(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    let found = entries.compactMap { Int32($0) }.compactMap { child -> (Int32, UInt64)? in
      guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return nil }
      // After "pid (comm)" come the state (field 3), the parent's pid (4), …, the start time (22).
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count > 19, Int32(fields[1]) == pid, let start = UInt64(fields[19]) else {
        return nil
      }
      return (child, start)
    }
    return found.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
  }

  /// Starts `ckstore ARGS` (a `train --ranks` run) with its output in `output`.out/.err, and
  /// returns it once its `ranks` workers are running, with their pids by rank.
  static func start(_ args: [String], ranks: Int, output: String) throws -> (Process, [Int32]) {
    let process = try CLI.start(args, output: URL(fileURLWithPath: output))
    var workers: [Int32] = []
    let started = wait(20) {
      workers = children(of: process.processIdentifier)
      return workers.count == ranks
    }
    try #require(started, "\(ranks) rank workers did not start")
    return (process, workers)
  }

  /// Whether process `pid` has exited (a zombie nobody has reaped yet counts: a worker whose
  /// coordinator died is reparented, and the container's init may not reap it).
  static func exited(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
  }

  /// Waits up to `seconds` for `condition`, polling every millisecond.
  static func wait(_ seconds: Double, until condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
      if Date() > deadline { return false }
      usleep(1_000)
    }
    return true
  }

  /// Acceptance: a rank SIGKILLed while the ranks are saving (some parts recorded, its own not)
  /// never yields a commit; the coordinator fails naming the rank and its other workers exit;
  /// fsck stays clean; re-running completes the checkpoint from the surviving parts. Every commit
  /// made along the way, and the end, equal a one-process run's.
  @Test func aRankKilledMidSaveLeavesNoCommitAndARerunCompletesIt() throws {
    let dir = try TempDir()
    let args = Self.args + ["--steps", "1000", "--save-every", "10", "--ranks", "4"]
    try CLI.ok(Self.args + ["--steps", "1000", "--save-every", "10", "--store", dir.path("one")])
    let one = try Store.open(at: dir.path("one"))
    let path = dir.path("sharded")
    try CLI.ok(["init", path])
    var rng = SystemRandomNumberGenerator()
    var (midSave, other) = (0, 0)
    for round in 0..<6 {
      let (process, workers) = try Self.start(
        args + ["--store", path], ranks: 4, output: dir.path("round\(round)"))
      let store = try Store.open(at: path)
      let before = try store.head(of: "main").map { try store.commit($0).step } ?? 0
      // Wait for a save of a later step to be under way: some rank's record is there.
      var saving: (step: Int64, recorded: Set<Int>)?
      _ = Self.wait(20) {
        let steps =
          (try? FileManager.default.contentsOfDirectory(atPath: path + "/parts/main")) ?? []
        for s in steps.compactMap(Int64.init) where s > before {
          let records =
            (try? FileManager.default.contentsOfDirectory(atPath: path + "/parts/main/\(s)")) ?? []
          let ranks = Set(records.compactMap { Int($0.split(separator: "-").first ?? "") })
          if !ranks.isEmpty && ranks.count < 4 { saving = (s, ranks) }
        }
        return saving != nil || !process.isRunning
      }
      let candidates = (0..<4).filter { !(saving?.recorded.contains($0) ?? false) }
      let victim = candidates.randomElement(using: &rng)!
      kill(workers[victim], SIGKILL)
      process.waitUntilExit()
      let stderr =
        (try? String(contentsOfFile: dir.path("round\(round)") + ".err", encoding: .utf8)) ?? ""
      #expect(process.terminationStatus == 2, "round \(round): \(stderr)")
      #expect(
        stderr.contains("rank \(victim) of 4 (pid \(workers[victim])) was killed by signal 9"),
        "round \(round): \(stderr)")
      #expect(
        Self.wait(10) { workers.allSatisfy(Self.exited) },
        "round \(round): a worker outlived its coordinator")
      let head = try store.head(of: "main").map { try store.commit($0) }
      if let saving {
        let victimRecorded = FileManager.default.fileExists(
          atPath: path + "/parts/main/\(saving.step)/\(victim)-of-4")
        if !victimRecorded {
          #expect(
            (head?.step ?? 0) < saving.step,
            "round \(round): step \(saving.step) committed without rank \(victim)")
          midSave += 1
        } else {
          other += 1
        }
      } else {
        other += 1
      }
      if let head {
        #expect(head.metadata[ShardedMetadataKeys.parts] == "4")
        #expect(
          differences(try state(one, "main:step-\(head.step)"), try state(store)) == [],
          "round \(round)")
      }
      let fsck = try CLI.ok(["fsck", "--store", path]).stdout
      #expect(fsck.contains("OK"), "round \(round): \(fsck)")
    }
    let rerun = try CLI.ok(args + ["--store", path]).stdout
    #expect(rerun.contains("done: main is at step 1000"), "\(rerun)")
    let sharded = try Store.open(at: path)
    for commit in try sharded.history(from: try sharded.resolve("main").id) {
      #expect(
        differences(try state(one, "main:step-\(commit.step)"), try state(sharded, commit.id.hex))
          == [], "step \(commit.step)")
    }
    #expect(try CLI.ok(["fsck", "--store", path]).stdout.contains("OK"))
    print(
      "[train --ranks sigkill] 6 rounds: \(midSave) killed a rank mid-save (parts recorded, its own not), \(other) elsewhere"
    )
  }

  /// A coordinator killed with SIGKILL takes its workers with it (their input closes), leaving
  /// only complete commits; re-running finishes the run.
  @Test func killingTheCoordinatorStopsItsWorkers() throws {
    let dir = try TempDir()
    let path = dir.path("s")
    try CLI.ok(["init", path])
    let args =
      Self.args + ["--steps", "3000", "--save-every", "50", "--ranks", "3", "--store", path]
    let (process, workers) = try Self.start(args, ranks: 3, output: dir.path("run"))
    #expect(Self.wait(30) { FileManager.default.fileExists(atPath: path + "/refs/heads/main") })
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    #expect(
      Self.wait(10) { workers.allSatisfy(Self.exited) }, "a worker outlived its coordinator"
    )
    #expect(try CLI.ok(["fsck", "--store", path]).stdout.contains("OK"))
    try CLI.ok(args)
    #expect(try Store.open(at: path).resolve("main").step == 3000)
  }

  /// A job that crashed mid-save with 4 ranks and resumes with 2 abandons the 4-part records of
  /// the step it redoes (they would refuse its parts) and finishes as one process would.
  @Test func resumingWithAnotherRankCountAbandonsTheUnfinishedSave() throws {
    let dir = try TempDir()
    let path = dir.path("s")
    let args = Self.args + ["--save-every", "50", "--store", path]
    try CLI.ok(args + ["--steps", "100", "--ranks", "4"])
    // What a 4-rank save of step 150 killed after one part leaves: one record of four.
    let file = dir.path("part.safetensors")
    try CLI.ok(["export", "main", "-o", file, "--store", path])
    try CLI.ok(["import", file, "--part", "1/4", "--step", "150", "--store", path])
    #expect(FileManager.default.fileExists(atPath: path + "/parts/main/150/1-of-4"))
    let out = try CLI.ok(args + ["--steps", "200", "--ranks", "2"]).stdout
    #expect(
      out.contains("abandoning the unfinished 4-part save of step 150: redone with 2 ranks"),
      "\(out)")
    #expect(!FileManager.default.fileExists(atPath: path + "/parts/main/150"))
    try CLI.ok(Self.args + ["--save-every", "50", "--steps", "200", "--store", dir.path("one")])
    let sharded = try Store.open(at: path)
    #expect(
      try sharded.history(from: try sharded.resolve("main").id).map(\.step) == [200, 150, 100, 50])
    #expect(differences(try state(Store.open(at: dir.path("one"))), try state(sharded)) == [])
    #expect(try CLI.ok(["fsck", "--store", path]).stdout.contains("OK"))
  }

  /// SIGTERM to `train --ranks` (a preemption): every rank saves the step reached, exit 0, and a
  /// re-run goes on from there.
  @Test func sigtermHasEveryRankSaveTheStepReached() throws {
    let dir = try TempDir()
    let path = dir.path("s")
    try CLI.ok(["init", path])
    let args =
      Self.args + ["--steps", "100000", "--save-every", "5000", "--ranks", "3", "--store", path]
    let log = URL(fileURLWithPath: dir.path("run"))
    let (process, workers) = try Self.start(args, ranks: 3, output: log.path)
    usleep(500_000)
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    let out = (try? String(contentsOfFile: log.path + ".out", encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: log.path + ".err", encoding: .utf8)) ?? ""
    #expect(process.terminationStatus == 0, "\(err)")
    let store = try Store.open(at: path)
    let head = try store.resolve("main")
    #expect(head.message == "interrupted by SIGTERM at step \(head.step)", "\(head.message)")
    #expect(head.metadata[ShardedMetadataKeys.parts] == "3")
    #expect(out.contains("SIGTERM: saved step \(head.step) and stopped"), "\(out)")
    #expect(Self.wait(10) { workers.allSatisfy(Self.exited) })
    let rerun = try CLI.ok(
      Self.args + [
        "--steps", "\(head.step + 20)", "--save-every", "5000", "--ranks", "2", "--store", path,
      ])
    #expect(
      rerun.stdout.contains("resuming main from step \(head.step) (\(head.id.short))"),
      "\(rerun.stdout)")
    #expect(try store.resolve("main").step == head.step + 20)
  }

  @Test func badRankCountsAreRefused() throws {
    let dir = try TempDir()
    for bad in [["--ranks", "0"], ["--ranks", "257"]] {
      let r = try CLI.run(["train", "--store", dir.path("s")] + bad)
      #expect(r.status == 64, "\(bad): \(r.stderr)")
      #expect(r.stderr.contains("--ranks"), "\(bad): \(r.stderr)")
    }
  }
}
