import CKStore
import CKTestSupport
import Foundation
import Testing

/// Every command's `--json` output, validated against docs/json-schema/ (docs/JSON.md).
@Suite struct JSONSchemaTests {
  let validator: JSONSchemaValidator

  init() throws { validator = try JSONSchemaValidator() }

  /// Parses `text` and requires it to conform to `schema`; returns the document.
  @discardableResult
  private func conforms(
    _ text: String, _ schema: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> JSONValue {
    let value = try JSONValue.parse(text)
    let errors = validator.validate(value, against: schema)
    #expect(errors.isEmpty, "\(schema): \(errors)\n\(text)", sourceLocation: sourceLocation)
    return value
  }

  @Test func everyCommandsOutputMatchesItsSchema() throws {
    let box = try Sandbox(initStore: false)
    try conforms(try CLI.run(["init", box.store, "--json"]).stdout, "init.json")
    let file = try box.write("a.safetensors", [try floatTensor("m.w", [8], seed: 1)])
    try conforms(try box.ok("import", file, "--step", "1", "--json").stdout, "import.json")
    let store = try Store.open(at: box.store)
    try store.commit(
      [try floatTensor("m.w", [8], seed: 2), try floatTensor("m.b", [2], seed: 3)], to: "main",
      step: 2, metrics: ["loss": .nan, "acc": 0.5, "gain/x": .infinity])

    let log = try conforms(try box.ok("log", "--json").stdout, "log.json")
    // NaN and inf metrics: null in place, named in nonFinite (rule 8), escaped per RFC 6901.
    let newest = try #require(log["commits"]?.array?.first)
    #expect(newest["metrics"]?["loss"] == .null && newest["metrics"]?["acc"] == .number(0.5))
    #expect(
      newest["nonFinite"]
        == .object(["metrics/loss": .string("nan"), "metrics/gain~1x": .string("inf")]))
    try conforms(try box.ok("log", "--all", "--json").stdout, "log.json")
    try conforms(try box.ok("show", "HEAD", "--json").stdout, "show.json")
    try conforms(try box.ok("show", "HEAD", "m.w", "--json").stdout, "show.json")
    try conforms(try box.ck("diff", "HEAD~1", "--json").stdout, "diff.json")
    try conforms(try box.ck("diff", "HEAD~1", "--stat", "--json").stdout, "diff.json")
    try conforms(try box.ok("stats", "--json").stdout, "stats.json")
    try conforms(try box.ok("fsck", "--json").stdout, "fsck.json")
    try conforms(try box.ok("status", "--json").stdout, "status.json")
    try conforms(try box.ok("reflog", "--json").stdout, "reflog.json")

    try conforms(try box.ok("tag", "v1", "HEAD~1", "--json").stdout, "tag.json")
    try conforms(try box.ok("tag", "-f", "v1", "HEAD", "--json").stdout, "tag.json")
    let tags = try conforms(try box.ok("tag", "--json").stdout, "tag.json")
    #expect(tags["tags"]?.array?.count == 1)
    try conforms(try box.ok("tag", "-d", "v1", "--json").stdout, "tag.json")

    try conforms(try box.ok("branch", "exp", "HEAD~1", "--json").stdout, "branch.json")
    try conforms(try box.ok("branch", "-m", "exp", "exp2", "--json").stdout, "branch.json")
    let branches = try conforms(try box.ok("branch", "--json").stdout, "branch.json")
    #expect(branches["branches"]?.array?.count == 2 && branches["current"] == .string("main"))
    try conforms(try box.ok("switch", "exp2", "--json").stdout, "switch.json")
    try conforms(try box.ok("switch", "-c", "exp3", "--json").stdout, "switch.json")
    try conforms(try box.ok("switch", "main", "--json").stdout, "switch.json")
    try conforms(try box.ok("branch", "-d", "exp3", "--json").stdout, "branch.json")

    let out = box.path("out.safetensors")
    try conforms(try box.ok("export", "HEAD", "-o", out, "--json").stdout, "export.json")
    let streamed = try box.ok("export", "HEAD", "-o", "-", "--json")
    let exported = try conforms(streamed.stderr, "export.json")
    #expect(exported["output"] == .string("-") && exported["files"] == .array([]))
    try conforms(try box.ok("gc", "--dry-run", "--json").stdout, "gc.json")
    try conforms(try box.ok("gc", "--keep-last", "1", "--json").stdout, "gc.json")
  }

