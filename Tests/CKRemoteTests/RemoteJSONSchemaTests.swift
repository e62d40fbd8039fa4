import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

/// The remote commands' `--json` output (the built binary, against SeaweedFS), validated
/// against docs/json-schema/ like every other command's (docs/JSON.md).
final class RemoteJSONSchemaTests: XCTestCase {
  private var validator: JSONSchemaValidator!
  private var environment: [String: String] = [:]

  /// Runs `ckstore ARGS --json`, requires `status`, and validates stdout against `schema`.
  @discardableResult
  private func conforms(
    _ args: [String], _ schema: String, status: Int32 = 0, file: StaticString = #filePath,
    line: UInt = #line
  ) throws -> JSONValue {
    let r = try RemoteTest.ckstore(args + ["--json"], environment: environment)
    XCTAssertEqual(r.status, status, "ckstore \(args): \(r.err)", file: file, line: line)
    let value = try JSONValue.parse(r.out)
    let errors = validator.validate(value, against: schema)
    XCTAssertEqual(errors, [], "\(schema): \(r.out)", file: file, line: line)
    return value
  }

  func testEveryRemoteCommandsOutputMatchesItsSchema() throws {
    validator = try JSONSchemaValidator()
    let server = try SeaweedFS.shared()
    environment = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let a = ["--store", dir + "/a"]
    let b = ["--store", dir + "/b"]
    let store = try Store.create(at: dir + "/a")
    var heads: [Commit] = []
    for step in 1...3 {
      heads.append(
        try store.commit(
          RemoteTest.tensors(big: UInt64(step), small: 9), to: "main", step: Int64(step)))
    }
    let (remote, url) = try RemoteTest.remote(on: server)

    let added = try conforms(["remote", "add", "origin", url, "--path-style"] + a, "remote.json")
    XCTAssertEqual(added["action"], .string("added"))
    XCTAssertEqual(
      added["remote"],
      .object([
        "name": .string("origin"), "url": .string(url), "endpoint": .null,
        "pathStyle": .bool(true),
      ]))
    for list in [["remote"], ["remote", "list"]] {
      let listed = try conforms(list + a, "remote.json")
      XCTAssertEqual(listed["remotes"], .array([added["remote"]!]))
    }

    // push: the remote's refs as refUpdates, created then unchanged; a tag is kind "tag".
    let pushed = try conforms(["push"] + a, "push.json")
    let created = try XCTUnwrap(pushed["refUpdates"]?.array?.first)
    XCTAssertEqual(created["kind"], .string("branch"))
    XCTAssertEqual(created["name"], .string("main"))
    XCTAssertEqual(created["action"], .string("created"))
    XCTAssertEqual(created["old"], .null)
    XCTAssertEqual(created["new"], .string(heads[2].id.hex))
    let sent: Double = try XCTUnwrap(pushed["sentBytes"]?.number)
    XCTAssertGreaterThan(sent, Double(4 << 20))
    let again = try conforms(["push", "origin", "main"] + a, "push.json")
    XCTAssertEqual(again["refUpdates"]?.array?.first?["action"], .string("unchanged"))
    XCTAssertEqual(again["objectsSent"], .number(0))
    try store.createTag("v1", at: heads[0].id)
    let tag = try conforms(["push", "origin", "v1"] + a, "push.json")
    XCTAssertEqual(tag["refUpdates"]?.array?.first?["kind"], .string("tag"))
    XCTAssertEqual(tag["refUpdates"]?.array?.first?["name"], .string("v1"))

    // clone and fetch: tracking refs set, no local ref moves reported.
    let cloned = try conforms(
      ["clone", url, dir + "/b", "--latest", "--path-style"], "clone.json")
    XCTAssertEqual(cloned["refUpdates"], .array([]))
    XCTAssertEqual(
      cloned["refs"]?.array?.first,
      .object(["name": .string("origin/main"), "id": .string(heads[2].id.hex)]))
    XCTAssertEqual(cloned["commitsReceived"], .number(3))
    let fetched = try conforms(["fetch"] + b, "fetch.json")
    XCTAssertEqual(fetched["commitsReceived"], .number(0))

    // pull: the current branch's move is a refUpdate (updated, then unchanged).
    let newer = try store.commit(RemoteTest.tensors(big: 4, small: 9), to: "main", step: 4)
    try conforms(["push"] + a, "push.json")
    let pulled = try conforms(["pull"] + b, "pull.json")
    XCTAssertEqual(
      pulled["refUpdates"],
      .array([
        .object([
          "kind": .string("branch"), "name": .string("main"), "action": .string("updated"),
          "old": .string(heads[2].id.hex), "new": .string(newer.id.hex), "oldName": .null,
        ])
      ]))
    let still = try conforms(["pull"] + b, "pull.json")
    XCTAssertEqual(still["refUpdates"]?.array?.first?["action"], .string("unchanged"))

    // gc --remote: a dry run, then the run (grace 0 so the pruned data goes now).
    let dry = try conforms(
      ["gc", "--remote", "origin", "--keep-last", "1", "--dry-run"] + a, "gc-remote.json")
    XCTAssertEqual(dry["dryRun"], .bool(true))
    let collected = try conforms(
      ["gc", "--remote", "origin", "--keep-last", "1", "--grace", "0"] + a, "gc-remote.json")
    XCTAssertEqual(collected["dryRun"], .bool(false))
    XCTAssertEqual(collected["prunedCommits"], dry["prunedCommits"])
    XCTAssertFalse(collected["prunedCommits"]?.array?.isEmpty ?? true)
    let freed: Double = try XCTUnwrap(collected["bytesFreed"]?.number)
    XCTAssertGreaterThan(freed, 0)

    // fsck --remote: clean, then with a chunk of the newest commit deleted (exit 1, the chunk
    // named).
    let clean = try conforms(["fsck", "--remote", "origin"] + b, "fsck-remote.json")
    XCTAssertEqual(clean["problems"], .array([]))
    let big = try XCTUnwrap(try store.tensors(in: newer).first { $0.name == "big" })
    let chunk = big.chunks[0].hex
    try remote.bucket.delete(remote.prefix + "objects/\(chunk.prefix(2))/\(chunk.dropFirst(2))")
    let broken = try conforms(["fsck", "--remote", "origin"] + b, "fsck-remote.json", status: 1)
    XCTAssertTrue(
      broken["problems"]?.array?.contains { $0["object"] == .string(chunk) } ?? false,
      "\(broken)")

    // A failure is the error document (exit 2); remove prints what it forgot.
    try conforms(["push", "nowhere"] + a, "error.json", status: 2)
    let removed = try conforms(["remote", "remove", "origin"] + a, "remote.json")
    XCTAssertEqual(removed["action"], .string("removed"))
    XCTAssertEqual(removed["remote"], added["remote"])
    XCTAssertEqual(try conforms(["remote"] + a, "remote.json")["remotes"], .array([]))
  }
}
