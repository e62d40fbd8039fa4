import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore diff A B`.
  struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compare two checkpoints tensor by tensor.",
      discussion: """
        For each changed tensor of unchanged dtype and shape: l2 = ‖B−A‖, rel = ‖B−A‖/‖A‖, \
        max = max|B−A|, and the fraction of elements that changed. Unchanged tensors and subtrees \
        are recognised by id without reading their data. Exit status: 0 when identical, 1 when \
        different, 2 on error.
        """)

    @Argument(help: "The old revision.") var a: String
    @Argument(help: "The new revision.") var b: String
    @Flag(help: "Only counts, no statistics (reads no tensor data).") var stat = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    private struct DiffJSON: Encodable {
      struct Entry: Encodable {
        var name: String
        var change: String
        var old: TensorJSON?
        var new: TensorJSON?
        var dtypeChanged: Bool
        var shapeChanged: Bool
        var l2: Double?
        var relative: Double?
        var maxAbs: Double?
        var changedElements: Int?
        var changedFraction: Double?
      }
      var a: String
      var b: String
      var identical: Bool
      var tensors: [Entry]
      var unchangedTensors: [String]
      var unchangedSubtrees: [String]
    }

    func run() throws {
      let store = try storeOptions.open()
      let left = try store.resolve(a)
      let right = try store.resolve(b)
      let d = try store.diff(left, right, statistics: !stat)
      let different = !d.isIdentical
      if output.json {
        try printJSON(
          DiffJSON(
            a: left.id.hex, b: right.id.hex, identical: d.isIdentical,
            tensors: d.tensors.map {
              DiffJSON.Entry(
                name: $0.name, change: $0.change.rawValue, old: $0.old.map(TensorJSON.init),
                new: $0.new.map(TensorJSON.init), dtypeChanged: $0.dtypeChanged,
                shapeChanged: $0.shapeChanged, l2: $0.statistics?.l2,
                relative: $0.statistics?.relative, maxAbs: $0.statistics?.maxAbs,
                changedElements: $0.statistics?.changedElements,
                changedFraction: $0.statistics?.changedFraction)
            }, unchangedTensors: d.unchangedTensors, unchangedSubtrees: d.unchangedSubtrees))
        if different { throw ExitCode(1) }
        return
      }
      print("diff \(left.id.short) (step \(left.step)) → \(right.id.short) (step \(right.step))")
      var rows: [[String]] = []
      for t in d.tensors {
        var detail: [String] = []
        if t.dtypeChanged { detail.append("dtype \(t.old!.dtype) → \(t.new!.dtype)") }
        if t.shapeChanged {
          detail.append("shape \(Format.shape(t.old!.shape)) → \(Format.shape(t.new!.shape))")
        }
        if let s = t.statistics {
          detail.append(
            "l2=\(Format.number(s.l2)) rel=\(Format.number(s.relative)) "
              + "max=\(Format.number(s.maxAbs)) changed=\(String(format: "%.1f%%", 100 * s.changedFraction))"
          )
        }
        let info = t.new ?? t.old!
        rows.append([
          t.change.rawValue, t.name, "\(info.dtype) \(Format.shape(info.shape))",
          detail.joined(separator: "; "),
        ])
      }
      if !rows.isEmpty { print(Format.table(rows)) }
      let counts = Dictionary(grouping: d.tensors, by: \.change).mapValues(\.count)
      print(
        "\(counts[.changed] ?? 0) changed, \(counts[.added] ?? 0) added, "
          + "\(counts[.removed] ?? 0) removed, \(d.unchangedTensors.count) unchanged tensors, "
          + "\(d.unchangedSubtrees.count) unchanged subtrees")
      if different { throw ExitCode(1) }
    }
  }
}
