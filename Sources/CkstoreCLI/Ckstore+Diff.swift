import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore diff A [B] [-- PATH…]`.
  struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compare two checkpoints tensor by tensor (one revision: against HEAD).",
      discussion: """
        For each changed tensor of unchanged shape both sides are widened to f64 (so a float32 \
        → bfloat16 cast is compared value by value). Float tensors: l2 = ‖B−A‖, \
        rel = ‖B−A‖/‖A‖ and max = max|B−A|, over the elements finite on both sides only; NaN \
        and ±inf that appeared or vanished are counted apart (nan +1 means one more NaN in B), \
        and the numbers read "-" when no element is finite on both sides. Integer and bool \
        tensors: max = max|B−A| and the changed count, no l2. changed = the fraction of \
        elements whose bytes differ (values, when the dtype changed). Unchanged tensors are \
        counted from the trees, including those inside unchanged subtrees, without reading \
        their data. Paths after -- keep tensors whose name starts with one of them. Exit \
        status: 0 when identical, 1 when different, 2 on error.
        """)

    @Argument(help: "The old revision.") var a: String
    @Argument(help: "The new revision (default: HEAD).") var b: String = "HEAD"
    @Argument(parsing: .postTerminator, help: "Compare only tensors under these name prefixes.")
    var paths: [String] = []
    @Flag(help: "Only counts, no statistics (reads no tensor data).") var stat = false
    @Flag(help: "Only the names of added, removed and changed tensors.") var nameOnly = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let left = try store.resolve(a)
      let right = try store.resolve(b)
      let d = try store.diff(left, right, statistics: !(stat || nameOnly), paths: paths)
      if output.json {
        try printJSON(DiffJSON(left, right, d))
      } else if nameOnly {
        for t in d.tensors { print(t.name) }
      } else {
        printText(left, right, d)
      }
      if !d.isIdentical { throw ExitCode(1) }
    }

    private func printText(_ left: Commit, _ right: Commit, _ d: SnapshotDiff) {
      print("diff \(left.id.short) (step \(left.step)) → \(right.id.short) (step \(right.step))")
      var rows: [[String]] = []
      for t in d.tensors {
        var detail: [String] = []
        if t.dtypeChanged { detail.append("dtype \(t.old!.dtype) → \(t.new!.dtype)") }
        if t.shapeChanged {
          detail.append("shape \(Format.shape(t.old!.shape)) → \(Format.shape(t.new!.shape))")
        }
        if let s = t.statistics { detail.append(Self.describe(s)) }
        let info = t.new ?? t.old!
        rows.append([
          t.change.rawValue, t.name, "\(info.dtype) \(Format.shape(info.shape))",
          detail.joined(separator: "; "),
        ])
      }
      if !rows.isEmpty { print(Format.table(rows)) }
      let counts = Dictionary(grouping: d.tensors, by: \.change).mapValues(\.count)
      let inSubtrees =
        d.unchangedSubtrees.isEmpty ? "" : " (\(d.unchangedSubtrees.count) unchanged subtrees)"
      print(
        "\(counts[.changed] ?? 0) changed, \(counts[.added] ?? 0) added, "
          + "\(counts[.removed] ?? 0) removed, \(d.unchangedTensors.count) unchanged tensors"
          + inSubtrees)
    }

    /// `l2=… rel=… max=… changed=…%` plus NaN/inf movements, as --help defines them.
    static func describe(_ s: DiffStatistics) -> String {
      let number = { (x: Double?) in x.map(Format.number) ?? "-" }
      var parts: [String] = []
      if s.kind == .float { parts += ["l2=\(number(s.l2))", "rel=\(number(s.relative))"] }
      parts.append("max=\(number(s.maxAbs))")
      parts.append("changed=" + String(format: "%.1f%%", 100 * s.changedFraction))
      for (label, c) in [("nan", s.nan), ("inf", s.inf)] where c.appeared + c.vanished > 0 {
        parts.append("\(label) +\(c.appeared) -\(c.vanished)")
      }
      return parts.joined(separator: " ")
    }
  }
}

/// `diff --json` (docs/json-schema/diff.json).
private struct DiffJSON: Encodable {
  struct Counts: Encodable {
    var appeared: Int
    var vanished: Int
    var kept: Int
  }
  struct Statistics: Encodable {
    var kind: String
    @Nullable var l2: Double?
    @Nullable var relative: Double?
    @Nullable var maxAbs: Double?
    var changedElements: Int
    var elements: Int
    var changedFraction: Double
    var finitePairs: Int
    var nan: Counts
    var inf: Counts
    var nonFinite: [String: String]

    init(_ s: DiffStatistics) {
      var nonFinite = NonFinite()
      kind = s.kind.rawValue
      l2 = nonFinite.finite(s.l2, "l2")
      relative = nonFinite.finite(s.relative, "relative")
      maxAbs = nonFinite.finite(s.maxAbs, "maxAbs")
      changedElements = s.changedElements
      elements = s.elements
      changedFraction = s.changedFraction
      finitePairs = s.finitePairs
      nan = Counts(appeared: s.nan.appeared, vanished: s.nan.vanished, kept: s.nan.kept)
      inf = Counts(appeared: s.inf.appeared, vanished: s.inf.vanished, kept: s.inf.kept)
      self.nonFinite = nonFinite.entries
    }
  }
  struct Entry: Encodable {
    var name: String
    var change: String
    @Nullable var old: TensorJSON?
    @Nullable var new: TensorJSON?
    var dtypeChanged: Bool
    var shapeChanged: Bool
    @Nullable var statistics: Statistics?
  }
  var a: String
  var b: String
  var identical: Bool
  var tensors: [Entry]
  var unchangedTensors: [String]
  var unchangedSubtrees: [String]

  init(_ left: Commit, _ right: Commit, _ d: SnapshotDiff) {
    a = left.id.hex
    b = right.id.hex
    identical = d.isIdentical
    tensors = d.tensors.map {
      Entry(
        name: $0.name, change: $0.change.rawValue, old: $0.old.map(TensorJSON.init),
        new: $0.new.map(TensorJSON.init), dtypeChanged: $0.dtypeChanged,
        shapeChanged: $0.shapeChanged, statistics: $0.statistics.map(Statistics.init))
    }
    unchangedTensors = d.unchangedTensors
    unchangedSubtrees = d.unchangedSubtrees
  }
}
