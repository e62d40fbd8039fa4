import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore show REV`.
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show a commit's metadata and its tensor table.")

    @Argument(help: "The revision to show.") var revision: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    private struct ShowJSON: Encodable {
      var commit: CommitJSON
      var tensors: [TensorJSON]
    }

    func run() throws {
      let store = try storeOptions.open()
      let c = try store.resolve(revision)
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