  /// `import --part`: the parts that wait and the one that completes the commit print one shape.
  @Test func shardedImportMatchesItsSchema() throws {
    let box = try Sandbox()
    let ck = try ShardedImportTests.Checkpoint(seed: 3, rows: 64)
    var docs: [JSONValue] = []
    for i in [2, 0, 3, 1] {
      let file = try ck.writePart(i, in: box, tag: "j")
      let out = try box.ok("import", file, "--part", "\(i)/4", "--step", "5", "--json").stdout
      docs.append(try conforms(out, "import-part.json"))
    }
    #expect(docs.map { $0["pending"] } == [true, true, true, false].map(JSONValue.bool))
    #expect(docs.map { $0["recordedParts"] } == [1, 2, 3, 4].map(JSONValue.number))
    #expect(docs.map { $0["part"] } == [2, 0, 3, 1].map(JSONValue.number))
    #expect(docs[0]["commit"] == .null && docs[2]["commit"] == .null)
    let commit = try #require(docs[3]["commit"])
    #expect(commit["id"] == .string(try #require(box.head())) && commit["step"] == .number(5))
    #expect(commit["refs"] == .array([.string("main")]))
  }

  /// `train --json`: the human lines on stderr, exactly one document on stdout; a resumed run
  /// names the checkpoint it went on from. `metrics` and `report` read what it logged.
  @Test func trainPrintsOneDocumentWhenItStops() throws {
    let box = try Sandbox(initStore: false)
    let first = try CLI.run([
      "train", "--steps", "4", "--save-every", "2", "--store", box.store, "--json",
    ])
    #expect(first.status == 0, "\(first.stderr)")
    let run = try conforms(first.stdout, "train.json")
    #expect(run["stepsRun"] == .number(4) && run["stoppedBy"] == .null)
    #expect(run["resumedFrom"] == .null && run["branch"] == .string("main"))
    #expect(run["head"]?["step"] == .number(4))
    #expect(run["head"]?["id"] == .string(try #require(box.head())))
    #expect(first.stderr.contains("saved step-2 ") && first.stderr.contains("saved step-4 "))
    #expect(first.stderr.contains("done: main is at step 4"))

    let second = try box.ok("train", "--steps", "6", "--save-every", "2", "--json")
    let resumed = try conforms(second.stdout, "train.json")
    #expect(resumed["stepsRun"] == .number(2) && resumed["head"]?["step"] == .number(6))
    #expect(resumed["resumedFrom"]?["id"] == run["head"]?["id"])
    #expect(second.stderr.contains("resuming main from step 4"))

    let metrics = try conforms(try box.ok("metrics", "--json").stdout, "metrics.json")
    #expect(metrics["commits"]?.array?.isEmpty == false)
    try conforms(try box.ok("report", "--json").stdout, "report.json")
  }

  /// A signal stops `train --json` with a final checkpoint and the document naming the signal.
  @Test func trainStoppedBySignalStillPrintsItsDocument() throws {
    let box = try Sandbox(initStore: false)
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = [
      "train", "--steps", "1000000", "--save-every", "1", "--keep-last", "1", "--store",
      box.store, "--json",
    ]
    process.environment = CkstoreBinary.environment()
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // "saved step-1" is written after the signal handlers are installed.
    let drainErr = CLI.Drain(err.fileHandleForReading.fileDescriptor)
    let deadline = Date().addingTimeInterval(120)
    while box.head() == nil && Date() < deadline { usleep(50_000) }
    kill(process.processIdentifier, SIGTERM)
    let stdout = String(decoding: CLI.drain(out.fileHandleForReading.fileDescriptor), as: UTF8.self)
    process.waitUntilExit()
    let stderr = String(decoding: drainErr.wait(), as: UTF8.self)
    #expect(process.terminationStatus == 0, "\(stderr)")
    let doc = try conforms(stdout, "train.json")
    #expect(doc["stoppedBy"] == .string("SIGTERM"))
    let steps: Double = try #require(doc["stepsRun"]?.number)
    #expect(steps >= 1 && steps < 1_000_000 && doc["head"]?["step"] == .number(steps))
    #expect(stderr.contains("SIGTERM: saved step"))
  }

