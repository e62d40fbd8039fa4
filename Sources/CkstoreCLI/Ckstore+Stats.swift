import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
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
