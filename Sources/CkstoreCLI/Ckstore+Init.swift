import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore init [PATH]`.
  struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create an empty store.",
      discussion: "PATH defaults to --store, then $CKSTORE_DIR, then ./.ckstore.")

    @Argument(help: "Where to create the store.") var path: String?
    @Option(help: "Target chunk size in bytes for large tensors.")
    var chunkSize = StoreConfiguration.defaultChunkSize
    @Option(help: "zstd compression level (1-19).")
    var level = StoreConfiguration.defaultCompressionLevel
    @Flag(help: "Experimental: store float chunks as deltas against the parent commit's.")
    var delta = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let target =
        path ?? storeOptions.store ?? ProcessInfo.processInfo.environment["CKSTORE_DIR"]
        ?? ".ckstore"
      let configuration = StoreConfiguration(
        chunkSize: chunkSize, compressionLevel: level, deltaAgainstParent: delta)
      try Store.create(at: target, configuration: configuration)
      guard output.json else { return print("Initialized empty ckstore store in \(target)") }
      struct InitJSON: Encodable {
        var store: String
        var chunkSize: Int
        var compressionLevel: Int
        var deltaAgainstParent: Bool
      }
      try printJSON(
        InitJSON(
          store: target, chunkSize: configuration.chunkSize,
          compressionLevel: configuration.compressionLevel,
          deltaAgainstParent: configuration.deltaAgainstParent))
    }
  }
}
