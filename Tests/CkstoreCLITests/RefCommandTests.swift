import CKStore
import CKTestSupport
import Foundation
import Testing

/// `tag -d/-f`, `branch -d/-D/-m`, `switch`, `reflog`, and the refs they leave behind.
@Suite struct RefCommandTests {
  /// main: c1 → c2 → c3 (steps 100, 200, 300).
  private func history(_ box: Sandbox) throws -> [String] {
    try [100, 200, 300].map { step in
      try box.commit([try floatTensor("w", [64], seed: UInt64(step))], step: Int64(step))
    }
  }

  private func showID(_ box: Sandbox, _ revision: String) throws -> String {
    try decodeJSON(ShowJSON.self, try box.ok("show", revision, "--json").stdout).commit.id
  }

  @Test func tagForceMovesAndDeleteRemovesSoGcFreesItsData() throws {
    let box = try Sandbox()
    let c = try history(box)
    try box.ok("tag", "best", "step-100")
    let again = try box.ck("tag", "best", "step-200")
    #expect(
      again.status == 2 && again.stderr.contains("already exists") && again.stderr.contains("-f"))
    #expect(try showID(box, "best") == c[0])

    let moved = try JSONValue.parse(try box.ok("tag", "-f", "best", "step-200", "--json").stdout)
    let update = try #require(moved["refUpdates"]?.array?.first)
    #expect(update["action"] == .string("updated") && update["kind"] == .string("tag"))
    #expect(update["old"] == .string(c[0]) && update["new"] == .string(c[1]))
    #expect(try showID(box, "best") == c[1])

    // While tagged, c2 keeps its data through retention; once the tag is gone, gc frees it.
    try box.ok("gc", "--keep-last", "1")
    #expect(try box.ck("show", c[1]).status == 0)
    #expect(try box.ok("tag", "-d", "best").stdout == "deleted tag best (was \(c[1].prefix(12)))\n")
    #expect(try box.ok("tag").stdout.isEmpty)
    try box.ok("gc", "--keep-last", "1")
    let pruned = try box.ck("show", c[1])
    #expect(pruned.status == 2 && pruned.stderr.contains("pruned"))

    let missing = try box.ck("tag", "-d", "best")
    #expect(missing.status == 2 && missing.stderr.contains("no tag 'best'"))
  }

  @Test func branchDeleteRefusesToDropTheOnlyRefToCommitsUnlessForced() throws {
    let box = try Sandbox()
    let c = try history(box)
    try box.ok("branch", "exp", "step-200")
    let e1 = try box.commit([try floatTensor("w", [64], seed: 7)], step: 201, branch: "exp")

    let refused = try box.ck("branch", "-d", "exp")
    #expect(refused.status == 2)
    #expect(
      refused.stderr.contains("1 commits") && refused.stderr.contains("-D"), "\(refused.stderr)")
    #expect(box.head("exp") == e1)
    let current = try box.ck("branch", "-d", "main")
    #expect(current.status == 2 && current.stderr.contains("current branch"))

    // A branch whose commits main reaches goes quietly.
    try box.ok("branch", "side", "step-100")
    try box.ok("branch", "-d", "side")
    #expect(box.head("side") == nil)

    let before = box.objectIDs()
    let forced = try JSONValue.parse(try box.ok("branch", "-D", "exp", "--json").stdout)
    #expect(forced["refUpdates"]?.array?.first?["action"] == .string("deleted"))
    #expect(box.head("exp") == nil)
    #expect(!FileManager.default.fileExists(atPath: box.store + "/logs/refs/heads/exp"))
    // The reflog does not keep e1 alive: gc deletes its commit and data.
    let gc = try decodeJSON(GCJSON.self, try box.ok("gc", "--json").stdout)
    #expect(gc.objectsDeleted > 0)
    #expect(!box.objectIDs().contains(e1) && before.contains(e1))
    #expect(try showID(box, "HEAD") == c[2])
  }

  @Test func branchRenameMovesTheRefAndItsReflogAndHeadFollows() throws {
    let box = try Sandbox()
    let c = try history(box)
    let r = try box.ok("branch", "-m", "main", "trunk")
    #expect(r.stdout.hasPrefix("renamed branch main to trunk"))
    #expect(box.head("main") == nil && box.head("trunk") == c[2])
    let status = try JSONValue.parse(try box.ok("status", "--json").stdout)
    #expect(status["branch"] == .string("trunk"))
    // The old reflog came along: trunk@{1} is main's previous position.
    #expect(try showID(box, "trunk@{1}") == c[2])
    #expect(try showID(box, "trunk@{2}") == c[1])
    #expect(try box.ok("reflog").stdout.contains("trunk@{0}: "))
    #expect(try box.ok("reflog").stdout.contains("branch: renamed from main"))
    let gone = try box.ck("show", "main")
    #expect(gone.status == 2 && gone.stderr.contains("unknown revision 'main'"))
    let taken = try box.ck("branch", "-m", "trunk", "trunk")
    #expect(taken.status == 2 && taken.stderr.contains("already exists"))
  }

  @Test func switchMovesHeadAndSwitchCreateStartsABranch() throws {
    let box = try Sandbox()
    let c = try history(box)
    try box.ok("branch", "exp", "step-100")
    #expect(try box.ok("switch", "exp").stdout.hasPrefix("switched to branch exp at "))
    #expect(try showID(box, "HEAD") == c[0])
    let typo = try box.ck("switch", "mian")
    #expect(typo.status == 2 && typo.stderr.contains("did you mean 'main'"), "\(typo.stderr)")

    let created = try JSONValue.parse(
      try box.ok("switch", "-c", "new", "main:step-200", "--json").stdout)
    #expect(created["created"] == .bool(true) && created["previous"] == .string("exp"))
    #expect(created["commit"] == .string(c[1]))
    let next = try box.commit([try floatTensor("w", [64], seed: 9)], step: 250)
    #expect(box.head("new") == next && box.head("main") == c[2])
  }

  @Test func branchSwitchOnAnExistingBranchWithAStartPointFails() throws {
    let box = try Sandbox()
    let c = try history(box)
    try box.ok("branch", "exp", "step-100")
    let r = try box.ck("branch", "exp", "main", "--switch")
    #expect(r.status == 2 && r.stderr.contains("already exists"), "\(r.stderr)")
    #expect(try box.ok("status", "--json").stdout.contains("\"branch\" : \"main\""))
    #expect(box.head("exp") == c[0])
    // Without a start point it switches, as before.
    try box.ok("branch", "exp", "--switch")
    #expect(try showID(box, "HEAD") == c[0])
  }

  @Test func reflogListsMovesNewestFirstAndNamesThemForRevisions() throws {
    let box = try Sandbox()
    let c = try history(box)
    let lines = try box.ok("reflog").stdout.split(separator: "\n")
    #expect(lines.count == 3)
    #expect(lines[0].hasPrefix("\(c[2].prefix(12)) main@{0}: "))
    #expect(lines[2].hasPrefix("\(c[0].prefix(12)) main@{2}: "))
    let json = try JSONValue.parse(try box.ok("reflog", "main", "--json").stdout)
    #expect(json["ref"] == .string("refs/heads/main"))
    #expect(json["entries"]?.array?.map { $0["new"] } == c.reversed().map { .string($0) })
    #expect(json["entries"]?.array?.last?["old"] == .null)
    #expect(try showID(box, "main@{2}") == c[0])
    #expect(try showID(box, "@{1}") == c[1])
    let far = try box.ck("show", "main@{3}")
    #expect(far.status == 2 && far.stderr.contains("3 entries"))
  }
}
