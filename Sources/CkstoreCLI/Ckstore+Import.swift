import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore import FILE.safetensors`.
  struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Commit the tensors of a safetensors file.",
      discussion: "The file's __metadata__ becomes the commit's metadata.")

    @Argument(help: "The safetensors file.") var file: String
    @Option(help: "Branch to commit to (default: the current branch).") var branch: String?
    @Option(help: "Training step to record.") var step: Int64 = 0
    @Option(name: [.customShort("m"), .long], help: "Commit message.") var message: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let (tensors, metadata) = try Safetensors.read(path: file)
      let target = try branch ?? store.currentBranch()
      let progress = Progress("committing")
      let commit = try store.commit(
        tensors, to: target, step: step, message: message ?? "import \(file)",
        metadata: metadata, progress: { done, total in progress.update(done, total) })
      if output.json {
        try printJSON(CommitJSON(commit, pruned: false, refs: [target]))
      } else {
        print(
          "[\(target) \(commit.id.short)] step \(step): \(tensors.count) tensors, "
            + "\(Format.bytes(commit.logicalBytes)), added \(Format.bytes(commit.addedBytes))")
      }
    }
  }

  /// `ckstore export REV -o FILE`.
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a commit's tensors to a safetensors file.",
      discussion:
        "Tensor data is byte-identical to what was committed; metadata is exported as __metadata__."
    )

    @Argument(help: "The revision to export.") var revision: String
    @Option(name: .shortAndLong, help: "The safetensors file to write.") var output: String
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
      let store = try storeOptions.open()
      let commit = try store.resolve(revision)
      let infos = try store.tensors(in: commit)
      let progress = Progress("reading")
      var tensors: [TensorData] = []
      for (i, info) in infos.enumerated() {
        tensors.append(
          try TensorData(
            name: info.name, dtype: info.dtype, shape: info.shape, bytes: store.read(info)))
        progress.update(i + 1, infos.count)
      }
      try Safetensors.write(tensors, metadata: commit.metadata, to: output)
      print(
        "wrote \(tensors.count) tensors of \(commit.id.short) (step \(commit.step)) to \(output)")
    }
  }
}
