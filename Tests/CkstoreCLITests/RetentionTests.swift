import CKStore
import Foundation
import Testing

/// `gc`, `fsck`, `stats`, `tag` and `branch` on a ten-commit branch (acceptance 5).
@Suite struct RetentionTests {
  /// Ten commits, steps 1…10: `shared.w` (the same in all) and `own.w` (different in each).
  private struct Run {
    let box: Sandbox
    let ids: [String]
    let files: [[TensorData]]
    let ownChunks: [String]
    let sharedChunk: String
  }

  static let sharedBytes = 4096
  static let ownBytes = 1024

  private func tenCommits() throws -> Run {
    let box = try Sandbox()
    let shared = try floatTensor("shared.w", [32, 32], seed: 1000)
    var ids: [String] = []
    var files: [[TensorData]] = []
    var own: [String] = []
    var sharedChunk = ""
    for step in 1...10 {
      let tensors = [try floatTensor("own.w", [16, 16], seed: UInt64(step)), shared]
      files.append(tensors)
      ids.append(try box.commit(tensors, step: Int64(step), message: "step \(step)"))
      let show = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
      own.append(try #require(show.tensors.first { $0.name == "own.w" }?.chunks.first))
      sharedChunk = try #require(show.tensors.first { $0.name == "shared.w" }?.chunks.first)
    }
    return Run(box: box, ids: ids, files: files, ownChunks: own, sharedChunk: sharedChunk)
  }

  private func sizes(_ box: Sandbox) -> [String: Int] {
    var out: [String: Int] = [:]
    for id in box.objectIDs() {
      out[id] =
        (try? FileManager.default.attributesOfItem(atPath: box.objectPath(id))[.size] as? Int) ?? 0
    }
    return out
  }

  @Test func keepLastTwoFreesTheOlderCommitsExclusiveDataOnly() throws {
    let run = try tenCommits()
    let box = run.box
    let before = sizes(box)
    let listing = box.listing()

    // fsck before: every object on disk is reachable, and checked.
    let clean = try decodeJSON(FsckJSON.self, try box.ok("fsck", "--json").stdout)
    #expect(clean.problems.isEmpty && clean.commitsChecked == 10)
    #expect(clean.objectsChecked == before.count)

    // Dry run: reports, changes nothing.
    let dry = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-last", "2", "--dry-run", "--json").stdout)
    #expect(dry.dryRun)
    #expect(Set(dry.prunedCommits) == Set(run.ids[0..<8]))
    #expect(box.listing() == listing, "--dry-run changed the store")
    let dryText = try box.ok("gc", "--keep-last", "2", "--dry-run").stdout
    #expect(
      dryText.hasPrefix("would prune 8 commits; would delete \(dry.objectsDeleted) objects ("))

    let report = try decodeJSON(GCJSON.self, try box.ok("gc", "--keep-last", "2", "--json").stdout)
    let after = sizes(box)
    let deleted = Set(before.keys).subtracting(after.keys)
    #expect(!report.dryRun)
    #expect(Set(report.prunedCommits) == Set(run.ids[0..<8]))
    #expect(report.objectsDeleted == deleted.count)
    #expect(report.bytesFreed == deleted.reduce(0) { $0 + before[$1]! })
    #expect(report.objectsKept == after.count)
    #expect(dry.objectsDeleted == report.objectsDeleted && dry.bytesFreed == report.bytesFreed)
    #expect(after.keys.allSatisfy { before[$0] != nil }, "gc created objects")
    // The eight older commits' own chunks are gone, each with its two trees (root and `own.`);
    // the shared chunk, the kept chunks and every commit object stay.
    #expect(
      run.ownChunks[0..<8].allSatisfy {
        !FileManager.default.fileExists(atPath: box.objectPath($0))
      })
    #expect(run.ownChunks[8...].allSatisfy { after[$0] != nil })
    #expect(after[run.sharedChunk] != nil)
    #expect(run.ids.allSatisfy { after[$0] != nil })
    #expect(deleted.count == 8 * 3)

