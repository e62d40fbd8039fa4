import CKStore
import Foundation
import Testing

/// Bad input exits 2 with `ckstore: error:` and a message naming the culprit, and changes nothing.
@Suite struct BadInputTests {
  /// A store with two commits on main, so that every command has something to work on.
  private func twoCommits() throws -> (Sandbox, [String]) {
    let box = try Sandbox()
    let a = try box.commit([try floatTensor("m.w", [8, 8], seed: 1)], step: 1)
    let b = try box.commit([try floatTensor("m.w", [8, 8], seed: 2)], step: 2)
    return (box, [a, b])
  }

  /// Runs a command that must fail: exit 2, one `ckstore: error:` line naming every culprit,
  /// and the store's files as they were.
  private func expectFailure(
    _ box: Sandbox, _ args: [String], naming culprits: [String],
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let before = box.listing()
    let r = try box.ck(args)
    let cmd = "ckstore " + args.joined(separator: " ")
    #expect(r.status == 2, "\(cmd) exited \(r.status)", sourceLocation: sourceLocation)
    #expect(
      r.stderr.hasPrefix("ckstore: error: "), "\(cmd) stderr: \(r.stderr)",
      sourceLocation: sourceLocation)
    for culprit in culprits {
      #expect(
        r.stderr.contains(culprit), "\(cmd): '\(culprit)' not named in: \(r.stderr)",
        sourceLocation: sourceLocation)
    }
    #expect(box.listing() == before, "\(cmd) changed the store", sourceLocation: sourceLocation)
    #expect(
      FileManager.default.fileExists(atPath: box.store + "/refs/heads/main.lock") == false,
      sourceLocation: sourceLocation)
  }

  @Test func unknownRevisionsAreNamed() throws {
    let (box, _) = try twoCommits()
    try expectFailure(box, ["show", "nosuch"], naming: ["'nosuch'"])
    try expectFailure(box, ["log", "nosuch"], naming: ["'nosuch'"])
    try expectFailure(box, ["diff", "main", "nosuch"], naming: ["'nosuch'"])
    try expectFailure(
      box, ["export", "nosuch", "-o", box.path("x.safetensors")], naming: ["'nosuch'"])
    try expectFailure(box, ["tag", "t", "nosuch"], naming: ["'nosuch'"])
    try expectFailure(box, ["branch", "b", "nosuch"], naming: ["'nosuch'"])
    try expectFailure(box, ["show", "step-99"], naming: ["'step-99'", "99"])
    try expectFailure(box, ["show", "other:step-1"], naming: ["'other'"])
    try expectFailure(box, ["show", "main~5"], naming: ["'main~5'"])
    try expectFailure(box, ["show", "deadbeef"], naming: ["'deadbeef'"])
    #expect(!FileManager.default.fileExists(atPath: box.path("x.safetensors")))
  }

  @Test func ambiguousPrefixListsTheCandidates() throws {
    let box = try Sandbox()
    // Commit tiny snapshots with different messages until two commit ids share 4 hex digits
    // (about 320 commits expected by the birthday bound).
    let store = try Store.open(at: box.store)
    let writer = try store.writer(branch: "main")
    let tensor = try floatTensor("w", [2], seed: 1)
    var byPrefix: [String: String] = [:]
    var pair: (String, String)?
    for i in 0..<5000 {
      let id = try writer.commit([tensor], step: Int64(i), message: "attempt \(i)").id.hex
      if let other = byPrefix.updateValue(id, forKey: String(id.prefix(4))) {
        pair = (other, id)
        break
      }
    }
    writer.close()
    let (a, b) = try #require(pair)
    let prefix = String(a.prefix(4))
    try expectFailure(
      box, ["show", prefix],
      naming: ["'\(prefix)'", "ambiguous", String(a.prefix(12)), String(b.prefix(12))])
    try expectFailure(box, ["diff", prefix, "main"], naming: ["'\(prefix)'", "ambiguous"])
    // Upper case is the same prefix.
    try expectFailure(box, ["show", prefix.uppercased()], naming: ["ambiguous"])
    // A longer prefix that tells them apart works.
    var n = 5
    while a.prefix(n) == b.prefix(n) { n += 1 }
    let show = try decodeJSON(
      ShowJSON.self, try box.ok("show", String(a.prefix(n)), "--json").stdout)
    #expect(show.commit.id == a)
  }

  @Test func missingStoreIsNamed() throws {
    let box = try Sandbox(initStore: false)
    let nowhere = box.path("nowhere")
    for args in [["log"], ["show", "main"], ["gc"], ["fsck"], ["stats"], ["branch"]] {
      let r = try CLI.run(args + ["--store", nowhere])
      #expect(r.status == 2, "\(args) with a missing --store")
      #expect(r.stderr.hasPrefix("ckstore: error: ") && r.stderr.contains(nowhere), "\(r.stderr)")
      let e = try CLI.run(args, environment: ["CKSTORE_DIR": nowhere])
      #expect(e.status == 2 && e.stderr.contains(nowhere), "CKSTORE_DIR: \(e.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: nowhere), "a failed command created the store")

    // Discovery: no .ckstore here or in any parent.
    var dir = box.dir.resolvingSymlinksInPath()
    while dir.path != "/" {
      try #require(
        !FileManager.default.fileExists(atPath: dir.appendingPathComponent(".ckstore").path),
        "a .ckstore above the sandbox would be discovered")
      dir.deleteLastPathComponent()
    }
    try #require(!FileManager.default.fileExists(atPath: "/.ckstore"))
    let work = box.dir.appendingPathComponent("a/b")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    let r = try CLI.run(["log"], directory: work)
    #expect(r.status == 2)
    #expect(r.stderr.hasPrefix("ckstore: error: no store found"), "\(r.stderr)")
    #expect(r.stderr.contains("a/b"), "the searched folder is named: \(r.stderr)")

    // …and once a parent has one, it is found from below; CKSTORE_DIR beats discovery.
    let found = box.dir.appendingPathComponent("a/.ckstore").path
    #expect(try CLI.run(["init", found]).status == 0)
    let log = try CLI.run(["branch"], directory: work)
    #expect(log.status == 0 && log.stdout == "", "\(log.stderr)")
    let env = try CLI.run(["branch"], environment: ["CKSTORE_DIR": nowhere], directory: work)
    #expect(env.status == 2 && env.stderr.contains(nowhere))
  }

  @Test func malformedSafetensorsNamesTheFile() throws {
    let (box, _) = try twoCommits()
    let tensorHeader = #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    let cases: [(String, [UInt8], [String])] = [
      ("short", [1, 2, 3], []),
      ("toolong", rawSafetensors(header: "{}", headerLength: 1 << 40), []),
      ("notjson", rawSafetensors(header: "{not json"), []),
      ("array", rawSafetensors(header: "[1,2]"), []),
      ("offsets", rawSafetensors(header: tensorHeader, data: [0, 0, 0, 0]), ["'t'"]),
      (
        "size",
        rawSafetensors(
          header: #"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
          data: Array(repeating: 0, count: 8)), ["'t'"]
      ),
      (
        "shape",
        rawSafetensors(
          header: #"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#,
          data: Array(repeating: 0, count: 8)), ["'t'"]
      ),
      ("meta", rawSafetensors(header: #"{"__metadata__":{"k":1}}"#), ["'k'"]),
      (
        "overlap",
        rawSafetensors(
          header:
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
          data: Array(repeating: 0, count: 12)), ["'a'", "'b'"]
      ),
    ]
    for (name, bytes, culprits) in cases {
      let file = box.path("bad-\(name).safetensors")
      try Data(bytes).write(to: URL(fileURLWithPath: file))
      try expectFailure(box, ["import", file], naming: [file, "malformed"] + culprits)
    }
    // An unknown dtype is not malformed: it is named as unsupported.
    let dtype = box.path("bad-dtype.safetensors")
    try Data(
      rawSafetensors(
        header: #"{"t":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, data: [0])
    ).write(to: URL(fileURLWithPath: dtype))
    try expectFailure(box, ["import", dtype], naming: [dtype, "unsupported dtype 'F8'", "'t'"])
    let missing = box.path("missing.safetensors")
    try expectFailure(box, ["import", missing], naming: [missing])
    // A folder is not a file.
    try expectFailure(box, ["import", box.dir.path], naming: [box.dir.path])
  }

  @Test func invalidTensorNamesAreNamed() throws {
    let (box, _) = try twoCommits()
    let names = ["model..weight", "a/./b", ".lead", "trail/", "ctl\u{1}x", "", "a/../b"]
    for (i, name) in names.enumerated() {
      let quoted = jsonQuote(name)
      let header = "{\(quoted):{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}"
      let file = box.path("name-\(i).safetensors")
      try Data(rawSafetensors(header: header, data: [7])).write(to: URL(fileURLWithPath: file))
      let shown = name.replacingOccurrences(of: "\u{1}", with: "\\u{1}")
      try expectFailure(box, ["import", file], naming: ["invalid tensor name '\(shown)'"])
    }
  }

  @Test func invalidRefNamesAndArgumentsAreRefused() throws {
    let (box, _) = try twoCommits()
    try expectFailure(box, ["branch", "bad..name"], naming: ["'bad..name'"])
    try expectFailure(box, ["tag", "has space", "main"], naming: ["'has space'"])
    try expectFailure(box, ["branch", "x.lock"], naming: ["'x.lock'"])
    let file = try box.write("ok.safetensors", [try floatTensor("w", [2], seed: 3)])
    try expectFailure(box, ["import", file, "--branch", "a:b"], naming: ["'a:b'"])
    // Argument errors are the parser's (exit 64), not the store's.
    let r = try box.ck("gc", "--keep-last", "0")
    #expect(r.status != 0 && r.stderr.contains("--keep-last"))
  }

  @Test func prunedCommitsCannotBeShownDiffedOrExported() throws {
    let (box, ids) = try twoCommits()
    try box.ok("gc", "--keep-last", "1")
    let short = String(ids[0].prefix(12))
    try expectFailure(box, ["show", "main~1"], naming: [short, "pruned"])
    try expectFailure(box, ["show", short, "--json"], naming: [short, "pruned"])
    try expectFailure(box, ["diff", "main~1", "main"], naming: [short, "pruned"])
    try expectFailure(
      box, ["export", "main~1", "-o", box.path("p.safetensors")], naming: [short, "pruned"])
    #expect(!FileManager.default.fileExists(atPath: box.path("p.safetensors")))
    // Its metadata is still there.
    let log = try decodeLog(try box.ok("log", "--json").stdout)
    #expect(log.map(\.step) == [2, 1] && log[1].pruned)
  }

  @Test func initRefusesAnExistingStore() throws {
    let (box, _) = try twoCommits()
    let before = box.listing()
    let r = try CLI.run(["init", box.store])
    #expect(r.status == 2 && r.stderr.contains(box.store))
    #expect(box.listing() == before)
  }
}
