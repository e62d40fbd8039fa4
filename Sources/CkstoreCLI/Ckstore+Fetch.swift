import ArgumentParser
import CKRemote
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore fetch`.
  struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Bring a remote's branches, tags and history here (no tensor data).",
      discussion: """
        Sets remote-tracking refs usable as revisions (origin/main, origin/main:step-500, \
        origin/main~1). Commits whose data is not here are partial: show, diff and export fetch \
        only the objects they read.
        """)

    @Argument(help: "The remote (default: origin).") var remote: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let remote = try store.connect(self.remote ?? "origin")
      let report = try CKRemote.Fetch.run(store, from: remote)
      printFetch(report, json: output.json)
    }
  }

  /// `ckstore pull`.
  struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Fetch, then fast-forward the current branch to the remote's and fetch its data.")

    @Argument(help: "The remote (default: origin).") var remote: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let remote = try store.connect(self.remote ?? "origin")
      let branch = try store.currentBranch()
      let (report, head) = try CKRemote.Pull.run(store, from: remote, branch: branch)
      printFetch(report, json: output.json)
      if !output.json { print("\(branch) is at \(head.short)") }
    }
  }
}

/// Prints a fetch report as text or JSON.
func printFetch(_ report: FetchReport, json: Bool) {
  for warning in report.warnings { StandardError.write("ckstore: warning: \(warning)\n") }
  if json {
    try? printJSON(report)
    return
  }
  for ref in report.refs { print("\(ref.name) → \(ref.id.prefix(12))") }
  print(
    "received \(report.commitsReceived) commits, \(report.objectsReceived) objects "
      + "(\(Format.bytes(report.receivedBytes))) in \(report.requests) requests")
}
