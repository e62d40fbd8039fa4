import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore export REV -o FILE|-|DIR`.
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a commit's tensors as a safetensors file, a stream, or shards.",
      discussion: """
        Tensor data is byte-identical to what was committed, read and verified on all cores \
        with a bounded number of chunks in memory. A file is written to a temporary file next \
        to it, made durable and renamed into place, so a failed export leaves nothing under its \
        name. -o - streams to standard output; a FIFO or character device is streamed to. With \
        --max-shard-size, -o names a folder that receives Hugging Face style shards \
        (model-00001-of-0000N.safetensors) and model.safetensors.index.json. __metadata__ holds \
        the commit's metadata, format=pt when it names none, and ckstore.step, ckstore.message \
        and ckstore.metrics, which `ckstore import` reads back.
        """)

    @Argument(help: "The revision to export.") var revision: String
    @Option(
      name: .shortAndLong,
      help: "The file to write, - for standard output, or a folder with --max-shard-size.")
    var output: String
    @Option(
      help:
        "Write shards of at most this much tensor data (5GB, 500MB, 2GiB, bytes) into the -o folder."
    )
    var maxShardSize: String?
    @Option(help: "Export only tensors whose name starts with this (repeatable).")
    var only: [String] = []
    @Option(help: "Remove this prefix from exported names (model/ turns model/w into w).")
    var stripPrefix: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var json: OutputOptions

    func validate() throws {
      if let maxShardSize, ByteSize.parse(maxShardSize) == nil {
        throw ValidationError(
          "--max-shard-size '\(maxShardSize)' is not a size such as 5GB or 500MB")
      }
      if maxShardSize != nil && output == "-" {
        throw ValidationError(
          "--max-shard-size writes files into a folder; -o - cannot take shards")
      }
    }

    func run() throws {
      let store = try storeOptions.open()
      let commit = try store.resolve(revision)
      let tensors = try store.exportSelection(commit, only: only, stripPrefix: stripPrefix)
      let metadata = Store.exportMetadata(commit)
      let progress = Progress(
        "exporting", totalBytes: tensors.reduce(0) { $0 + $1.info.byteCount })
      let report: @Sendable (Int, Int) -> Void = { progress.update($0, $1) }
      let destination: String
      var files: [String] = []
      if let maxShardSize {
        let shards = try store.writeShards(
          tensors, metadata: metadata, folder: output,
          maxShardSize: ByteSize.parse(maxShardSize)!, progress: report)
        destination = "\(shards.count) shards and \(Safetensors.indexName) in \(output)"
        files = shards.map { output + "/" + $0 } + [output + "/" + Safetensors.indexName]
      } else {
        let target = try ExportTarget.classify(output)
        try store.writeSafetensors(tensors, metadata: metadata, to: target, progress: report)
        destination = target == .standardOutput ? "standard output" : output
        if target != .standardOutput { files = [output] }
      }
      // With -o -, standard output carries the file: the summary (text or JSON) goes to stderr.
      var summary =
        "wrote \(tensors.count) tensors of \(commit.id.short) (step \(commit.step)) to \(destination)\n"
      if json.json {
        struct ExportJSON: Encodable {
          var commit: String
          var step: Int64
          var tensorCount: Int
          var tensorBytes: Int
          var output: String
          var files: [String]
        }
        summary = try jsonText(
          ExportJSON(
            commit: commit.id.hex, step: commit.step, tensorCount: tensors.count,
            tensorBytes: tensors.reduce(0) { $0 + $1.info.byteCount }, output: output,
            files: files))
      }
      if output == "-" { StandardError.write(summary) } else { print(summary, terminator: "") }
    }
  }
}

/// Sizes as people write them: 5GB (10⁹), 2GiB (2³⁰), 500MB, 1024 (bytes).
enum ByteSize {
  static func parse(_ text: String) -> Int? {
    let units: [(String, Int)] = [
      ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
      ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
      ("B", 1),
    ]
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    for (suffix, scale) in units where trimmed.uppercased().hasSuffix(suffix.uppercased()) {
      guard let value = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)),
        value > 0, value * Double(scale) < 9e18
      else { return nil }
      return Int(value * Double(scale))
    }
    guard let n = Int(trimmed), n > 0 else { return nil }
    return n
  }
}
