import CKStore
import Foundation
import Testing

/// `ckstore train --freeze-base` on a branch made from a full checkpoint (issue 12, point 8), and
/// the loss series `ckstore train` logs every step (point 3).
@Suite(.serialized) struct FineTuneTests {
  @Test func frozenBaseFineTuneFromAFullCheckpointSharesTheBase() throws {
    let dir = try TempDir()
    let s = dir.path("s")
    try CLI.ok(["init", s])
    try CLI.ok(["train", "--steps", "100", "--save-every", "50", "--seed", "2", "--store", s])
    try CLI.ok(["branch", "ft", "step-100", "--store", s])
    let r = try CLI.ok([
      "train", "--branch", "ft", "--freeze-base", "--steps", "160", "--save-every", "20",
      "--seed", "2", "--store", s,
    ])
    #expect(r.stdout.contains("resuming ft from step 100"), "\(r.stdout)")
    let store = try Store.open(at: s)
    let base = try store.resolve("main:step-100")
    let tuned = try store.history(from: try store.resolve("ft").id).prefix(3)
    #expect(tuned.map(\.step) == [160, 140, 120])
    #expect(tuned.allSatisfy { $0.metadata["freeze_base"] == "true" })
    let baseNames = ["model/layers.0.bias", "model/layers.0.weight"]
    func chunks(_ c: Commit, _ names: [String]) throws -> [ObjectID] {
      try store.tensors(in: c).filter { names.contains($0.name) }.flatMap(\.chunks)
    }
    let headNames = ["model/layers.1.weight"]
    for c in tuned {
      #expect(try chunks(c, baseNames) == (try chunks(base, baseNames)), "the base stays put")
      #expect(try chunks(c, headNames) != (try chunks(base, headNames)), "the head trains")
    }
    let stats = try store.stats()
    #expect(stats.dedupRatio > 1.2, "\(stats)")

    // Every step's loss is in the commit that follows it: steps 141…160 in step-160.
    let series = try store.metricSeries(in: tuned.first!)
    let loss = try #require(series.first { $0.name == "loss" })
    #expect(loss.steps == Array(141...160))
    #expect(loss.values.allSatisfy { $0.isFinite && $0 > 0 })
    // The commit's loss metric is their mean.
    let mean = loss.values.reduce(0, +) / Double(loss.values.count)
    #expect(abs(tuned.first!.metrics["loss"]! - mean) < 1e-9)
  }
}