    // log lists all ten, eight pruned; fsck is clean; kept commits export what was imported.
    let log = try decodeLog(try box.ok("log", "--json").stdout)
    #expect(log.map(\.step) == Array((1...10).reversed()))
    #expect(log.map(\.pruned) == [false, false] + Array(repeating: true, count: 8))
    let fsck = try decodeJSON(FsckJSON.self, try box.ok("fsck", "--json").stdout)
    #expect(fsck.problems.isEmpty && fsck.commitsChecked == 10)
    #expect(fsck.objectsChecked == after.count)
    #expect(try box.ok("fsck").stdout.hasSuffix("checked 10 commits, \(after.count) objects: OK\n"))
    for i in 8..<10 { #expect(try box.export(run.ids[i]).tensors == run.files[i]) }

    // A second gc finds nothing more to do.
    let again = try decodeJSON(GCJSON.self, try box.ok("gc", "--keep-last", "2", "--json").stdout)
    #expect(again.prunedCommits.isEmpty && again.objectsDeleted == 0 && again.bytesFreed == 0)
    let text = try box.ok("gc", "--keep-last", "2").stdout
    #expect(
      text.hasPrefix("pruned 0 commits; deleted 0 objects (0 B); \(after.count) objects kept"))
  }

  @Test func keepEveryAlsoKeepsMultiplesAndTagsKeepTheirCommit() throws {
    let run = try tenCommits()
    let box = run.box
    let tag = try box.ok("tag", "v1", "step-3")
    #expect(tag.stdout == "tag v1 → \(run.ids[2].prefix(12)) (step 3)\n")
    let report = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-last", "2", "--keep-every", "4", "--json").stdout)
    // Kept: 10, 9 (last two), 8 and 4 (multiples of 4), 3 (tagged).
    let pruned = Set([1, 2, 5, 6, 7].map { run.ids[$0 - 1] })
    #expect(Set(report.prunedCommits) == pruned)
    let log = try decodeLog(try box.ok("log", "--json").stdout)
    #expect(log.filter(\.pruned).map(\.step).sorted() == [1, 2, 5, 6, 7])
    #expect(log.first { $0.step == 3 }?.refs == ["tag: v1"])
    for step in [3, 4, 8, 9, 10] {
      #expect(try box.export("step-\(step)").tensors == run.files[step - 1])
    }
    #expect(try box.ok("show", "v1", "--json").stdout.contains(run.ids[2]))
    #expect(try box.ck("fsck").status == 0)
  }

  /// `--keep-every K` without `--keep-last` must not be a silent no-op: either commits whose step
  /// is not a multiple of K (and are not heads or tagged) lose their data, as restic's
  /// `forget --keep-*` rules do, or the command refuses the combination.
  @Test func keepEveryAloneIsNotASilentNoOp() throws {
    let run = try tenCommits()
    let r = try run.box.ck("gc", "--keep-every", "5", "--dry-run", "--json")
    if r.status == 0 {
      let report = try decodeJSON(GCJSON.self, r.stdout)
      let expected = Set([1, 2, 3, 4, 6, 7, 8, 9].map { run.ids[$0 - 1] })
      #expect(
        Set(report.prunedCommits) == expected,
        "gc --keep-every 5 alone pruned \(report.prunedCommits.count) commits, expected 8")
    } else {
      #expect(r.stderr.contains("--keep-last"), "refused without saying why: \(r.stderr)")
    }
  }

  /// A branch gc does not govern keeps everything it reaches, also when it sorts after `main` and
  /// forks at a commit `main`'s policy keeps.
  @Test func ungovernedBranchKeepsItsWholeHistory() throws {
    let run = try tenCommits()
    try run.box.ok("branch", "zz", "main~1")
    let report = try decodeJSON(
      GCJSON.self, try run.box.ok("gc", "--keep-last", "2", "--branch", "main", "--json").stdout)
    #expect(report.prunedCommits.isEmpty, "pruned steps reachable from zz")
    let log = try decodeLog(try run.box.ok("log", "zz", "--json").stdout)
    #expect(log.filter(\.pruned).map(\.step) == [])
  }

  @Test func statsCountsLogicalUniqueAndStoredBytes() throws {
    let run = try tenCommits()
    let box = run.box
    let shared = Int64(Self.sharedBytes)
    let own = Int64(Self.ownBytes)
    var s = try decodeJSON(StatsJSON.self, try box.ok("stats", "--json").stdout)
    #expect(s.stats.commits == 10 && s.stats.prunedCommits == 0)
    #expect(s.stats.logicalBytes == 10 * (shared + own))
    #expect(s.stats.uniqueBytes == shared + 10 * own)
    #expect(s.stats.chunkObjects == 11 && s.stats.commitObjects == 10)
    #expect(
      s.stats.chunkObjects + s.stats.treeObjects + s.stats.commitObjects == box.objectIDs().count)
    #expect(abs(s.dedupRatio - Double(10 * (shared + own)) / Double(shared + 10 * own)) < 1e-12)
    let onDisk = sizes(box).values.reduce(0, +)
    #expect(s.stats.storedBytes == Int64(onDisk))

    try box.ok("gc", "--keep-last", "2")
    s = try decodeJSON(StatsJSON.self, try box.ok("stats", "--json").stdout)
    #expect(s.stats.commits == 10 && s.stats.prunedCommits == 8)
    #expect(s.stats.logicalBytes == 2 * (shared + own))
    #expect(s.stats.uniqueBytes == shared + 2 * own)
    #expect(s.stats.chunkObjects == 3 && s.stats.commitObjects == 10)
    #expect(abs(s.storedBytesPerCommit - Double(s.stats.storedBytes) / 2) < 1e-9)
    let text = try box.ok("stats").stdout.split(separator: "\n").map(squashed)
    #expect(text.contains("commits 10 (8 pruned)"))
    #expect(text.contains("objects 3 chunks, \(s.stats.treeObjects) trees, 10 commits"))
  }

  @Test func branchListCreateSwitchAndStepRevisions() throws {
    let run = try tenCommits()
    let box = run.box
    #expect(try box.ok("branch").stdout == "* main  \(run.ids[9].prefix(12))\n")
    let created = try box.ok("branch", "exp", "main~3")
    #expect(created.stdout == "branch exp → \(run.ids[6].prefix(12)) (step 7)\n")
    var list = try decodeBranches(try box.ok("branch", "--json").stdout)
    #expect(
      list == [
        BranchJSON(name: "exp", head: run.ids[6], current: false),
        BranchJSON(name: "main", head: run.ids[9], current: true),
      ])
    // Creating an existing branch without --switch is an error that names it.
    let dup = try box.ck("branch", "exp")
    #expect(
      dup.status == 2 && dup.stderr.contains("'exp'") && dup.stderr.contains("already exists"))

    #expect(try box.ok("branch", "exp", "--switch").stdout == "switched to exp\n")
    list = try decodeBranches(try box.ok("branch", "--json").stdout)
    #expect(list.map(\.current) == [true, false])
    #expect(try box.ok("branch").stdout.hasPrefix("* exp  "))
    // New commits go to the current branch; step-N resolves on it, main:step-N on main.
    let side = try box.commit([try floatTensor("own.w", [2], seed: 77)], step: 8)
    #expect(box.head("exp") == side && box.head("main") == run.ids[9])
    let log = try decodeLog(try box.ok("log", "--json").stdout)
    #expect(log.map(\.id) == [side] + run.ids[0..<7].reversed())
    #expect(
      try decodeJSON(ShowJSON.self, try box.ok("show", "step-8", "--json").stdout).commit.id == side
    )
    #expect(
      try decodeJSON(ShowJSON.self, try box.ok("show", "main:step-8", "--json").stdout).commit.id
        == run.ids[7])
    // Another branch's commits keep their data when gc applies to main only.
    try box.ok("gc", "--keep-last", "1", "--branch", "main")
    let mainLog = try decodeLog(try box.ok("log", "main", "--json").stdout)
    #expect(mainLog.map(\.pruned) == [false, true, true] + Array(repeating: false, count: 7))
    #expect(try box.ck("fsck").status == 0)

    // Tags: list, JSON, duplicates refused.
    try box.ok("tag", "best", "main~1")
    #expect(try box.ok("tag").stdout == "best  \(run.ids[8].prefix(12))\n")
    struct Tags: Decodable {
      struct Entry: Decodable, Equatable {
        var name: String
        var commit: String
      }
      var tags: [Entry]
    }
    let tags = try decodeJSON(Tags.self, try box.ok("tag", "--json").stdout).tags
    #expect(tags == [.init(name: "best", commit: run.ids[8])])
    let again = try box.ck("tag", "best", "main")
    #expect(again.status == 2 && again.stderr.contains("'best'"))
  }
}
