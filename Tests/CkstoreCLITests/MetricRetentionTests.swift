import CKStore
import Foundation
import Testing

/// `gc --keep-best` and `gc --keep-within` on stores whose commits have known metrics and times
/// (issue 12, point 2).
@Suite struct MetricRetentionTests {
  /// Commits steps 1…n on main, each with `loss` and `accuracy` from the lists (an own tensor
  /// each, so every commit has data to lose); returns their ids by step.
  private func commits(_ box: Sandbox, losses: [Double?], accuracies: [Double]) throws -> [String] {
    var ids: [String] = []
    for (i, loss) in losses.enumerated() {
      var metrics = ["accuracy": accuracies[i]]
      if let loss { metrics["loss"] = loss }
      let body = metrics.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }
      ids.append(
        try box.commit(
          [try floatTensor("w", [8, 8], seed: UInt64(i + 1))], step: Int64(i + 1),
          metadata: ["ckstore.metrics": "{" + body.joined(separator: ",") + "}"]))
    }
    return ids
  }

  /// The pruned commits of main, read with the library (the JSON of `log` is not under test).
  private func pruned(_ box: Sandbox) throws -> Set<String> {
    let store = try Store.open(at: box.store)
    let history = try store.history(from: try store.resolve("main").id)
    return Set(history.filter { store.isPruned($0.id) }.map(\.id.hex))
  }

  @Test func keepBestKeepsTheBestByEachRuleAndTheHead() throws {
    let box = try Sandbox()
    // Steps 1…8. Lowest loss: step 5 (0.1), then step 2 and step 7 tie at 0.2 — the higher step
    // (7) wins the tie. Step 4 has no loss. Highest accuracy: step 3.
    let ids = try commits(
      box, losses: [0.9, 0.2, 0.5, nil, 0.1, 0.6, 0.2, 0.8],
      accuracies: [0.1, 0.2, 0.99, 0.3, 0.4, 0.5, 0.6, 0.7])
    let dry = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-best", "loss=2", "--dry-run", "--json").stdout)
    // Kept: head (8), 5, 7; everything else is pruned.
    #expect(Set(dry.prunedCommits) == Set([0, 1, 2, 3, 5].map { ids[$0] }))

    let r = try decodeJSON(
      GCJSON.self,
      try box.ok("gc", "--keep-best", "loss:min=2", "--keep-best", "accuracy:max=1", "--json")
        .stdout)
    #expect(Set(r.prunedCommits) == Set([0, 1, 3, 5].map { ids[$0] }))
    #expect(try pruned(box) == Set([0, 1, 3, 5].map { ids[$0] }))
    #expect(r.objectsDeleted > 0)
    // The kept commits still export; the pruned ones have no data but stay in the log.
    for kept in [2, 4, 6, 7] { _ = try box.export(ids[kept]) }
    #expect(try box.ck("export", ids[1], "-o", box.path("x.safetensors")).status != 0)

    // Ranked among commits with data: keeping the best 2 again keeps 5 and 7 (not the pruned 2).
    let again = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-best", "loss=2", "--json").stdout)
    #expect(Set(again.prunedCommits) == [ids[2]])
  }

  @Test func keepBestUnionsWithKeepLast() throws {
    let box = try Sandbox()
    let ids = try commits(
      box, losses: [0.1, 0.5, 0.4, 0.3, 0.2], accuracies: [0, 0, 0, 0, 0])
    let r = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-last", "2", "--keep-best", "loss=1", "--json").stdout)
    #expect(Set(r.prunedCommits) == Set([ids[1], ids[2]]))
  }

  @Test func keepWithinIsRelativeToTheNewestCommit() throws {
    let box = try Sandbox()
    let old = try commits(box, losses: [1, 1], accuracies: [0, 0])
    Thread.sleep(forTimeInterval: 3.2)
    let new = try box.commit([try floatTensor("w", [8, 8], seed: 99)], step: 3)
    Thread.sleep(forTimeInterval: 1.2)
    let newest = try box.commit([try floatTensor("w", [8, 8], seed: 100)], step: 4)
    _ = newest
    // 3 s before the newest commit reaches back to step 3, not to steps 1 and 2.
    let r = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-within", "3s", "--dry-run", "--json").stdout)
    #expect(Set(r.prunedCommits) == Set(old))
    // A week keeps everything, however long ago that is from now.
    let week = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-within", "1w", "--json").stdout)
    #expect(week.prunedCommits.isEmpty)
    let applied = try decodeJSON(
      GCJSON.self, try box.ok("gc", "--keep-within", "2s", "--json").stdout)
    #expect(Set(applied.prunedCommits) == Set(old))
    #expect(try pruned(box) == Set(old))
    #expect(!(try pruned(box)).contains(new))
  }

  @Test func badRulesAreRefusedBeforeAnythingChanges() throws {
    let box = try Sandbox()
    _ = try commits(box, losses: [1, 2], accuracies: [0, 0])
    let listing = box.listing()
    for args in [
      ["--keep-best", "loss"], ["--keep-best", "loss=0"], ["--keep-best", ":max=2"],
      ["--keep-within", "7x"], ["--keep-within", "d"], ["--keep-within", ""],
    ] {
      let r = try box.ck(["gc"] + args)
      #expect(r.status != 0, "gc \(args) was accepted")
      #expect(
        r.stderr.contains("'\(args[1])'"), "error for \(args) does not name the value: \(r.stderr)")
    }
    #expect(box.listing() == listing)
  }
}
