import ArgumentParser
import CKStore
import Foundation

/// `ckbench store`: the store's speed and compression, each figure next to a same-run baseline.
struct StoreBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "store",
    abstract: "Commit, incremental commit, restore and compression figures with baselines.",
    discussion: """
      Baselines are measured in the same run: writing the same bytes to one file with fsync,
      SHA-256 alone and the chunk codec alone (both on all cores), reading the raw file, and
      plain zstd at the same level. Medians of --repeats runs.
      """)

  @Option(help: "MiB of float32 data for the commit and restore figures.") var megabytes = 256
  @Option(help: "Repetitions per timed figure (the median is reported).") var repeats = 3
  @Option(help: "Adam steps that train the MLP whose weights the codec figures use.")
  var trainSteps = 300
  @Option(help: "Folder for temporary stores and files (on the disk being measured).")
  var scratch = ".build/bench-scratch"
  @Option(help: "MiB of parameters in the model whose save stall is measured.")
  var stallMegabytes = 32
  @Option(help: "Run only these sections: codec, commit, stall (repeatable; default: all).")
  var only: [String] = []
  @Flag(help: "Print JSON instead of a table.") var json = false

  func run() throws {
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    var report = BenchReport(machine: BenchReport.machine())
    let run = { (section: String) in only.isEmpty || only.contains(section) }
    if run("codec") { try CodecFigures(trainSteps: trainSteps).measure(into: &report) }
    if run("commit") {
      try CommitFigures(megabytes: megabytes, repeats: repeats, scratch: scratch).measure(
        into: &report)
    }
    if run("stall") {
      // The first saves also pay for fresh pages (the snapshot of a save in flight is still
      // alive); seven saves give the median of the steady state.
      try AsyncStallFigures(megabytes: stallMegabytes, saves: max(7, repeats), scratch: scratch)
        .measure(into: &report)
    }
    if json { try report.printJSON() } else { report.printTable() }
  }
}
