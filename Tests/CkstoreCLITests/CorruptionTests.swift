import CKStore
import Foundation
import Testing

/// Acceptance 7 through the CLI: a flipped or truncated byte in any object makes `fsck` (exit 1)
/// and reads of the tensors that use it fail, naming the object; other tensors still read.
@Suite struct CorruptionTests {
  private struct Fixture {
    let box: Sandbox
    /// The two commits, oldest first.
    let commits: [String]
    let chunks: [String: String]
  }

  /// Two commits of `a.raw` (random, stored uncompressed), `b.packed` (compressible, stored
  /// compressed) and `c.other`, which changes between them: `diff` of the two reads only
  /// `c.other`, so it keeps working whatever happens to the others' objects.
  private func fixture() throws -> Fixture {
    let box = try Sandbox()
    let shared = [
      try floatTensor("a.raw", [32, 32], seed: 1),
      try TensorData(name: "b.packed", shape: [32, 32], float32: (0..<1024).map { Float($0 % 7) }),
    ]
    let first = try box.commit(shared + [try floatTensor("c.other", [16, 16], seed: 3)], step: 1)
    let second = try box.commit(shared + [try floatTensor("c.other", [16, 16], seed: 4)], step: 2)
    let show = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
    var chunks: [String: String] = [:]
    for t in show.tensors { chunks[t.name] = t.chunks[0] }
    return Fixture(box: box, commits: [first, second], chunks: chunks)
  }

  /// Runs fsck (text and JSON) and export with `object` damaged; checks each names it.
  private func expectDetected(
    _ f: Fixture, object: String, tensor: String?, what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let text = try f.box.ck("fsck")
    #expect(
      text.status == 1, "fsck exit \(text.status) after \(what)", sourceLocation: sourceLocation)
    #expect(
      text.stdout.contains("error: object \(object)"),
      "fsck text after \(what): \(text.stdout)\(text.stderr.prefix(200))",
      sourceLocation: sourceLocation)
    let json = try f.box.ck("fsck", "--json")
    #expect(json.status == 1, sourceLocation: sourceLocation)
    if let report = try? decodeJSON(FsckJSON.self, json.stdout) {
      #expect(
        report.problems.map(\.object) == [object], "after \(what)", sourceLocation: sourceLocation)
      if let tensor {
        #expect(report.problems.first?.tensors == [tensor], sourceLocation: sourceLocation)
      }
      #expect(
        report.problems.first?.commits == f.commits.map { String($0.prefix(12)) }.sorted(),
        sourceLocation: sourceLocation)
    } else {
      Issue.record(
        "fsck --json after \(what) printed no report: \(json.stderr.prefix(200))",
        sourceLocation: sourceLocation)
    }
    let out = f.box.path("x.safetensors")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let export = try f.box.ck("export", "main", "-o", out)
    #expect(export.status == 2, "export after \(what)", sourceLocation: sourceLocation)
    #expect(
      export.stderr.contains(object), "export after \(what): \(export.stderr)",
      sourceLocation: sourceLocation)
    if let tensor {
      #expect(export.stderr.contains("'\(tensor)'"), sourceLocation: sourceLocation)
    }
    #expect(!FileManager.default.fileExists(atPath: out), sourceLocation: sourceLocation)
  }

  /// Every way of damaging one object file: each header byte, payload bytes, truncations.
  private func damages(size: Int) -> [(String, (inout [UInt8]) -> Void)] {
    var out: [(String, (inout [UInt8]) -> Void)] = []
    for i in Array(0..<16) + [16, size / 2, size - 1] {
      out.append(("flip byte \(i)", { $0[i] ^= 0x5A }))
    }
    out.append(("truncate to \(size - 1)", { $0.removeLast() }))
    out.append(("truncate to \(size / 2)", { $0.removeLast(size - size / 2) }))
    out.append(("truncate to 10", { $0.removeLast(size - 10) }))
    out.append(("empty", { $0.removeAll() }))
    return out
  }

  @Test(arguments: ["a.raw", "b.packed"])
  func damagedChunkIsNamedAndOtherTensorsStillRead(tensor: String) throws {
    let f = try fixture()
    let object = try #require(f.chunks[tensor])
    let path = f.box.objectPath(object)
    let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    for (what, damage) in damages(size: original.count) {
      var bytes = original
      damage(&bytes)
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      try expectDetected(f, object: object, tensor: tensor, what: "\(what) of \(tensor)")
      // The other tensors still read: `diff` reads both sides of `c.other` (and, recognising the
      // damaged tensor as unchanged by id, never reads it).
      let diff = try f.box.ck("diff", "main~1", "main", "--json")
      #expect(diff.status == 1, "diff after \(what) of \(tensor): \(diff.stderr.prefix(300))")
      if diff.status == 1 {
        let d = try decodeJSON(DiffJSON.self, diff.stdout)
        #expect(d.tensors.map(\.name) == ["c.other"] && d.tensors[0].l2 != nil)
        #expect(d.unchangedSubtrees == ["a.", "b."])
      }
      try Data(original).write(to: URL(fileURLWithPath: path))
    }
    #expect(try f.box.ck("fsck").status == 0)
    #expect(try f.box.export("main").tensors.map(\.name) == ["a.raw", "b.packed", "c.other"])
  }

  @Test func damagedTreeAndCommitAreNamed() throws {
    let f = try fixture()
    // Trees: every object that is neither a chunk nor a commit (two roots, `a.`, `b.`, and
    // `c.` of each commit).
    let chunkIDs = try Set(
      ["main", "main~1"].flatMap { rev in
        try decodeJSON(ShowJSON.self, try f.box.ok("show", rev, "--json").stdout).tensors
          .flatMap(\.chunks)
      })
    let trees = f.box.objectIDs().subtracting(chunkIDs).subtracting(f.commits)
    #expect(trees.count == 6)
    for tree in trees {
      let path = f.box.objectPath(tree)
      let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
      var bytes = original
      bytes[bytes.count - 1] ^= 1
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let fsck = try f.box.ck("fsck", "--json")
      #expect(fsck.status == 1)
      if let report = try? decodeJSON(FsckJSON.self, fsck.stdout) {
        #expect(Set(report.problems.map(\.object)) == [tree])
      } else {
        Issue.record("fsck --json with a damaged tree: \(fsck.stderr.prefix(300))")
      }
      // Whichever commit uses the tree cannot be shown, and says which object is at fault.
      let shows = try ["main", "main~1"].map { try f.box.ck("show", $0) }
      #expect(shows.contains { $0.status == 2 })
      for r in shows where r.status != 0 {
        #expect(r.status == 2 && r.stderr.contains(tree), "show with a damaged tree: \(r.stderr)")
      }
      try Data(original).write(to: URL(fileURLWithPath: path))
    }
    let head = f.commits[1]
    let path = f.box.objectPath(head)
    let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    var bytes = original
    bytes[20] ^= 1
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let fsck = try f.box.ck("fsck", "--json")
    #expect(fsck.status == 1)
    #expect(try decodeJSON(FsckJSON.self, fsck.stdout).problems.map(\.object) == [head])
    for args in [["log"], ["show", "main"], ["export", "main", "-o", f.box.path("y")]] {
      let r = try f.box.ck(args)
      #expect(r.status == 2 && r.stderr.contains(head), "\(args): \(r.stderr)")
    }
    // The older commit, named by id, still shows.
    #expect(try f.box.ck("show", f.commits[0]).status == 0)
    try Data(original).write(to: URL(fileURLWithPath: path))
    #expect(try f.box.ck("fsck").status == 0)
  }
}
