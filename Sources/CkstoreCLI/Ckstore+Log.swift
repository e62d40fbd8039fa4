import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore log`.
  struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List commits, newest first, following first parents.",
      discussion: """
        Each commit shows its id, step, time, metrics, logical size and the bytes it added to the \
        store. Commits whose data retention freed are marked [pruned].
        """)

    @Argument(help: "Where to start (default: HEAD).") var revision: String = "HEAD"
    @Option(name: .short, help: "Show at most N commits.") var n: Int?
    @Flag(help: "One line per commit.") var oneline = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let start = try store.resolve(revision)
      let commits = try store.history(from: start.id, limit: n ?? .max)
      let refs = try store.decorations()
      if output.json {
        try printJSON(
          commits.map { CommitJSON($0, pruned: store.isPruned($0.id), refs: refs[$0.id] ?? []) })
        return
      }
      for c in commits {
        let pruned = store.isPruned(c.id) ? " [pruned]" : ""
        let decoration = refs[c.id].map { " (" + $0.joined(separator: ", ") + ")" } ?? ""
        if oneline {
          let parts = [
            c.id.short + decoration, "step-\(c.step)", Format.metrics(c.metrics),
            "+" + Format.bytes(c.addedBytes), c.message,
          ].filter { !$0.isEmpty }
          print(parts.joined(separator: "  ") + pruned)
          continue
        }
        print("commit \(c.id.hex)\(decoration)\(pruned)")
        print("step:    \(c.step)")
        print("date:    \(Format.time(c.time))")
        if !c.metrics.isEmpty { print("metrics: \(Format.metrics(c.metrics))") }
        print(
          "size:    \(Format.bytes(c.logicalBytes)) logical, \(Format.bytes(c.addedBytes)) added")
        if !c.message.isEmpty { print("\n    \(c.message)") }
        print("")
      }
    }
  }
}
