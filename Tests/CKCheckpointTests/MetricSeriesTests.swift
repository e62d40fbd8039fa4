import CKCheckpoint
import CKEngine
import CKStore
import Foundation
import Testing

/// `CheckpointManager.log(step:metrics:)` and retention by metric and time (issue 12, points 2
/// and 3).
@Suite struct MetricSeriesTests {
  @Test func loggedMetricsTravelWithTheNextSaveAndAreNotModelState() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 5)
    let manager = try CheckpointManager(run.checkpoint, store: store, maxToKeep: nil)
    var saves: [SavedCheckpoint] = []
    for _ in 0..<2 {
      for _ in 0..<4 {
        try run.train(1)
        let step = run.checkpoint.step
        try manager.log(step: step, metrics: ["loss": 1 / Double(step), "lr": 1e-3])
      }
      saves.append(try #require(try manager.save()))
    }
    // A save with nothing logged since stores no series.
    try run.train(1)
    saves.append(try #require(try manager.save()))

    let first = try store.metricSeries(in: saves[0].commit)
    #expect(first.map(\.name) == ["loss", "lr"])
    #expect(first[0].steps == [1, 2, 3, 4])
    let expected: [Double] = [1, 1.0 / 2, 1.0 / 3, 1.0 / 4]
    #expect(first[0].values == expected)
    let second = try store.metricSeries(in: saves[1].commit)
    #expect(second[0].steps == [5, 6, 7, 8], "only what was logged since the previous save")
    #expect(second[1].values == [Double](repeating: 1e-3, count: 4))
    #expect(try store.metricSeries(in: saves[2].commit).isEmpty)
    // The series are tensors of the commit, stored and checked by fsck like any other.
    let lr = try saves.prefix(2).map {
      try store.tensorInfo(named: "ckstore/metrics/lr", in: $0.commit)
    }
    #expect(lr[0].dtype == .float64 && lr[0].shape == [4, 2])
    #expect(lr[0].chunks != lr[1].chunks, "the steps differ")
    #expect(try store.fsck().isClean)

    // Not model state: the manager's strict restore accepts the commit (the series are neither
    // expected nor loaded), and export leaves them out.
    manager.checkpoint.step = 0
    let restored = try manager.restore(saves[1].name)
    #expect(!restored.restored.contains { MetricSeries.isReserved($0) })
    #expect(restored.restored.count == (try run.checkpoint.tensors().count))
    let exported = try store.exportSelection(saves[1].commit)
    #expect(!exported.contains { MetricSeries.isReserved($0.name) })
    #expect(exported.count == (try run.checkpoint.tensors().count))
  }

  @Test func badMetricNamesAreRefusedAndNothingIsLogged() throws {
    let dir = try TempDir()
    let run = try DigitsRun(seed: 1)
    let manager = try CheckpointManager(run.checkpoint, store: try dir.store(), maxToKeep: nil)
    for bad in ["", "loss.", ".loss", "a//b"] {
      let error = try #require(throws: StoreError.self) {
        try manager.log(step: 1, metrics: ["ok": 1, bad: 2])
      }
      #expect(error.code == .invalidName)
    }
    try run.train(1)
    let saved = try #require(try manager.save())
    #expect(try manager.store.metricSeries(in: saved.commit).isEmpty)
  }

  @Test func keepBestAndKeepWithinInTheManager() throws {
    let dir = try TempDir()
    let store = try dir.store()
    let run = try DigitsRun(seed: 3)
    // Keep the newest 2 and the best 2 by loss; a day's window keeps everything on top, so
    // check it separately below.
    let manager = try CheckpointManager(
      run.checkpoint, store: store, maxToKeep: 2, keepBest: [KeepBest(metric: "loss", count: 2)])
    let losses = [0.5, 0.1, 0.9, 0.2, 0.8, 0.7, 0.6]
    var saved: [SavedCheckpoint] = []
    for loss in losses {
      try run.train(1)
      saved.append(try #require(try manager.save(metrics: ["loss": loss])))
    }
    // Best by loss: steps 2 (0.1) and 4 (0.2); newest: 6 and 7.
    #expect(try manager.checkpoints().map(\.step) == [7, 6, 4, 2])

    let error = try #require(throws: CheckpointError.self) {
      _ = try CheckpointManager(
        run.checkpoint, store: store, branch: "x", keepBest: [KeepBest(metric: "loss", count: 0)])
    }
    #expect(error.code == .invalidValue)

    // keepWithin: every save lands within a minute of the newest, so nothing is dropped, while
    // maxToKeep 1 alone would drop all but the head.
    let run2 = try DigitsRun(seed: 4)
    let windowed = try CheckpointManager(
      run2.checkpoint, store: store, branch: "w", maxToKeep: 1, keepWithin: 60)
    for _ in 0..<4 {
      try run2.train(1)
      try windowed.save()
    }
    #expect(try windowed.checkpoints().count == 4)
  }

  @Test func ckstoreMetricsPrintsTheSeriesWithNonFiniteValuesNamed() throws {
    let dir = try TempDir()
    let store = try dir.store()
    // A commit without series first, as older stores have.
    try store.commit([try TensorData(name: "w", shape: [1], float32: [0])], to: "main", step: 0)
    let run = try DigitsRun(seed: 8)
    let manager = try CheckpointManager(run.checkpoint, store: store, maxToKeep: nil)
    for (step, value) in [(1, 0.5), (2, Double.nan), (3, -Double.infinity)] {
      try manager.log(step: Int64(step), metrics: ["loss": value])
    }
    try run.train(3)
    let saved = try #require(try manager.save())
    let text = try CLI.ok(["metrics", "--store", dir.path("store")]).stdout
    #expect(text.hasPrefix("commit \(saved.commit.id.short) (step-3): loss\n"), "\(text)")
    #expect(text.contains("2     nan") && text.contains("3     -inf"), "\(text)")
    let json = try CLI.ok(["metrics", "--json", "--store", dir.path("store")]).stdout
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let commits = try #require(object["commits"] as? [[String: Any]])
    #expect(commits.count == 1, "the commit without series contributes nothing")
    let series = try #require((commits[0]["series"] as? [[String: Any]])?.first)
    #expect(series["steps"] as? [Int] == [1, 2, 3])
    let values = try #require(series["values"] as? [Any])
    #expect(values[0] as? Double == 0.5 && values[1] is NSNull && values[2] is NSNull)
    #expect(series["nonFinite"] as? [String: String] == ["values/1": "nan", "values/2": "-inf"])
    // `log --series` reads the same series back, one summary line under its commit.
    let log = try CLI.ok(["log", "--series", "--store", dir.path("store")]).stdout
    let expected = "series:  loss 3 points, steps 1-3, min 0.5 at 1, last -inf"
    #expect(log.components(separatedBy: expected).count == 2, "\(log)")
    let plain = try CLI.ok(["log", "--store", dir.path("store")]).stdout
    #expect(!plain.contains("series:"), "without --series, log reads no series")
  }
}
