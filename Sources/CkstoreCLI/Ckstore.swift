import ArgumentParser
import CKStore

/// The `ckstore` command: a git-like store for training checkpoints.
@main
struct Ckstore: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ckstore",
    abstract: "A content-addressed, git-like store for training checkpoints.",
    version: "0.1.0",
    subcommands: [])
}
