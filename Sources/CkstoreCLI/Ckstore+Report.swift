import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore report`.
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write an HTML report: metric curves, what changed, dedup and the history.",
      discussion: """
        One self-contained HTML file (inline SVG and CSS, no scripts, nothing fetched): the \
        metrics of every chosen branch over steps (saved with each checkpoint, and the values \
        logged between saves), a heatmap of each tensor's relative change between consecutive \
        checkpoints, the logical bytes of each commit beside the bytes it added to the store, \
        and the commit graph with branches, tags and pruned commits. REV… chooses the lines \
        (default: every branch and tag). The heatmap reads both versions of every tensor that \
        changed between two consecutive checkpoints (unchanged ones are recognised by id); \
        --no-heatmap skips it. --json prints the same data.
        """)

    @Argument(help: "Branches or revisions to draw (default: all branches and tags).")
    var revisions: [String] = []
    @Option(name: .short, help: "The HTML file to write.") var output: String?
    @Flag(help: "Skip the heatmap (and the tensor reads it needs).") var noHeatmap = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var json: OutputOptions

    func validate() throws {
      if output == nil && !json.json { throw ValidationError("pass -o FILE.html (or --json)") }
      if output == "-" { throw ValidationError("-o - is not supported; name a file") }
    }

    func run() throws {
      let store = try storeOptions.open()
      let data = try ReportData(store: store, revisions: revisions, heatmap: !noHeatmap)
      if let output {
        let page = ReportPage.html(data, stats: try store.stats(), storePath: store.root)
        do {
          try Data(page.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
          throw StoreError(.io, "cannot write the report to '\(output)': \(error)")
        }
      }
      if json.json {
        try printJSON(ReportJSON(data, output: output))
      } else if let output {
        let points = data.curves.reduce(0) { $0 + $1.points.count }
        print(
          "wrote \(output): \(data.nodes.count) commits on \(data.lanes.count) lines, "
            + "\(data.curves.count) curves (\(points) points), "
            + "\(data.heatmaps.reduce(0) { $0 + $1.columns.count }) heatmap columns")
      }
    }
  }
}
