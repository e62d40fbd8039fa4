import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore import FILE…`.
  struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Commit the tensors of safetensors files as one checkpoint.",
      discussion: """
        Takes one file, several files (the shards of one checkpoint: a tensor in two files is \
        an error), or a Hugging Face index (model.safetensors.index.json), whose shards are read \
        from its folder. Tensor data is streamed from the files chunk by chunk, never held whole. \
        The files' __metadata__ becomes the commit's metadata; the ckstore.step, ckstore.message \
        and ckstore.metrics keys that `ckstore export` writes become the commit's step, message \
        and metrics again (--step and -m override them).

        With --part I/N, the files are part I (0-based) of N of one sharded checkpoint at \
        (branch, --step): run N such imports, from N processes at once if you like; the commit \
        appears when the last part is durable, and an import whose part is saved but whose \
        checkpoint waits for other parts exits 0 saying so. A tensor that is a slice of a larger \
        one is described by a __metadata__ key ckstore.slice.<name> = \
        {"global": [dims…], "offset": [index per dim…]} (its shape in the file is the slice's).

        With --part and --remote NAME, the checkpoint is committed on that remote instead (each \
        rank may run on another machine): the part's chunks go to the remote, then its part \
        record; the rank that completes the set builds the commit there and moves the remote \
        branch by compare-and-swap. The local store only stages the part's objects; its refs do \
        not move (fetch to see the commit).
        """)

    @Argument(help: "Safetensors files, or one .index.json.") var files: [String]
    @Option(help: "Branch to commit to (default: the current branch).") var branch: String?
    @Option(help: "Training step to record (default: ckstore.step from the file, else 0).")
    var step: Int64?
    @Option(name: [.customShort("m"), .long], help: "Commit message.") var message: String?
    @Option(help: "Save part I of N of a sharded checkpoint (0-based), e.g. 2/4; needs --step.")
    var part: PartOption?
    @Option(help: "With --part: commit the sharded checkpoint on this remote.")
    var remote: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
      if part != nil && step == nil { throw ValidationError("--part needs --step") }
      if remote != nil && part == nil { throw ValidationError("--remote needs --part") }
    }

    func run() throws {
      let store = try storeOptions.open()
      let (sources, fileMetadata) = try Safetensors.openCheckpoint(paths: files)
      let recorded = try CommitMetadataKeys.split(fileMetadata, file: files[0])
      let target = try branch ?? store.currentBranch()
      let progress = Progress(
        "importing", totalBytes: sources.reduce(0) { $0 + $1.byteCount })
      let step = step ?? recorded.step ?? 0
      if let part {
        try importPart(part, sources, recorded, store: store, branch: target, step: step)
        return
      }
      let commit = try store.commit(
        sources, to: target, step: step,
        message: message ?? recorded.message ?? "import \(files.joined(separator: " "))",
        metrics: recorded.metrics, metadata: recorded.rest,
        progress: { done, total in progress.update(done, total) })
      if output.json {
        struct ImportJSON: Encodable {
          var branch: String
          var commit: CommitJSON
          var tensorCount: Int
          var files: [String]
        }
        try printJSON(
          ImportJSON(
            branch: target, commit: CommitJSON(commit, in: store, refs: try store.decorations()),
            tensorCount: sources.count, files: files))
      } else {
        print(
          "[\(target) \(commit.id.short)] step \(step): \(sources.count) tensors, "
            + "\(Format.bytes(commit.logicalBytes)), added \(Format.bytes(commit.addedBytes))")
      }
    }
  }
}
