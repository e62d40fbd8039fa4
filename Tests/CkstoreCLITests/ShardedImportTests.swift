import CKStore
import CKTestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `ckstore import --part I/N` from N real processes (docs/FORMAT.md, "Sharded commits"), and
/// SIGKILL of one rank at random moments. Serialized: the kill test measures time.
@Suite(.serialized) struct ShardedImportTests {
  /// One sharded checkpoint: `emb` [rows, 256] float32 in 4 row slices, `bias.<i>` whole in part i.
  struct Checkpoint {
    let emb: TensorData
    let biases: [TensorData]
    let rows: Int

    init(seed: UInt64, rows: Int = 1024) throws {
      self.rows = rows
      emb = try floatTensor("emb", [rows, 256], seed: seed &* 8 &+ 1)
      biases = try (0..<4).map {
        try floatTensor("bias.\($0)", [16], seed: seed &* 8 &+ 2 &+ UInt64($0))
      }
    }

    /// Writes part i's file: its rows of `emb` (placed by ckstore.slice.emb) and its bias.
    func writePart(_ i: Int, in box: Sandbox, tag: String) throws -> String {
      let lo = i * rows / 4
      let hi = (i + 1) * rows / 4
      let slice = try TensorData(
        name: "emb", dtype: .float32, shape: [hi - lo, 256],
        bytes: Array(emb.bytes[(lo * 1024)..<(hi * 1024)]))
      return try box.write(
        "\(tag)-part\(i).safetensors", [slice, biases[i]],
        metadata: ["ckstore.slice.emb": "{\"global\": [\(rows), 256], \"offset\": [\(lo), 0]}"])
    }

    var all: [TensorData] { ([emb] + biases).sorted { $0.name < $1.name } }
  }

  private static func importPart(_ box: Sandbox, _ file: String, _ i: Int, step: Int) throws
    -> Process
  {
    try CLI.spawn(["import", file, "--part", "\(i)/4", "--step", "\(step)", "--store", box.store])
  }

