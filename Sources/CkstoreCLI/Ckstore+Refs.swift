import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore tag NAME REV`.
  struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Name a commit with a tag (tagged commits always keep their data), or list tags.")

    @Argument(help: "The tag to create; omit to list tags.") var name: String?
    @Argument(help: "The revision to tag.") var revision: String = "HEAD"
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      guard let name else {
        let tags = try store.tags()
        if output.json {
          try printJSON(Dictionary(uniqueKeysWithValues: tags.map { ($0.name, $0.id.hex) }))
        } else {
          for t in tags { print("\(t.name)  \(t.id.short)") }
        }
        return
      }
      let c = try store.resolve(revision)
      try store.createTag(name, at: c.id)
      print("tag \(name) → \(c.id.short) (step \(c.step))")
    }
  }

  /// `ckstore branch [NAME [REV]]`.
  struct Branch: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List branches, or create one at a revision.",
      discussion: "With --switch, also make it the current branch (where new commits go).")

    @Argument(help: "The branch to create; omit to list branches.") var name: String?
    @Argument(help: "Where the new branch starts (default: HEAD).") var revision: String = "HEAD"
    @Flag(name: .customLong("switch"), help: "Make the branch current.") var switchTo = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      guard let name else {
        let current = try store.currentBranch()
        let branches = try store.branches()
        if output.json {
          struct Entry: Encodable {
            var name: String
            var head: String
            var current: Bool
          }
          try printJSON(
            branches.map { Entry(name: $0.name, head: $0.id.hex, current: $0.name == current) })
        } else {
          for b in branches { print("\(b.name == current ? "*" : " ") \(b.name)  \(b.id.short)") }
        }
        return
      }
      if try store.head(of: name) == nil {
        let c = try store.resolve(revision)
        try store.createBranch(name, at: c.id, switchingTo: switchTo)
        print("branch \(name) → \(c.id.short) (step \(c.step))")
      } else if switchTo {
        try store.checkout(branch: name)
      } else {
        throw StoreError(.invalidArgument, "branch '\(name)' already exists")
      }
      if switchTo { print("switched to \(name)") }
    }
  }

  /// `ckstore stats`.
  struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Logical versus stored bytes, dedup and compression ratios, object counts.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let s = try store.stats()
      if output.json {
        struct StatsJSON: Encodable {
          var stats: StoreStats
          var dedupRatio: Double
          var compressionRatio: Double
          var storedBytesPerCommit: Double
        }
        let kept = max(1, s.commits - s.prunedCommits)
        try printJSON(
          StatsJSON(
            stats: s, dedupRatio: s.dedupRatio, compressionRatio: s.compressionRatio,
            storedBytesPerCommit: Double(s.storedBytes) / Double(kept)))
        return
      }
      print(
        Format.table([
          ["commits", "\(s.commits) (\(s.prunedCommits) pruned)"],
          [
            "objects",
            "\(s.chunkObjects) chunks, \(s.treeObjects) trees, \(s.commitObjects) commits",
          ],
          ["logical", Format.bytes(s.logicalBytes) + " (tensor bytes of commits with data)"],
          ["unique", Format.bytes(s.uniqueBytes) + " (distinct chunk bytes)"],
          ["stored", Format.bytes(s.storedBytes) + " on disk"],
          ["dedup", String(format: "%.2fx", s.dedupRatio)],
          ["compression", String(format: "%.2fx", s.compressionRatio)],
        ]))
    }
  }
}
