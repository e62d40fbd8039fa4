import ArgumentParser
import Foundation

/// The options of a benchmark that runs `ckstore` as child processes on a scratch folder
/// (`ckbench large`, `ckbench sharded`).
struct ChildProcessOptions: ParsableArguments {
  @Option(help: "Folder for the stores and files (on the disk being measured).")
  var scratch = ".build/bench-scratch"
  @Option(help: "The ckstore binary (default: beside this one).") var ckstore: String?
  @Flag(help: "Print JSON instead of a table.") var json = false

  /// Creates the scratch folder and returns the `ckstore` binary to run.
  func prepare() throws -> String {
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    return ckstore
      ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("ckstore").path
  }
}