  @Test func fourProcessesCommitOneCheckpoint() throws {
    let box = try Sandbox(chunkSize: 32768)
    let ck = try Checkpoint(seed: 11)
    let files = try (0..<4).map { try ck.writePart($0, in: box, tag: "a") }
    let ranks = try (0..<4).map { try Self.importPart(box, files[$0], $0, step: 7) }
    for p in ranks { p.waitUntilExit() }
    #expect(ranks.map(\.terminationStatus) == [0, 0, 0, 0])
    let log = try decodeLog(try box.ok("log", "--json").stdout)
    #expect(log.count == 1 && log[0].step == 7 && log[0].metadata["ckstore.parts"] == "4")
    #expect(log[0].metadata["ckstore.slice.emb"] == nil)
    #expect(try box.export("main").tensors == ck.all)
    let show = try box.ok("show", "main").stdout
    #expect(show.contains("sharded commit of 4 parts"))
    for (i, rows) in ["0..<256", "256..<512", "512..<768", "768..<1024"].enumerated() {
      #expect(squashed(show).contains("emb \(i) [\(rows), 0..<256] 8"), "\(show)")
    }
    let json = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
    #expect(json.tensors.first { $0.name == "emb" }?.chunks.count == 32)
    #expect(try box.ck("fsck").status == 0)
    #expect(!FileManager.default.fileExists(atPath: box.store + "/parts/main/7"))

    // The same part again: idempotent. Other content for it: refused, naming step and rank.
    let again = try box.ok("import", files[2], "--part", "2/4", "--step", "7")
    #expect(again.stdout.contains("sharded commit"))
    let other = try Checkpoint(seed: 12).writePart(2, in: box, tag: "b")
    let refused = try box.ck("import", other, "--part", "2/4", "--step", "7")
    #expect(
      refused.status != 0 && refused.stderr.contains("rank 2") && refused.stderr.contains("step 7"))
    #expect(try decodeLog(try box.ok("log", "--json").stdout).count == 1)
  }

  @Test func aGapIsRefusedAndNothingIsCommitted() throws {
    let box = try Sandbox(chunkSize: 32768)
    let ck = try Checkpoint(seed: 13)
    let files = try (0..<3).map { try ck.writePart($0, in: box, tag: "g") }
    // Part 3 claims rows 800..<1024 but holds rows 768..<992: it overlaps nobody, leaves 768..<800.
    let bad = try box.write(
      "g-part3.safetensors",
      [
        try TensorData(
          name: "emb", dtype: .float32, shape: [224, 256],
          bytes: Array(ck.emb.bytes[(768 * 1024)..<(992 * 1024)])), ck.biases[3],
      ], metadata: ["ckstore.slice.emb": "{\"global\": [1024, 256], \"offset\": [800, 0]}"])
    for i in 0..<3 { try box.ok("import", files[i], "--part", "\(i)/4", "--step", "1") }
    let r = try box.ck("import", bad, "--part", "3/4", "--step", "1")
    #expect(r.status != 0)
    #expect(
      r.stderr.contains("'emb'") && r.stderr.contains("rows 768..<800 between rank 2 and rank 3"))
    #expect(box.head() == nil)
  }

  @Test func sigkillOfOneRankNeverYieldsAPartialCommit() throws {
    let box = try Sandbox(chunkSize: 32768)
    var rng = SplitMix64(seed: UInt64(Date().timeIntervalSince1970 * 1000))
    let runSeed = rng.next() % 100_000
    // A full 4-rank save, three times; the median sets the range of kill delays.
    var durations: [Double] = []
    for step in 0..<3 {
      let ck = try Checkpoint(seed: runSeed * 100 + UInt64(step))
      let files = try (0..<4).map { try ck.writePart($0, in: box, tag: "s\(step)") }
      let start = Date()
      let ranks = try (0..<4).map { try Self.importPart(box, files[$0], $0, step: step) }
      for p in ranks { p.waitUntilExit() }
      durations.append(Date().timeIntervalSince(start))
      try #require(ranks.allSatisfy { $0.terminationStatus == 0 })
    }
    let duration = durations.sorted()[1]
    var commits = 3
    var noCommit = 0
    var landedAnyway = 0
    var finished = 0
    let started = Date()
    for k in 0..<50 {
      let step = 3 + k
      let ck = try Checkpoint(seed: runSeed * 100 + UInt64(step))
      let files = try (0..<4).map { try ck.writePart($0, in: box, tag: "s\(step)") }
      let before = box.head()
      let victim = Int(rng.next() % 4)
      let delay = Double(rng.next() % 1_000_000) / 1_000_000 * duration
      let ranks = try (0..<4).map { try Self.importPart(box, files[$0], $0, step: step) }
      usleep(UInt32(delay * 1_000_000))
      kill(ranks[victim].processIdentifier, SIGKILL)
      for p in ranks { p.waitUntilExit() }
      for (i, p) in ranks.enumerated() where i != victim {
        #expect(p.terminationStatus == 0, "kill \(k): rank \(i) exited \(p.terminationStatus)")
      }
      let killed = ranks[victim].terminationReason == .uncaughtSignal
      #expect(try box.ck("fsck").status == 0, "fsck after kill \(k) (rank \(victim), \(delay) s)")

      // Either the branch did not move, or it names the complete checkpoint of this step.
      let now = box.head()
      if now != before {
        let show = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
        #expect(show.commit.step == Int64(step) && show.commit.parents == [before!], "kill \(k)")
        #expect(try box.export("main").tensors == ck.all, "kill \(k): commit is not complete")
        if killed { landedAnyway += 1 } else { finished += 1 }
      } else {
        #expect(killed, "kill \(k): rank \(victim) finished but no commit appeared")
        noCommit += 1
        // Re-running the killed rank completes the checkpoint.
        let rerun = try box.ck(
          "import", files[victim], "--part", "\(victim)/4", "--step", "\(step)")
        #expect(rerun.status == 0, "kill \(k) re-run: \(rerun.stderr)")
        #expect(try box.export("main").tensors == ck.all, "kill \(k): re-run commit")
        #expect(try box.ck("fsck").status == 0, "fsck after re-run \(k)")
      }
      commits += 1
      let log = try decodeLog(try box.ok("log", "--json").stdout)
      #expect(log.count == commits, "kill \(k): \(log.count) commits, \(commits) expected")
      // A builder killed between its ref update and its cleanup leaves the records: gc removes
      // them, since their commit landed.
      let records = box.store + "/parts/main/\(step)"
      if FileManager.default.fileExists(atPath: records) { try box.ok("gc") }
      #expect(!FileManager.default.fileExists(atPath: records), "kill \(k): records stay")
    }
    try box.ok("gc")
    #expect(try box.ck("fsck").status == 0)
    print(
      "[sharded sigkill] seed \(runSeed); a 4-rank save of 1 MiB takes "
        + "\(String(format: "%.0f", duration * 1000)) ms; 50 kills: \(noCommit) left no commit "
        + "(re-run completed it), \(landedAnyway) after the victim's part was durable (commit "
        + "complete), \(finished) too late; \(String(format: "%.0f", Date().timeIntervalSince(started))) s"
    )
  }
}
