import ArgumentParser
import CKRemote
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore clone`.
  struct Clone: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a store from a remote: ckstore clone s3://BUCKET/PREFIX PATH.",
      discussion: """
        Brings every commit and pruned marker, creates local branches and tags, and records the \
        remote as origin. --latest brings only the newest checkpoint's data, --depth N the \
        newest N of the default branch; the other commits are partial, and reading them fetches \
        what is read.
        """)

    @Argument(help: "s3://BUCKET/PREFIX") var url: String
    @Argument(help: "The new store's folder.") var path: String
    @Flag(help: "Bring only the newest checkpoint's data.") var latest = false
    @Option(help: "Bring the data of the newest N commits of the default branch.") var depth: Int?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
      if latest && depth != nil { throw ValidationError("--latest and --depth exclude each other") }
      if let depth, depth < 1 { throw ValidationError("--depth must be at least 1") }
    }

    func run() throws {
      let config = connection.configuration(url: url)
      let remote = try RemoteStore.connect(name: "origin", config)
      let mode: CloneDepth = latest ? .newest(1) : depth.map { .newest($0) } ?? .full
      if FileManager.default.fileExists(atPath: path + "/config") {
        throw StoreError(.invalidArgument, "a store already exists at '\(path)'")
      }
      let existed = FileManager.default.fileExists(atPath: path)
      let progress = TransferProgress("cloning", bytes: false)
      let report: FetchReport
      do {
        report = try CKRemote.Clone.run(
          remote, configuration: config, into: path, depth: mode, progress: progress.update
        ).fetch
      } catch {
        // A failed clone leaves nothing a user could mistake for a store (a folder that was
        // there before keeps everything but what the clone wrote).
        if existed {
          try? FileManager.default.removeItem(atPath: path + "/config")
        } else {
          try? FileManager.default.removeItem(atPath: path)
        }
        throw error
      }
      try printFetch(report, json: output.json)
    }
  }
}
