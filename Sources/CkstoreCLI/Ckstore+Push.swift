import ArgumentParser
import CKRemote
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore push`.
  struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Send branches or tags and what they need to a remote.",
      discussion: """
        Sends only what the remote lacks, then moves each remote ref by compare-and-swap: if \
        another push moved it meanwhile, or it names a commit this store lacks or that is not \
        an ancestor, the push is refused (non-fast-forward) and nothing is overwritten. \
        --force skips the ancestry check (it still replaces only the value it read). Exit \
        status 2 on any failure; refs already moved stay moved.
        """)

    @Argument(help: "The remote (default: origin).") var remote: String?
    @Argument(help: "Branches or tags to push (default: the current branch).") var refs: [String] =
      []
    @Flag(help: "Push even when the remote ref is not an ancestor.") var force = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let remote = try store.connect(self.remote ?? "origin")
      let names = refs.isEmpty ? [try store.currentBranch()] : refs
      let progress = TransferProgress("pushing")
      let report = try CKRemote.Push.run(
        store, to: remote, refs: names, force: force, progress: progress.update)
      if output.json {
        try printJSON(PushJSON(report))
        return
      }
      for r in report.refs {
        let what =
          r.upToDate
          ? "up to date" : "\(r.old.map { String($0.prefix(12)) } ?? "(new)") → \(r.new.prefix(12))"
        print("\(remote.name) \(r.ref): \(what)")
      }
      print(
        "sent \(report.objectsSent) objects (\(Format.bytes(report.sentBytes))) in "
          + "\(report.requests) requests")
    }
  }
}

/// `push --json`: the remote's ref changes as `refUpdate`s (docs/JSON.md rule 10), then what
/// was sent.
struct PushJSON: Encodable {
  var remote: String
  var refUpdates: [RefUpdateJSON]
  var objectsSent: Int
  var sentBytes: Int
  var requests: Int

  init(_ report: PushReport) {
    remote = report.remote
    refUpdates = report.refs.map { r in
      let tag = r.ref.hasPrefix("refs/tags/")
      let action = r.upToDate ? "unchanged" : r.old == nil ? "created" : "updated"
      return RefUpdateJSON(
        kind: tag ? "tag" : "branch",
        name: String(r.ref.dropFirst(tag ? "refs/tags/".count : "refs/heads/".count)),
        action: action, old: r.old, new: r.new, oldName: nil)
    }
    objectsSent = report.objectsSent
    sentBytes = report.sentBytes
    requests = report.requests
  }
}
