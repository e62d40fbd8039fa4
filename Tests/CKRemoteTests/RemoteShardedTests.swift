import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `ckstore import --part I/N --remote NAME` from N real processes against SeaweedFS
/// (docs/FORMAT.md, "Sharded commits", remote variant), each rank with a local store of its own
/// as ranks on separate machines have; and SIGKILL of one rank at random moments.
final class RemoteShardedTests: XCTestCase {
  /// `emb` [rows, 256] float32 in 4 row slices, `bias.<i>` whole in part i.
  struct Checkpoint {
    let emb: TensorData
    let biases: [TensorData]
    let rows: Int

    init(seed: UInt64, rows: Int = 1024) throws {
      self.rows = rows
      emb = try TensorData(
        name: "emb", dtype: .float32, shape: [rows, 256],
        bytes: RemoteTest.bytes(rows * 1024, seed: seed &* 8 &+ 1))
      biases = try (0..<4).map {
        try TensorData(
          name: "bias.\($0)", dtype: .float32, shape: [16],
          bytes: RemoteTest.bytes(64, seed: seed &* 8 &+ 2 &+ UInt64($0)))
      }
    }

    /// Part i's file: rows i·rows/4 ..< (i+1)·rows/4 of `emb` (offset `at`, default the same
    /// rows) and `bias.<i>`.
    func writePart(_ i: Int, in dir: String, tag: String, at: Int? = nil, rowCount: Int? = nil)
      throws -> String
    {
      let lo = i * rows / 4
      let count = rowCount ?? rows / 4
      let slice = try TensorData(
        name: "emb", dtype: .float32, shape: [count, 256],
        bytes: Array(emb.bytes[(lo * 1024)..<((lo + count) * 1024)]))
      let path = dir + "/\(tag)-part\(i).safetensors"
      let offset = at ?? lo
      try Data(
        Safetensors.encode(
          [slice, biases[i]],
          metadata: [
            "ckstore.slice.emb": "{\"global\": [\(rows), 256], \"offset\": [\(offset), 0]}"
          ])
      ).write(to: URL(fileURLWithPath: path))
      return path
    }

    /// What a whole-tensor read of the commit must give, by name.
    var contents: [String: [UInt8]] {
      var out = ["emb": emb.bytes]
      for b in biases { out[b.name] = b.bytes }
      return out
    }
  }

  private func spawn(_ args: [String], env: [String: String]) throws -> Process {
    let p = Process()
    p.executableURL = CkstoreBinary.url
    p.arguments = args
    p.environment = env
    p.standardOutput = FileHandle.nullDevice
    // Each rank's messages go to a file next to its store, for a failing round's report.
    let log = args[args.count - 1] + ".err"
    FileManager.default.createFile(atPath: log, contents: nil)
    let handle = try XCTUnwrap(FileHandle(forWritingAtPath: log))
    p.standardError = handle
    try p.run()
    try handle.close()  // the child has its own copy
    return p
  }

  private func importRanks(
    _ files: [String], stores: [String], step: Int, env: [String: String]
  ) throws -> [Process] {
    try (0..<4).map {
      try spawn(
        [
          "import", files[$0], "--part", "\($0)/4", "--step", "\(step)", "--remote", "origin",
          "--store", stores[$0],
        ], env: env)
    }
  }

  /// What the ranks of the last run wrote to stderr.
  private func errors(_ stores: [String]) -> String {
    stores.map { (try? String(contentsOfFile: $0 + ".err", encoding: .utf8)) ?? "" }.joined()
  }

  /// Deletes the push leases the killed processes `pids` left. A dead pusher's lease holds
  /// `gc --remote` off for its lifetime (`Lease.ttl`, 10 minutes), as any killed push does; the
  /// test stands for that wait by removing exactly the dead processes' leases.
  private func removeLeases(of pids: Set<Int32>, _ remote: RemoteStore) throws {
    for lease in try remote.bucket.list(prefix: remote.prefix + "leases/push-") {
      guard let body = try remote.bucket.get(lease.key),
        let json = try JSONSerialization.jsonObject(with: body) as? [String: Any],
        let pid = json["pid"] as? Int, pids.contains(Int32(pid))
      else { continue }
      try remote.bucket.delete(lease.key)
    }
  }

