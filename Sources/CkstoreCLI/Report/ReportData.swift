import CKStore
import Foundation

/// Everything `ckstore report` draws, read from the store once: the commits reachable from the
/// chosen revisions, each branch's metric curves, the heatmap of relative change and the bytes.
struct ReportData {
  /// One commit of the graph.
  struct Node {
    var commit: Commit
    var pruned: Bool
    /// Decorations (`main`, `tag: v1`).
    var refs: [String]
    /// The line it is drawn on: the first chosen branch whose first-parent history has it.
    var lane: String
  }

  /// A curve: a metric of one branch over steps.
  struct Curve {
    var branch: String
    var metric: String
    /// `commit` for the value saved with each checkpoint, `series` for the values logged between
    /// saves (`ckstore/metrics/…`).
    var source: String
    var points: [(step: Int64, value: Double)]
  }

  /// The heatmap of one branch: rows are tensors, columns consecutive pairs of checkpoints.
  struct Heatmap {
    var branch: String
    /// The newer commit of each pair, oldest pair first.
    var columns: [Commit]
    var tensors: [String]
    /// `cells[row][column]`: ‖new − old‖ / ‖old‖ from the diff statistics; 0 when the data is
    /// the same; nil when not comparable (added, removed, reshaped, non-numeric, or no finite
    /// statistic).
    var cells: [[Double?]]
    /// Tensor bytes the diffs read (both sides of every changed tensor).
    var bytesRead: Int
  }

  var nodes: [Node]
  var lanes: [String]
  var curves: [Curve]
  var heatmaps: [Heatmap]

  /// Reads the report for `revisions` (branch names, tags or any revision; empty: every branch
  /// and tag). Diff statistics read both versions of each tensor that changed between
  /// consecutive checkpoints; unchanged tensors and subtrees are recognised by id, unread.
  init(store: Store, revisions: [String], heatmap: Bool = true) throws {
    let branches = try store.branches()
    let tags = try store.tags()
    var starts: [(name: String, id: ObjectID)] = []
    if revisions.isEmpty {
      let current = try? store.currentBranch()
      starts = branches.sorted {
        ($0.name == current ? 0 : 1, $0.name) < ($1.name == current ? 0 : 1, $1.name)
      }
      starts += tags.map { (name: "tag: " + $0.name, id: $0.id) }
    } else {
      for r in revisions { starts.append((name: r, id: try store.resolve(r).id)) }
    }
    var decorations: [ObjectID: [String]] = [:]
    for b in branches { decorations[b.id, default: []].append(b.name) }
    for t in tags { decorations[t.id, default: []].append("tag: " + t.name) }

    var laneOf: [ObjectID: String] = [:]
    var lanes: [String] = []
    var lines: [(name: String, history: [Commit], own: Int)] = []
    for start in starts {
      let history = try store.history(from: start.id)
      let fresh = history.filter { laneOf[$0.id] == nil }
      if fresh.isEmpty { continue }
      lanes.append(start.name)
      for c in fresh { laneOf[c.id] = start.name }
      // A line draws its own commits and, to join it to its fork point, the one before them.
      lines.append((start.name, Array(history.prefix(fresh.count + 1)), fresh.count))
    }
    // Merge parents and anything else reachable are drawn too, on the lane of their child.
    var all: [ObjectID: Commit] = [:]
    var stack = starts.map(\.id)
    while let id = stack.popLast() {
      if all[id] != nil { continue }
      let c = try store.commit(id)
      all[id] = c
      for p in c.parents where laneOf[p] == nil { laneOf[p] = laneOf[id] }
      stack.append(contentsOf: c.parents)
    }
    nodes = all.values.sorted { ($0.time, $0.step) < ($1.time, $1.step) }.map {
      Node(
        commit: $0, pruned: store.isPruned($0.id), refs: decorations[$0.id] ?? [],
        lane: laneOf[$0.id] ?? lanes.first ?? "")
    }
    self.lanes = lanes
    curves = try lines.flatMap { try Self.curves(store, $0.name, $0.history, own: $0.own) }
    heatmaps = heatmap ? try lines.map { try Self.heatmap(store, $0.name, $0.history) } : []
  }

  private static func curves(_ store: Store, _ branch: String, _ history: [Commit], own: Int)
    throws -> [Curve]
  {
    let ordered = history.reversed()
    var out: [Curve] = []
    let metrics = Set(ordered.flatMap(\.metrics.keys)).sorted()
    for m in metrics {
      let points = ordered.compactMap { c in c.metrics[m].map { (c.step, $0) } }
      out.append(Curve(branch: branch, metric: m, source: "commit", points: points))
    }
    var series: [String: [(Int64, Double)]] = [:]
    // The series logged before the fork point belong to the line it forked from.
    for c in history.prefix(own).reversed() {
      for s in try store.metricSeries(in: c) {
        series[s.name, default: []] += zip(s.steps, s.values).map { ($0, $1) }
      }
    }
    for (name, points) in series.sorted(by: { $0.key < $1.key }) {
      out.append(Curve(branch: branch, metric: name, source: "series", points: points))
    }
    return out
  }

  private static func heatmap(_ store: Store, _ branch: String, _ history: [Commit]) throws
    -> Heatmap
  {
    let ordered = Array(history.reversed()).filter { !store.isPruned($0.id) }
    var columns: [Commit] = []
    var rows: [String: [Int: Double?]] = [:]
    var bytesRead = 0
    for (old, new) in zip(ordered, ordered.dropFirst()) where new.parents.first == old.id {
      let column = columns.count
      columns.append(new)
      let d = try store.diff(old, new)
      for name in d.unchangedTensors where !MetricSeries.isReserved(name) {
        rows[name, default: [:]][column] = 0
      }
      for t in d.tensors where !MetricSeries.isReserved(t.name) {
        if t.change == .changed, let s = t.statistics {
          bytesRead += (t.old?.byteCount ?? 0) + (t.new?.byteCount ?? 0)
          rows[t.name, default: [:]][column] = s.relative.flatMap { $0.isFinite ? $0 : nil }
        } else {
          rows[t.name, default: [:]][column] = .some(nil)
        }
      }
    }
    let names = rows.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    return Heatmap(
      branch: branch, columns: columns, tensors: names,
      cells: names.map { n in columns.indices.map { rows[n]?[$0] ?? nil } },
      bytesRead: bytesRead)
  }
}
