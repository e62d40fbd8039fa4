import ArgumentParser
import CKCheckpoint
import CKEngine
import CKStore
import Foundation

/// The `ckstore` command: a git-like store for training checkpoints.
@main
struct Ckstore: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ckstore",
    abstract: "A content-addressed, git-like store for training checkpoints.",
    discussion: """
      Revisions: a branch, a tag, a full or abbreviated commit id, step-N (on the current \
      branch), BRANCH:step-N, and REV~N (N first parents back).
      """,
    version: "0.1.0",
    subcommands: [
      Init.self, Import.self, Export.self, Log.self, Show.self, Diff.self, GC.self, Fsck.self,
      Tag.self, Branch.self, Stats.self, Train.self, Report.self, Metrics.self,
    ])

  /// The one error path of every command: the library's typed errors become
  /// `ckstore: error: …` and exit 2 (exit 1 is reserved for "differences found", as diff(1)
  /// does); argument errors, help and `ExitCode` go through ArgumentParser. Standard output is
  /// flushed and checked before any exit, so output lost to a full disk is an error too.
  static func main() {
    do {
      // The fault-injection seam for tests (docs/TESTING.md); read once, before any file work.
      if let spec = ProcessInfo.processInfo.environment["CKSTORE_FAULT"] {
        try FaultInjection.configure(spec)
      }
      var command = try parseAsRoot()
      try command.run()
    } catch let error as StoreError {
      fail(error.message)
    } catch let error as CheckpointError {
      fail(error.description)
    } catch let error as EngineError {
      fail(error.description)
    } catch {
      StandardOutput.flushOrExit()
      exit(withError: error)
    }
    StandardOutput.flushOrExit()
  }

  /// Reports a library error and exits 2.
  private static func fail(_ message: String) -> Never {
    StandardOutput.flushOrExit()
    StandardError.write("ckstore: error: \(message)\n")
    Foundation.exit(2)
  }
}
