import ArgumentParser
import CKCheckpoint
import CKEngine
import CKRemote
import CKStore
import Foundation

/// The `ckstore` command: a git-like store for training checkpoints.
@main
struct Ckstore: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ckstore",
    abstract: "A content-addressed, git-like store for training checkpoints.",
    discussion: """
      Revisions: HEAD, a branch, a tag, a full or abbreviated commit id, step-N (on the \
      current branch), best:METRIC or best:METRIC:max (lowest or highest value on the current \
      branch's first-parent history, pruned commits excluded), BRANCH:step-N, BRANCH:best:…, \
      REF@{N} (reflog entry N, 0 = newest), REMOTE/BRANCH (a fetched remote-tracking ref, also \
      before :step-N), then REV~N (N first parents back), REV^N (N-th \
      parent) or REV^. `log` also takes ranges A..B (reachable from B, not from A). Every \
      command takes --json (docs/JSON.md).
      """,
    version: "0.1.0",
    subcommands: [
      Init.self, Import.self, Export.self, Log.self, Show.self, Diff.self, GC.self, Fsck.self,
      Tag.self, Branch.self, Switch.self, Reflog.self, Status.self, Stats.self, Train.self,
      Report.self, Metrics.self, Remote.self, Push.self, Fetch.self, Pull.self, Clone.self,
      TrainRank.self,
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
      suggestCommandIfUnknown()
      var command = try parseAsRoot()
      try command.run()
    } catch let error as StoreError {
      fail(error.code.rawValue, error.message)
    } catch let error as RemoteError {
      fail(error.code.rawValue, error.message)
    } catch let error as CheckpointError {
      fail("checkpoint", error.description)
    } catch let error as EngineError {
      fail("engine", error.description)
    } catch let error as EncodingError {
      fail("internal", "could not encode the JSON output: \(error)")
    } catch {
      StandardOutput.flushOrExit()
      exit(withError: error)
    }
    StandardOutput.flushOrExit()
  }

  /// `ckstore stauts`: ArgumentParser would say "unexpected argument"; a word in the subcommand
  /// position that names no subcommand gets a "did you mean" instead (exit 64, a usage error).
  private static func suggestCommandIfUnknown() {
    guard let first = CommandLine.arguments.dropFirst().first, !first.hasPrefix("-") else {
      return
    }
    let names = configuration.subcommands.map { $0._commandName } + ["help"]
    guard !names.contains(first) else { return }
    StandardError.write(
      "ckstore: error: '\(first)' is not a ckstore command"
        + Suggestion.hint(for: first, among: names) + "\nSee 'ckstore --help'.\n")
    Foundation.exit(64)
  }

  /// Reports a library error and exits 2; with `--json`, stdout gets the error document too
  /// (docs/JSON.md rule 11).
  private static func fail(_ code: String, _ message: String) -> Never {
    let arguments = CommandLine.arguments.dropFirst()
    // `export -o -` streams the file on stdout; its JSON goes to stderr.
    let streaming = zip(arguments, arguments.dropFirst()).contains {
      ($0.0 == "-o" || $0.0 == "--output") && $0.1 == "-"
    }
    if arguments.contains("--json") && !streaming {
      try? printJSON(ErrorJSON(error: .init(code: code, message: message)))
    }
    StandardOutput.flushOrExit()
    StandardError.write("ckstore: error: \(message)\n")
    Foundation.exit(2)
  }
}
