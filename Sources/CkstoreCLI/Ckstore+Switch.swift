import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore switch BRANCH`, `ckstore switch -c NEW [REV]`.
  struct Switch: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a branch the current one (where new commits and step-N go).",
      discussion: """
        Only HEAD moves: a store has no working copy, so nothing else changes. -c creates the \
        branch at REV (default HEAD) first; if switching fails, the branch is not created.
        """)

    @Argument(help: "The branch to switch to.") var branch: String
    @Argument(help: "With -c: where the new branch starts (default HEAD).") var revision: String?
    @Flag(name: .customShort("c"), help: "Create the branch, then switch to it.") var create = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
      if revision != nil && !create { throw ValidationError("a start revision goes with -c") }
    }

    func run() throws {
      let store = try storeOptions.open()
      let previous = try store.currentBranch()
      var created = false
      if create {
        let c = try store.resolve(revision ?? "HEAD")
        try store.createBranch(branch, at: c.id, switchingTo: true)
        created = true
      } else {
        // The current branch may have no commits yet (a new store's main): switching to it is
        // a no-op; any other branch must exist.
        if try store.head(of: branch) == nil && branch != previous {
          throw StoreError(
            .unknownRevision,
            "no branch '\(branch)'"
              + Suggestion.hint(for: branch, among: try store.branches().map(\.name))
              + " (ckstore switch -c \(branch) creates it)")
        }
        try store.checkout(branch: branch)
      }
      let head = try store.head(of: branch)
      if output.json {
        struct SwitchJSON: Encodable {
          var branch: String
          var previous: String
          @Nullable var commit: String?
          var created: Bool
        }
        try printJSON(
          SwitchJSON(branch: branch, previous: previous, commit: head?.hex, created: created))
        return
      }
      let at = try head.map { " at \($0.short) (step \(try store.commit($0).step))" } ?? ""
      print(
        previous == branch && !created
          ? "already on \(branch)\(at)"
          : "switched to \(created ? "new " : "")branch \(branch)\(at)")
    }
  }

  /// `ckstore reflog [REF]`.
  struct Reflog: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show where a branch or tag pointed over time, newest first.",
      discussion: """
        Entry N is REF@{N} in revisions (0 is the newest). REF defaults to the current branch. \
        The reflog is a record, not a root: it does not keep data alive, so gc may free \
        commits only the reflog still names (their revisions then fail).
        """)

    @Argument(help: "A branch or tag (default: the current branch).") var ref: String = "HEAD"
    @Option(name: .short, help: "Show at most N entries.") var n: Int?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let (path, oldestFirst) = try store.reflog(ref: ref)
      let entries = Array(oldestFirst.reversed().prefix(n ?? .max))
      let shortName = path.split(separator: "/", maxSplits: 2).last.map(String.init) ?? path
      if output.json {
        struct Entry: Encodable {
          var index: Int
          @Nullable var old: String?
          var new: String
          var time: Date
          var message: String
        }
        struct ReflogJSON: Encodable {
          var ref: String
          var entries: [Entry]
        }
        try printJSON(
          ReflogJSON(
            ref: path,
            entries: entries.enumerated().map {
              Entry(
                index: $0.offset, old: $0.element.old?.hex, new: $0.element.new.hex,
                time: $0.element.time, message: $0.element.message)
            }))
        return
      }
      for (i, e) in entries.enumerated() {
        print("\(e.new.short) \(shortName)@{\(i)}: \(Format.time(e.time))  \(e.message)")
      }
    }
  }

  /// `ckstore status`.
  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The current branch and the commit it names.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let branch = try store.currentBranch()
      let head = try store.head(of: branch).map { try store.commit($0) }
      let refs = try store.decorations()
      if output.json {
        struct StatusJSON: Encodable {
          var branch: String
          @Nullable var head: CommitJSON?
          var branches: Int
          var tags: Int
        }
        try printJSON(
          StatusJSON(
            branch: branch, head: head.map { CommitJSON($0, in: store, refs: refs) },
            branches: try store.branches().count, tags: try store.tags().count))
        return
      }
      print("On branch \(branch)")
      guard let head else { return print("No commits yet") }
      print("HEAD \(head.id.short) step \(head.step)  \(Format.metrics(head.metrics))")
    }
  }
}
