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
      try printFetch(report, json: output.json)
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
      let before = try store.head(of: branch)
      let (report, head) = try CKRemote.Pull.run(store, from: remote, branch: branch)
      let action = before == head ? "unchanged" : before == nil ? "created" : "updated"
      let update = RefUpdateJSON(
        kind: "branch", name: branch, action: action, old: before?.hex, new: head.hex,
        oldName: nil)
      try printFetch(report, json: output.json, refUpdates: [update])
      if !output.json { print("\(branch) is at \(head.short)") }
    }
  }
}

/// Prints a fetch report as text or JSON; `refUpdates` are the local refs moved (pull's branch).
func printFetch(_ report: FetchReport, json: Bool, refUpdates: [RefUpdateJSON] = []) throws {
  for warning in report.warnings { StandardError.write("ckstore: warning: \(warning)\n") }
  if json {
    try printJSON(FetchJSON(report, refUpdates: refUpdates))
    return
  }
  for ref in report.refs { print("\(ref.name) → \(ref.id.prefix(12))") }
  print(
    "received \(report.commitsReceived) commits, \(report.objectsReceived) objects "
      + "(\(Format.bytes(report.receivedBytes))) in \(report.requests) requests")
}

/// `fetch`, `pull` and `clone --json` (docs/json-schema/fetch.json): the remote-tracking refs
/// now set, the local refs moved (pull only; empty otherwise), and what was received.
struct FetchJSON: Encodable {
  /// A remote-tracking ref and the commit it names.
  struct Tracking: Encodable {
    var name: String
    var id: String
  }
  var remote: String
  var refs: [Tracking]
  var refUpdates: [RefUpdateJSON]
  var commitsReceived: Int
  var objectsReceived: Int
  var receivedBytes: Int
  var requests: Int
  var warnings: [String]

  init(_ report: FetchReport, refUpdates: [RefUpdateJSON]) {
    remote = report.remote
    refs = report.refs.map { Tracking(name: $0.name, id: $0.id) }
    self.refUpdates = refUpdates
    commitsReceived = report.commitsReceived
    objectsReceived = report.objectsReceived
    receivedBytes = report.receivedBytes
    requests = report.requests
    warnings = report.warnings
  }
}