  @Test func failuresPrintTheErrorDocumentAndExitTwo() throws {
    let box = try Sandbox()
    try box.commit([try floatTensor("w", [4], seed: 1)], step: 1)
    for args in [
      ["show", "nope"], ["tag", "-d", "nope"], ["branch", "-d", "main"], ["log", "x..y"],
    ] {
      let r = try box.ck(args + ["--json"])
      #expect(r.status == 2, "\(args)")
      let doc = try conforms(r.stdout, "error.json")
      #expect(doc["error"]?["code"]?.string?.isEmpty == false)
      #expect(r.stderr.hasPrefix("ckstore: error: "))
    }
    let unknown = try JSONValue.parse(try box.ck("show", "nope", "--json").stdout)
    #expect(unknown["error"]?["code"] == .string("unknownRevision"))
  }

  /// The validator itself: documents that break each rule the schemas rely on are rejected.
  @Test func theValidatorRejectsWhatTheSchemasForbid() throws {
    let commit = """
      {"id": "\(String(repeating: "a", count: 64))", "tree": "\(String(repeating: "b", count: 64))",
       "parents": [], "step": 1, "time": "2026-12-01T14:51:49.123Z", "message": "", "metrics": {},
       "metadata": {}, "logicalBytes": 0, "addedBytes": 0, "pruned": false, "refs": [],
       "nonFinite": {}}
      """
    #expect(
      validator.validate(try JSONValue.parse("{\"commits\": [\(commit)]}"), against: "log.json")
        .isEmpty)
    let broken = [
      commit.replacingOccurrences(of: "\"step\": 1", with: "\"step\": 1.5"),
      commit.replacingOccurrences(of: "\"pruned\": false", with: "\"pruned\": 0"),
      commit.replacingOccurrences(of: "\"refs\": []", with: "\"refs\": {}"),
      commit.replacingOccurrences(of: "\"message\": \"\",", with: ""),
      commit.replacingOccurrences(of: "\"metrics\": {}", with: "\"metrics\": {\"loss\": \"nan\"}"),
      commit.replacingOccurrences(of: "\"nonFinite\": {}", with: "\"nonFinite\": {\"x\": \"NaN\"}"),
      commit.replacingOccurrences(of: "2026-12-01T14:51:49.123Z", with: "yesterday"),
      commit.replacingOccurrences(of: "\"refs\": []", with: "\"refs\": [], \"extra\": 1"),
    ]
    for text in broken {
      let errors = validator.validate(
        try JSONValue.parse("{\"commits\": [\(text)]}"), against: "log.json")
      #expect(!errors.isEmpty, "accepted: \(text)")
    }
    #expect(!validator.validate(try JSONValue.parse("[]"), against: "log.json").isEmpty)
    // Every schema file parses and uses only the supported keywords; one per command.
    #expect(validator.unsupportedKeywords().isEmpty, "\(validator.unsupportedKeywords())")
    for command in [
      "init", "import", "export", "log", "show", "diff", "gc", "fsck", "tag", "branch", "stats",
      "switch", "reflog", "status", "train", "error", "common", "metrics", "report", "remote",
      "push", "fetch", "pull", "clone", "fsck-remote", "gc-remote", "import-part",
    ] {
      #expect(validator.names.contains(command + ".json"), "no schema for \(command)")
    }
  }
}
