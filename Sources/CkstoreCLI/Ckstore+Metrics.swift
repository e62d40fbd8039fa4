import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore metrics`: the metrics logged between saves, read back from the commits.
  struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the metrics logged between saves (every step of `ckstore train`).",
      discussion: """
        Walks first parents from REV (default HEAD), oldest first, and prints each commit's \
        metric series (the ckstore/metrics/<name> tensors written by \
        CheckpointManager.log(step:metrics:)): one line per logged step. Commits from stores \
        without series, and pruned commits (their data is freed), contribute nothing.
        """)

    @Argument(help: "Where to start (default: HEAD).") var revision = "HEAD"
    @Option(help: "Only this metric (repeatable).") var metric: [String] = []
    @Option(name: .short, help: "Only the newest N commits.") var n: Int?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    /// One commit's series.
    struct CommitSeries: Encodable {
      var commit: String
      var step: Int64
      var series: [Series]
    }

    /// A series as JSON (docs/JSON.md: non-finite values are null, named in `nonFinite`).
    struct Series: Encodable {
      var name: String
      var steps: [Int64]
      var values: [Double?]
      var nonFinite: [String: String]
    }

    func run() throws {
      let store = try storeOptions.open()
      let start = try store.resolve(revision)
      let commits = try store.history(from: start.id, limit: n ?? .max).reversed()
      var found: [(commit: Commit, series: [MetricSeries])] = []
      for c in commits {
        let series = try store.metricSeries(in: c).filter {
          metric.isEmpty || metric.contains($0.name)
        }
        if !series.isEmpty { found.append((c, series)) }
      }
      if output.json {
        struct Document: Encodable { var commits: [CommitSeries] }
        try printJSON(Document(commits: found.map(Self.json)))
        return
      }
      for (c, series) in found {
        let names = series.map(\.name)
        print("commit \(c.id.short) (step-\(c.step)): " + names.joined(separator: ", "))
        // Rows by step; a metric not logged at a step shows as "-".
        var rows: [Int64: [String: String]] = [:]
        for s in series {
          for (step, value) in zip(s.steps, s.values) {
            rows[step, default: [:]][s.name] = Format.number(value)
          }
        }
        var table = [["step"] + names]
        for step in rows.keys.sorted() {
          table.append(["\(step)"] + names.map { rows[step]?[$0] ?? "-" })
        }
        print(Format.table(table) + "\n")
      }
    }

    private static func json(_ c: Commit, _ series: [MetricSeries]) -> CommitSeries {
      CommitSeries(
        commit: c.id.hex, step: c.step,
        series: series.map { s in
          var nonFinite: [String: String] = [:]
          for (i, v) in s.values.enumerated() where !v.isFinite {
            nonFinite["values/\(i)"] = v.isNaN ? "nan" : v > 0 ? "inf" : "-inf"
          }
          return Series(
            name: s.name, steps: s.steps, values: s.values.map { $0.isFinite ? $0 : nil },
            nonFinite: nonFinite)
        })
    }
  }
}
