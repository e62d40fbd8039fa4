import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore show REV [TENSOR]`.
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show a commit's metadata and its tensor table, or one tensor's values.",
      discussion: """
        With TENSOR: its dtype, shape and size, summary statistics over its finite values \
        (min, max, mean, population std), counts of NaN, ±inf and zeros, a text histogram of \
        the finite values in 10 equal-width bins from min to max, and the first 8 values. \
        Complex and packed sub-byte dtypes get no statistics.
        """)

    @Argument(help: "The revision to show.") var revision: String
    @Argument(help: "A tensor to show the values of.") var tensor: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    private struct ShowJSON: Encodable {
      var commit: CommitJSON
      var tensors: [TensorJSON]
    }

    func run() throws {
      let store = try storeOptions.open()
      let c = try store.resolve(revision)
      if let tensor { return try showTensor(tensor, of: c, store) }
      let tensors = try store.tensors(in: c)
      let refs = try store.decorations()[c.id] ?? []
      if output.json {
        try printJSON(
          ShowJSON(
            commit: CommitJSON(c, pruned: false, refs: refs),
            tensors: tensors.map(TensorJSON.init)))
        return
      }
      print(
        "commit  \(c.id.hex)" + (refs.isEmpty ? "" : " (" + refs.joined(separator: ", ") + ")"))
      for p in c.parents { print("parent  \(p.hex)") }
      print("step    \(c.step)")
      print("date    \(Format.time(c.time))")
      if !c.message.isEmpty { print("message \(c.message)") }
      if !c.metrics.isEmpty { print("metrics \(Format.metrics(c.metrics))") }
      for (k, v) in c.metadata.sorted(by: { $0.key < $1.key }) { print("meta    \(k)=\(v)") }
      print(
        "\n\(tensors.count) tensors, \(Format.bytes(c.logicalBytes)) logical, "
          + "\(Format.bytes(c.addedBytes)) added by this commit\n")
      var rows = [["NAME", "DTYPE", "SHAPE", "SIZE", "ID"]]
      for t in tensors {
        let id =
          t.chunks.isEmpty
          ? "-"
          : t.chunks[0].short + (t.chunks.count > 1 ? " (+\(t.chunks.count - 1) chunks)" : "")
        rows.append([t.name, t.dtype.name, Format.shape(t.shape), Format.bytes(t.byteCount), id])
      }
      print(Format.table(rows))
      printSlices(c, tensors)
    }

    private func showTensor(_ name: String, of c: Commit, _ store: Store) throws {
      let info: TensorInfo
      do {
        info = try store.tensorInfo(named: name, in: c)
      } catch let error as StoreError where error.code == .invalidArgument {
        let names = try store.tensors(in: c).map(\.name)
        throw StoreError(error.code, error.message + Suggestion.hint(for: name, among: names))
      }
      let bytes = try store.read(info)
      let summary = bytes.withUnsafeBytes { TensorSummary.compute($0, dtype: info.dtype) }
      if output.json {
        return try printJSON(TensorShowJSON(commit: c, info: info, summary: summary))
      }
      print("tensor  \(info.name) of \(c.id.short) (step \(c.step))")
      print("dtype   \(info.dtype.name)")
      print("shape   \(Format.shape(info.shape)) (\(info.elementCount) elements)")
      print("size    \(Format.bytes(info.byteCount)) in \(info.chunks.count) chunks")
      guard let s = summary else { return print("no statistics for dtype \(info.dtype.name)") }
      let number = { (x: Double?) in x.map(Format.number) ?? "-" }
      print(
        "stats   min=\(number(s.min)) max=\(number(s.max)) mean=\(number(s.mean)) "
          + "std=\(number(s.std))")
      print(
        "counts  nan=\(s.nanCount) +inf=\(s.positiveInfCount) -inf=\(s.negativeInfCount) "
          + "zeros=\(s.zeroCount)")
      if let low = s.min, let high = s.max, let top = s.histogram.max(), top > 0 {
        print("histogram")
        let width = (high - low) / Double(s.histogram.count)
        for (i, count) in s.histogram.enumerated() {
          let from = Format.number(low + Double(i) * width).padding(
            toLength: 10, withPad: " ", startingAt: 0)
          let bar = String(
            repeating: "#", count: Int((40.0 * Double(count) / Double(top)).rounded(.up)))
          print("  \(from) \(bar) \(count)")
        }
      }
      print("first   " + s.first.map(Format.number).joined(separator: " "))
    }
  }
}

/// `show REV TENSOR --json` (docs/json-schema/show.json, `tensorShow`).
private struct TensorShowJSON: Encodable {
  struct Statistics: Encodable {
    var elements: Int
    var nanCount: Int
    var positiveInfCount: Int
    var negativeInfCount: Int
    var zeroCount: Int
    @Nullable var min: Double?
    @Nullable var max: Double?
    @Nullable var mean: Double?
    @Nullable var std: Double?
    var histogram: [Int]
    @Nullable var histogramMin: Double?
    @Nullable var histogramMax: Double?
    var first: [Double?]
    var nonFinite: [String: String]
  }
  var commit: String
  var step: Int64
  var tensor: TensorJSON
  @Nullable var statistics: Statistics?

  init(commit c: Commit, info: TensorInfo, summary: TensorSummary?) {
    commit = c.id.hex
    step = c.step
    tensor = TensorJSON(info)
    statistics = summary.map { s in
      var nonFinite = NonFinite()
      let first = s.first.enumerated().map { nonFinite.finite($0.element, "first/\($0.offset)") }
      return Statistics(
        elements: s.elements, nanCount: s.nanCount, positiveInfCount: s.positiveInfCount,
        negativeInfCount: s.negativeInfCount, zeroCount: s.zeroCount, min: s.min, max: s.max,
        mean: s.mean, std: s.std, histogram: s.histogram, histogramMin: s.min,
        histogramMax: s.max, first: first, nonFinite: nonFinite.entries)
    }
  }
}

extension Ckstore.Show {
  /// A sharded commit's parts, and the slices of its sliced tensors (rank, region, chunks).
  fileprivate func printSlices(_ c: Commit, _ tensors: [TensorInfo]) {
    guard let parts = c.metadata[ShardedMetadataKeys.parts] else { return }
    print("\nsharded commit of \(parts) parts")
    let sliced = tensors.filter { !$0.slices.isEmpty }
    guard !sliced.isEmpty else { return }
    var rows = [["TENSOR", "RANK", "REGION", "CHUNKS"]]
    for t in sliced {
      for s in t.slices {
        rows.append([t.name, String(s.part), s.region.description, String(s.chunks.count)])
      }
    }
    print(Format.table(rows))
  }
}