  /// The tensors of the remote commit `id`, fetched into `store` and read whole.
  private func remoteContents(_ store: Store, _ remote: RemoteStore, _ id: ObjectID) throws
    -> (Commit, [String: [UInt8]])
  {
    let handle = RemoteTest.reconnect(remote)
    _ = try Fetch.run(store, from: handle)
    let c = try store.commit(id)
    try Fetch.data(store, from: handle, commits: [c])
    return (c, try RemoteTest.contents(store, c))
  }

  private func remoteFsck(_ store: String, env: [String: String]) throws -> Int32 {
    let r = try RemoteTest.ckstore(
      ["fsck", "--remote", "origin", "--store", store], environment: env)
    if r.status != 0 { print(r.out, r.err) }
    return r.status
  }

  func testFourProcessesCommitOneCheckpointOnTheRemote() throws {
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let (remote, url) = try RemoteTest.remote(on: server)
    let stores = try RemoteTest.rankStores(dir, url: url, env: env)
    let ck = try Checkpoint(seed: 21)
    let files = try (0..<4).map { try ck.writePart($0, in: dir, tag: "a") }
    let ranks = try importRanks(files, stores: stores, step: 7, env: env)
    for p in ranks { p.waitUntilExit() }
    XCTAssertEqual(ranks.map(\.terminationStatus), [0, 0, 0, 0], errors(stores))
    XCTAssertNotNil(try RemoteTest.head(remote))
    XCTAssertEqual(try remote.bucket.list(prefix: remote.prefix + "parts/").count, 0)
    XCTAssertEqual(try remoteFsck(stores[0], env: env), 0)
    // No local ref moved: the local stores only staged their parts. A fetch shows the commit.
    XCTAssertNil(try Store.open(at: stores[1]).head(of: "main"))
    XCTAssertEqual(
      try RemoteTest.ckstore(["fetch", "--store", stores[1]], environment: env).status, 0)
    let shown = try RemoteTest.ckstore(
      ["show", "origin/main", "--store", stores[1]], environment: env)
    XCTAssertTrue(shown.out.contains("sharded commit of 4 parts"), shown.out + shown.err)

    // The same four parts into a local store: the clone's export must equal its export.
    let local = dir + "/local"
    _ = try Store.create(at: local)
    for i in 0..<4 {
      let r = try RemoteTest.ckstore(
        ["import", files[i], "--part", "\(i)/4", "--step", "7", "--store", local], environment: env)
      XCTAssertEqual(r.status, 0, r.err)
    }
    let clone = try RemoteTest.ckstore(
      ["clone", url, dir + "/c", "--path-style"], environment: env)
    XCTAssertEqual(clone.status, 0, clone.err)
    XCTAssertEqual(
      try RemoteTest.ckstore(["fsck", "--store", dir + "/c"], environment: env).status, 0)
    let show = try RemoteTest.ckstore(["show", "main", "--store", dir + "/c"], environment: env)
    XCTAssertTrue(show.out.contains("sharded commit of 4 parts"), show.out)
    for (store, file) in [
      (local, dir + "/local.safetensors"), (dir + "/c", dir + "/c.safetensors"),
    ] {
      let export = try RemoteTest.ckstore(
        ["export", "main", "-o", file, "--store", store], environment: env)
      XCTAssertEqual(export.status, 0, export.err)
    }
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: dir + "/local.safetensors")),
      try Data(contentsOf: URL(fileURLWithPath: dir + "/c.safetensors")))
    let cloned = try Store.open(at: dir + "/c")
    let clonedHead = try XCTUnwrap(try cloned.head(of: "main"))
    XCTAssertEqual(try RemoteTest.contents(cloned, try cloned.commit(clonedHead)), ck.contents)

    // The same part again: idempotent. Other content for it: refused, naming step and rank.
    let head = try RemoteTest.head(remote)
    let again = try RemoteTest.ckstore(
      [
        "import", files[2], "--part", "2/4", "--step", "7", "--remote", "origin", "--store",
        stores[2],
      ],
      environment: env)
    XCTAssertEqual(again.status, 0, again.err)
    XCTAssertTrue(again.out.contains("sharded commit"), again.out)
    let other = try Checkpoint(seed: 22).writePart(2, in: dir, tag: "b")
    let refused = try RemoteTest.ckstore(
      [
        "import", other, "--part", "2/4", "--step", "7", "--remote", "origin", "--store", stores[2],
      ],
      environment: env)
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.err.contains("rank 2") && refused.err.contains("step 7"), refused.err)
    XCTAssertEqual(try RemoteTest.head(remote), head)
  }

  func testAGapIsRefusedAndNothingIsOnTheRemoteRef() throws {
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let (remote, url) = try RemoteTest.remote(on: server)
    let stores = try RemoteTest.rankStores(dir, url: url, env: env)
    let ck = try Checkpoint(seed: 23)
    // Part 3 claims rows 800..<1024 with 224 rows: nobody holds rows 768..<800.
    let files =
      try (0..<3).map { try ck.writePart($0, in: dir, tag: "g") }
      + [try ck.writePart(3, in: dir, tag: "g", at: 800, rowCount: 224)]
    for i in 0..<3 {
      let r = try RemoteTest.ckstore(
        [
          "import", files[i], "--part", "\(i)/4", "--step", "1", "--remote", "origin", "--store",
          stores[i],
        ],
        environment: env)
      XCTAssertEqual(r.status, 0, r.err)
    }
    let r = try RemoteTest.ckstore(
      [
        "import", files[3], "--part", "3/4", "--step", "1", "--remote", "origin", "--store",
        stores[3],
      ],
      environment: env)
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(
      r.err.contains("'emb'") && r.err.contains("rows 768..<800 between rank 2 and rank 3"), r.err)
    XCTAssertNil(try RemoteTest.head(remote))
    XCTAssertEqual(try remote.bucket.list(prefix: remote.prefix + "refs/").count, 0)
  }

  /// Acceptance 1 on the remote: saves of 4 ranks, one SIGKILLed at a random moment of the save
  /// in each, until 50 kills have landed before the victim finished. Either the remote branch
  /// names the complete checkpoint, or it did not move and a re-run of the victim completes it
  /// (after a `gc --remote --grace 0`, which must keep the unfinished parts' objects). The remote
  /// is fsck'd after every round and every re-run.
  ///
  /// The ranks and re-runs stay real processes, so start-up stays inside the kill window. What
  /// keeps this near two minutes: 256 KiB checkpoints (one 64 KiB chunk a part); fsck and gc
  /// between rounds run here through `RemoteFsck.run` and `RemoteGC.run`, the very calls of
  /// `fsck --remote` and `gc --remote` (a process each would add its start-up and nothing it
  /// checks), and the two commands run as processes once, at the end; and a fresh remote every
  /// 10 rounds, since a full fsck's cost grows with the history (the first round on each
  /// creates the branch, by `If-None-Match`).
  func testSigkillOfOneRankNeverYieldsAPartialRemoteCommit() throws {
    let kills = 50
    let roundsPerRemote = 10
    let rows = 256
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    var remotes = 0
    /// A fresh remote, rank stores with `origin` set to it, and a store to verify it from.
    func freshRemote() throws -> (RemoteStore, [String], Store) {
      remotes += 1
      let folder = dir + "/remote\(remotes)"
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      let (remote, url) = try RemoteTest.remote(on: server)
      let stores = try RemoteTest.rankStores(folder, url: url, env: env)
      return (remote, stores, try Store.create(at: folder + "/verify"))
    }
    var (remote, stores, verify) = try freshRemote()
    var rng = SystemRandomNumberGenerator()
    var durations: [Double] = []
    var previous: ObjectID? = nil
    for step in 0..<3 {
      let ck = try Checkpoint(seed: 300 + UInt64(step), rows: rows)
      let files = try (0..<4).map { try ck.writePart($0, in: dir, tag: "s\(step)") }
      let start = Date()
      let ranks = try importRanks(files, stores: stores, step: step, env: env)
      for p in ranks { p.waitUntilExit() }
      durations.append(Date().timeIntervalSince(start))
      XCTAssertEqual(ranks.map(\.terminationStatus), [0, 0, 0, 0], errors(stores))
      previous = try RemoteTest.head(remote)
    }
    let duration = durations.sorted()[1]
    var (noCommit, landedAnyway, finished) = (0, 0, 0)
    var victims = Set<Int32>()
    // Where a round's time goes, for the printed line.
    var spent: [String: Double] = [:]
    var clock = Date()
    func lap(_ phase: String) {
      spent[phase, default: 0] += Date().timeIntervalSince(clock)
      clock = Date()
    }
    let started = Date()
    var k = 0
    while noCommit + landedAnyway < kills, k < 3 * kills {
      defer { k += 1 }
      if k > 0, k % roundsPerRemote == 0 {
        (remote, stores, verify) = try freshRemote()
        previous = nil
      }
      let step = 3 + k
      let ck = try Checkpoint(seed: 300 + UInt64(step), rows: rows)
      let files = try (0..<4).map { try ck.writePart($0, in: dir, tag: "s\(step)") }
      let victim = Int.random(in: 0..<4, using: &rng)
      let delay = Double.random(in: 0..<duration, using: &rng)
      lap("setup")
      let ranks = try importRanks(files, stores: stores, step: step, env: env)
      usleep(UInt32(delay * 1_000_000))
      kill(ranks[victim].processIdentifier, SIGKILL)
      for p in ranks { p.waitUntilExit() }
      lap("save")
      for (i, p) in ranks.enumerated() where i != victim {
        XCTAssertEqual(p.terminationStatus, 0, "round \(k): rank \(i): \(errors(stores))")
      }
      let killed = ranks[victim].terminationReason == .uncaughtSignal
      victims.insert(ranks[victim].processIdentifier)
      try assertClean(remote, "round \(k) (rank \(victim) killed at \(delay) s)")
      lap("fsck")
      let now = try RemoteTest.head(remote)
      if now != previous {
        if killed { landedAnyway += 1 } else { finished += 1 }
      } else {
        XCTAssertTrue(killed, "round \(k): rank \(victim) finished but no commit appeared")
        noCommit += 1
        try removeLeases(of: victims, remote)
        let gc = try RemoteGC.run(
          RemoteTest.reconnect(remote), policy: RetentionPolicy(), grace: 0)
        XCTAssertEqual(gc.prunedCommits, [], "round \(k)")
        lap("gc")
        let rerun = try RemoteTest.ckstore(
          [
            "import", files[victim], "--part", "\(victim)/4", "--step", "\(step)", "--remote",
            "origin", "--store", stores[victim],
          ], environment: env)
        XCTAssertEqual(rerun.status, 0, "round \(k) re-run: \(rerun.err)")
        lap("re-run")
        try assertClean(remote, "round \(k) after the re-run")
        lap("fsck")
      }
      let head = try XCTUnwrap(try RemoteTest.head(remote), "round \(k)")
      let (c, contents) = try remoteContents(verify, remote, head)
      XCTAssertEqual(c.step, Int64(step), "round \(k)")
      XCTAssertEqual(c.parents, previous.map { [$0] } ?? [], "round \(k)")
      XCTAssertTrue(contents == ck.contents, "round \(k): the commit is not the whole checkpoint")
      previous = head
      lap("verify")
    }
    let elapsed = Date().timeIntervalSince(started)
    XCTAssertEqual(noCommit + landedAnyway, kills, "after \(k) rounds")
    try removeLeases(of: victims, remote)
    let gc = try RemoteTest.ckstore(
      ["gc", "--remote", "origin", "--grace", "0", "--store", stores[0]], environment: env)
    XCTAssertEqual(gc.status, 0, gc.err)
    XCTAssertEqual(try remote.bucket.list(prefix: remote.prefix + "parts/").count, 0)
    XCTAssertEqual(try remoteFsck(stores[0], env: env), 0)
    let phases = ["save", "fsck", "gc", "re-run", "verify", "setup"].map {
      "\($0) \(String(format: "%.1f", spent[$0] ?? 0)) s"
    }
    print(
      "[remote sharded sigkill] a 4-rank save of \(rows) KiB to SeaweedFS takes "
        + "\(String(format: "%.0f", duration * 1000)) ms; \(k) rounds on \(remotes) remotes, "
        + "\(noCommit + landedAnyway) kills before the victim finished: \(noCommit) left no "
        + "commit (re-run completed it), \(landedAnyway) after the victim's part was durable; "
        + "\(finished) rounds the victim finished first; "
        + "\(String(format: "%.0f", elapsed)) s (" + phases.joined(separator: ", ") + ")")
  }

  /// Fails the test, listing the problems, unless a remote fsck of `remote` is clean.
  private func assertClean(_ remote: RemoteStore, _ context: String) throws {
    let report = try RemoteFsck.run(RemoteTest.reconnect(remote))
    XCTAssertTrue(report.isClean, "\(context): \(report.problems.map(\.message))")
  }
}
