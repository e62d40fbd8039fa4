import CKStore
import Foundation

/// `report --json`: the numbers the page draws (docs/JSON.md conventions: a top-level object,
/// arrays for lists, non-finite numbers as null with a `nonFinite` entry saying which).
struct ReportJSON: Encodable {
  struct Curve: Encodable {
    var branch: String
    var metric: String
    var source: String
    var steps: [Int64]
    var values: [Double?]
    /// `values/<i>` → "nan", "inf" or "-inf".
    var nonFinite: [String: String]
  }
  struct Heatmap: Encodable {
    var branch: String
    var commits: [String]
    var steps: [Int64]
    var tensors: [String]
    /// null: not comparable (added, removed, reshaped, not numeric, or no finite statistic).
    var cells: [[Double?]]
    var bytesRead: Int
    /// Always empty: a cell without a finite value is null as "not comparable".
    var nonFinite: [String: String] = [:]
  }
  struct Node: Encodable {
    var id: String
    var parents: [String]
    var step: Int64
    var lane: String
    var refs: [String]
    var pruned: Bool
    var logicalBytes: Int64
    var addedBytes: Int64
  }

  var output: String?
  var lines: [String]
  var commits: [Node]
  var curves: [Curve]
  var heatmaps: [Heatmap]

  init(_ data: ReportData, output: String?) {
    self.output = output
    lines = data.lanes
    commits = data.nodes.map {
      Node(
        id: $0.commit.id.hex, parents: $0.commit.parents.map(\.hex), step: $0.commit.step,
        lane: $0.lane, refs: $0.refs, pruned: $0.pruned, logicalBytes: $0.commit.logicalBytes,
        addedBytes: $0.commit.addedBytes)
    }
    curves = data.curves.map { c in
      var nonFinite: [String: String] = [:]
      for (i, p) in c.points.enumerated() where !p.value.isFinite {
        nonFinite["values/\(i)"] = p.value.isNaN ? "nan" : p.value > 0 ? "inf" : "-inf"
      }
      return Curve(
        branch: c.branch, metric: c.metric, source: c.source, steps: c.points.map(\.step),
        values: c.points.map { $0.value.isFinite ? $0.value : nil }, nonFinite: nonFinite)
    }
    heatmaps = data.heatmaps.map {
      Heatmap(
        branch: $0.branch, commits: $0.columns.map(\.id.hex), steps: $0.columns.map(\.step),
        tensors: $0.tensors, cells: $0.cells, bytesRead: $0.bytesRead)
    }
  }

  private enum CodingKeys: String, CodingKey { case output, lines, commits, curves, heatmaps }

  func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    // Always present, null when absent (docs/JSON.md rule 3).
    try c.encode(output, forKey: .output)
    try c.encode(lines, forKey: .lines)
    try c.encode(commits, forKey: .commits)
    try c.encode(curves, forKey: .curves)
    try c.encode(heatmaps, forKey: .heatmaps)
  }
}
