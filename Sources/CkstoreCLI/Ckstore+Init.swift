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

    func run() throws {
      let target =
        path ?? storeOptions.store ?? ProcessInfo.processInfo.environment["CKSTORE_DIR"]
        ?? ".ckstore"
      try Store.create(
        at: target,
        configuration: StoreConfiguration(
          chunkSize: chunkSize, compressionLevel: level, deltaAgainstParent: delta))
      print("Initialized empty ckstore store in \(target)")
    }
  }
}
