import CKStore
import Foundation
import Testing

/// Every command run with its Nth write, fsync or rename failing (`CKSTORE_FAULT=any:N`, the
/// seam in FileIO), for every N until the command no longer reaches the fault: the exit code must
/// agree with the store. Exit 0 ⇔ the change is visible; non-zero ⇔ nothing visible changed
/// (refs, HEAD, reflogs, pruned markers; unreferenced objects are invisible garbage for gc);
/// and fsck is clean after every run.
@Suite(.serialized) struct FaultInjectionTests {
  /// What a user sees of a store: everything but objects, scratch files and locks.
  static func visible(_ box: Sandbox) -> [String: String] {
    box.listing().filter { !$0.key.hasPrefix("objects/") }
  }

  /// Runs `command` against a fresh copy of `base`'s store with the Nth operation failing, for
  /// N = 1, 2, … until a run passes every fault point; `landed` says whether its change is
  /// visible. Returns how many runs failed and how many warned.
  @discardableResult
  func injectEverywhere(
    _ base: Sandbox, _ command: [String], every spacing: Int = 1,
    landed: (Sandbox, CLI.Result) throws -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> (failed: Int, warned: Int, points: Int) {
    var failed = 0
    var warned = 0
    for n in stride(from: 1, through: 400, by: spacing) {
      let box = try base.copy()
      let before = Self.visible(box)
      let r = try CLI.run(
        command + ["--store", box.store], environment: ["CKSTORE_FAULT": "any:\(n)"])
      let changed = try landed(box, r)
      let context =
        "\(command.joined(separator: " ")) with fault any:\(n): exit \(r.status), \(r.stderr)"
      if r.status == 0 {
        #expect(
          changed, "exit 0 but the change is not visible: \(context)",
          sourceLocation: sourceLocation)
      } else {
        failed += 1
        #expect(
          !changed, "failed but the change is visible: \(context)", sourceLocation: sourceLocation)
        #expect(
          Self.visible(box) == before, "failed and changed the store: \(context)",
          sourceLocation: sourceLocation)
        #expect(
          r.stderr.contains("ckstore: error: "), "\(context)", sourceLocation: sourceLocation)
      }
      if r.stderr.contains("ckstore: warning: ") {
        warned += 1
        #expect(r.status == 0, "\(context)", sourceLocation: sourceLocation)
      }
      let fsck = try box.ck("fsck")
      #expect(
        fsck.status == 0, "fsck after \(context): \(fsck.stdout)", sourceLocation: sourceLocation)
      // The run never reached its nth operation: every fault point has been tried.
      if !r.stderr.contains("ckstore: injected fault: ") {
        #expect(r.status == 0, "\(context)", sourceLocation: sourceLocation)
        return (failed, warned, n - 1)
      }
    }
    Issue.record(
      "the command still hit a fault after 400 operations", sourceLocation: sourceLocation)
    return (failed, warned, 400)
  }

  /// A store with two commits on main (steps 1 and 2).
  func baseStore() throws -> Sandbox {
    let box = try Sandbox(chunkSize: 4096)
    try box.commit(
      [try floatTensor("w", [64, 64], seed: 1), try floatTensor("b", [64], seed: 2)], step: 1)
    try box.commit(
      [try floatTensor("w", [64, 64], seed: 3), try floatTensor("b", [64], seed: 2)], step: 2)
    return box
  }

  @Test func importAndCommit() throws {
    let base = try baseStore()
    let file = try base.write("next.safetensors", [try floatTensor("w", [64, 64], seed: 9)])
    let head = base.head()
    let r = try injectEverywhere(base, ["import", file, "--step", "3"]) { box, _ in
      box.head() != head
    }
    #expect(r.failed > 0 && r.points > 5, "\(r)")
  }

  @Test func trainCommitsThroughTheCheckpointManager() throws {
    let base = try Sandbox()
    try base.ok("train", "--steps", "10", "--save-every", "10")
    let head = base.head()
    // A train run costs seconds (data, model, evaluation): every other fault point here, every
    // one with CKSTORE_LONG=1.
    let every = ProcessInfo.processInfo.environment["CKSTORE_LONG"] == "1" ? 1 : 2
    try injectEverywhere(base, ["train", "--steps", "20", "--save-every", "10"], every: every) {
      box, _ in
      box.head() != head
    }
  }

  @Test func tag() throws {
    let base = try baseStore()
    let r = try injectEverywhere(base, ["tag", "v1", "HEAD~1"]) { box, _ in
      FileManager.default.fileExists(atPath: box.store + "/refs/tags/v1")
    }
    #expect(r.warned > 0, "a failed reflog append or folder fsync is a warning: \(r)")
  }

  @Test func branchAndSwitch() throws {
    let base = try baseStore()
    try injectEverywhere(base, ["branch", "exp/a", "HEAD~1", "--switch"]) { box, r in
      let exists = box.head("exp/a") != nil
      let switched =
        (try? String(contentsOfFile: box.store + "/HEAD", encoding: .utf8))
        == "ref: refs/heads/exp/a\n"
      // Creating and switching are two changes: a failed switch after the branch landed must say
      // so (exit non-zero would then be a lie), so success requires both.
      return r.status == 0 ? exists && switched : exists || switched
    }
  }

  @Test func gcWithRetention() throws {
    let base = try baseStore()
    try base.commit([try floatTensor("w", [64, 64], seed: 5)], step: 3)
    try injectEverywhere(base, ["gc", "--keep-last", "1"]) { box, _ in
      !((try? FileManager.default.contentsOfDirectory(atPath: box.store + "/pruned")) ?? []).isEmpty
    }
  }

  @Test func export() throws {
    let base = try baseStore()
    let expected = try base.export("HEAD")
    let out = base.path("exported.safetensors")
    try injectEverywhere(base, ["export", "HEAD", "-o", out]) { _, r in
      defer { try? FileManager.default.removeItem(atPath: out) }
      guard let file = try? Safetensors.read(path: out) else { return false }
      #expect(file.tensors == expected.tensors)
      return true
    }
  }
}
