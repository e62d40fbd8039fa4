import CKCheckpoint
import CKEngine
import CKStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `ckstore train` across processes: exact resume (acceptance 1), SIGTERM (acceptance 6) and
/// a frozen base stored once (acceptance 4).
/// Serialized: each test runs training processes, and the machine has two cores.
@Suite(.serialized) struct TrainCommandTests {
  /// Store `a` trains to `steps` in one process; store `b` trains to `split` in one process and
  /// to `steps` in a second one, which must resume. Returns both stores.
  func trainInOneAndTwoProcesses(_ args: [String], steps: Int, split: Int, in dir: TempDir)
    throws -> (a: Store, b: Store)
  {
    for name in ["a", "b"] { try CLI.ok(["init", dir.path(name)]) }
    try CLI.ok(["train"] + args + ["--steps", "\(steps)", "--store", dir.path("a")])
    let first = try CLI.ok(["train"] + args + ["--steps", "\(split)", "--store", dir.path("b")])
    #expect(!first.stdout.contains("resuming"))
    let b = try Store.open(at: dir.path("b"))
    let atSplit = try b.resolve("main")
    #expect(atSplit.step == Int64(split))
    let second = try CLI.ok(["train"] + args + ["--steps", "\(steps)", "--store", dir.path("b")])
    #expect(
      second.stdout.contains("resuming main from step \(split) (\(atSplit.id.short))"),
      "\(second.stdout)")
    let head = try b.resolve("main")
    #expect(head.step == Int64(steps))
    // The second process's commits descend from the first process's last one.
    let history = try b.history(from: head.id)
    #expect(history.contains { $0.parents.first == atSplit.id })
    #expect(history.map(\.step).contains(Int64(split)))
    return (try Store.open(at: dir.path("a")), b)
  }

  /// Every tensor of the two final commits is bit-identical, the run really moved past the
  /// split, and the next batch drawn from the saved data positions is the same.
  func expectExactResume(
    _ a: Store, _ b: Store, steps: Int, split: Int, examples: Int, batchSize: Int
  ) throws {
    let final = try snapshot(a)
    let resumed = try snapshot(b)
    #expect(differences(final, resumed) == [])
    #expect(final.count == resumed.count)
    let names = Set(final.keys)
    for required in ["checkpoint/step", "optimizer/step", "rng/state", "data/position"] {
      #expect(names.contains(required), "\(required) is saved")
    }
    #expect(names.contains { $0.hasPrefix("model/") })
    #expect(names.contains { $0.hasSuffix("/adam.m") })
    #expect(names.contains { $0.hasSuffix("/adam.v") })
    #expect(names.contains { $0.hasSuffix("/adam.step") })
    #expect(int64s(try #require(resumed["optimizer/step"])) == [Int64(steps)])
    #expect(int64s(try #require(resumed["checkpoint/step"])) == [Int64(steps)])
    // Not trivially equal: training changed the model since the split.
    let atSplit = try snapshot(b, "main:step-\(split)")
    #expect(differences(atSplit, resumed).count > 4)

    // The next batch: same saved position, and fresh iterators restored from each draw the
    // same indices, as the training process would have.
    let pa = try #require(final["data/position"])
    let pb = try #require(resumed["data/position"])
    #expect(pa == pb)
    let v = int64s(pa)
    // It is where an iterator that drew `steps` batches in one go is.
    let straight = try MinibatchIterator(
      count: examples, batchSize: batchSize, seed: UInt64(bitPattern: v[2]))
    for _ in 0..<steps { _ = straight.next() }
    #expect(straight.position.epoch == Int(v[0]) && straight.position.index == Int(v[1]))
    let ia = try iterator(at: pa, count: examples, batchSize: batchSize)
    let ib = try iterator(at: pb, count: examples, batchSize: batchSize)
    for _ in 0..<3 {
      let next = ia.next()
      #expect(next.count == batchSize)
      #expect(next == ib.next())
    }
    // And it is not the batch a fresh (unrestored) iterator would draw.
    let fresh = try MinibatchIterator(
      count: examples, batchSize: batchSize, seed: UInt64(bitPattern: v[2]))
    let restored = try iterator(at: pa, count: examples, batchSize: batchSize)
    #expect(fresh.next() != restored.next())
  }

  @Test func digitsMLPResumesExactlyInASecondProcess() throws {
    let dir = try TempDir()
    let args = ["--data", "digits", "--model", "mlp", "--save-every", "50", "--seed", "3"]
    let (a, b) = try trainInOneAndTwoProcesses(args, steps: 300, split: 130, in: dir)
    let examples = try DigitsDataset.load().split(seed: 3).train.count
    try expectExactResume(a, b, steps: 300, split: 130, examples: examples, batchSize: 32)
  }

  @Test func transformerResumesExactlyInASecondProcess() throws {
    let dir = try TempDir()
    let text = String(
      repeating: "The quick brown fox jumps over the lazy dog. A stitch in time saves nine. "
        + "All that glitters is not gold; still waters run deep. ", count: 24)
    let path = dir.path("corpus.txt")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let args = [
      "--data", path, "--model", "transformer", "--save-every", "20", "--batch-size", "8",
      "--seed", "1",
    ]
    let (a, b) = try trainInOneAndTwoProcesses(args, steps: 60, split: 30, in: dir)
    let examples = try CharacterDataset(contentsOf: path, length: 32).windowCount
    try expectExactResume(a, b, steps: 60, split: 30, examples: examples, batchSize: 8)
    let names = try snapshot(a).keys
    #expect(names.contains { $0.hasPrefix("model/blocks.1.attention.") })
  }

  @Test func sigtermSavesTheStepReachedAndARerunContinuesExactly() throws {
    let dir = try TempDir()
    try CLI.ok(["init", dir.path("b")])
    // Batches of 512 make 500 steps take about as long as a save (0.2 s), so a signal sent
    // 150 ms after the first save lands between saves.
    let args = [
      "train", "--steps", "3000", "--save-every", "500", "--batch-size", "512", "--seed", "2",
    ]
    // A SIGTERM that lands during the save at a multiple of 500 stops right there; to show a
    // stop between saves, try again (in a fresh store) a few times with other delays.
    var attempt = 0
    var stdout = ""
    var storeName = ""
    var stopped: Commit
    repeat {
      attempt += 1
      storeName = "a\(attempt)"
      try CLI.ok(["init", dir.path(storeName)])
      let log = URL(fileURLWithPath: dir.path("interrupted\(attempt)"))
      let process = try CLI.start(args + ["--store", dir.path(storeName)], output: log)
      // Stdout to a file is block-buffered, so watch the store for the first save (the ref is
      // written last), then let it run on a little so it is between saves.
      let ref = dir.path(storeName) + "/refs/heads/main"
      let deadline = Date().addingTimeInterval(30)
      while process.isRunning && !FileManager.default.fileExists(atPath: ref)
        && Date() < deadline
      {
        usleep(2_000)
      }
      usleep(UInt32(150_000 * attempt))
      try #require(process.isRunning, "training finished before it could be interrupted")
      kill(process.processIdentifier, SIGTERM)
      process.waitUntilExit()
      stdout = (try? String(contentsOfFile: log.path + ".out", encoding: .utf8)) ?? ""
      let stderr = (try? String(contentsOfFile: log.path + ".err", encoding: .utf8)) ?? ""
      #expect(process.terminationReason == .exit)
      #expect(process.terminationStatus == 0, "\(stderr)")
      stopped = try Store.open(at: dir.path(storeName)).resolve("main")
      print("SIGTERM test: attempt \(attempt) interrupted at step \(stopped.step)")
    } while stopped.step % 500 == 0 && attempt < 3

    let a = try Store.open(at: dir.path(storeName))
    let step = stopped.step
    #expect(step >= 500 && step < 3000)
    #expect(stdout.contains("saved step-500 "))
    #expect(stdout.contains("SIGTERM: saved step \(step) and stopped"), "\(stdout)")
    if step % 500 != 0 {
      #expect(stopped.message == "interrupted by SIGTERM at step \(step)")
      #expect(stdout.contains("saved step-\(step) "))
    }
    let stoppedState = try snapshot(a)
    #expect(int64s(try #require(stoppedState["optimizer/step"])) == [step])

    let rerun = try CLI.ok(args + ["--store", dir.path(storeName)])
    #expect(rerun.stdout.contains("resuming main from step \(step) (\(stopped.id.short))"))
    let head = try a.resolve("main")
    #expect(head.step == 3000)
    // The log and the reflog show the rerun continuing from the interrupted commit.
    let history = try a.history(from: head.id)
    let after = try #require(history.last { $0.step > step })
    #expect(after.parents == [stopped.id])
    #expect(try a.reflog(branch: "main").contains { $0.old == stopped.id && $0.new == after.id })
    let logText = try CLI.ok(["log", "--oneline", "--store", dir.path(storeName)]).stdout
    #expect(logText.contains("step-\(step) "))

    try CLI.ok(args + ["--store", dir.path("b")])
    let straight = try snapshot(try Store.open(at: dir.path("b")))
    #expect(differences(straight, try snapshot(a)) == [])
    #expect(differences(straight, stoppedState).count > 4)
  }

  /// `ckstore train --freeze-base`: 10 saves store the frozen base once, and
  /// `ckstore stats --json` shows it.
  @Test func trainWithAFrozenBaseStoresItOnce() throws {
    let dir = try TempDir()
    try CLI.ok(["init", dir.path("s")])
    try CLI.ok([
      "train", "--steps", "200", "--save-every", "20", "--keep-last", "10", "--freeze-base",
      "--seed", "4", "--store", dir.path("s"),
    ])
    let store = try Store.open(at: dir.path("s"))
    let commits = try store.history(from: try store.resolve("main").id)
    #expect(commits.map(\.step) == Array(stride(from: 200, through: 20, by: -20)))
    #expect(commits.allSatisfy { !store.isPruned($0.id) })
    #expect(commits.allSatisfy { $0.metadata["freeze_base"] == "true" })
    let baseNames = ["model/layers.0.bias", "model/layers.0.weight"]
    let headNames = ["model/layers.1.bias", "model/layers.1.weight"]
    var baseChunks = Set<[ObjectID]>()
    var headChunks = Set<[ObjectID]>()
    for c in commits {
      let infos = try store.tensors(in: c)
      let names = Set(infos.map(\.name))
      #expect(!names.contains { $0.hasPrefix("optimizer/layers.0.") }, "no state for the base")
      baseChunks.insert(infos.filter { baseNames.contains($0.name) }.flatMap(\.chunks))
      headChunks.insert(infos.filter { headNames.contains($0.name) }.flatMap(\.chunks))
    }
    #expect(baseChunks.count == 1, "every commit names the same base chunks")
    #expect(headChunks.count == 10, "the head changed at every save")

    let json = try CLI.ok(["stats", "--json", "--store", dir.path("s")]).stdout
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let stats = try #require(object["stats"] as? [String: Any])
    let unique = try #require((stats["uniqueBytes"] as? NSNumber)?.int64Value)
    let logical = try #require((stats["logicalBytes"] as? NSNumber)?.int64Value)
    let baseBytes = Int64((64 * 64 + 64) * 4)
    let headBytes = Int64((64 * 10 + 10) * 4)
    print("ckstore train --freeze-base: stats \(stats)")
    #expect(logical > 10 * baseBytes)
    // The base once, plus per save the head, its Adam m and v, a few counters and the loss of
    // the 20 steps since the previous save (20 float64 (step, value) rows).
    #expect(unique >= baseBytes + 10 * 3 * headBytes)
    #expect(unique < baseBytes + 10 * (3 * headBytes + 200 + 20 * 16))
  }
}
