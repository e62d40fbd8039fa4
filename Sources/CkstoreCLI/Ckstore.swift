import ArgumentParser
import CKStore

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
      Tag.self, Branch.self, Stats.self, Train.self,
    ])
}
