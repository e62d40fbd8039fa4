import ArgumentParser
import CKRemote
import CKStore
import Foundation

/// `train --push REMOTE`: push each checkpoint in the background; resume from the remote when
/// the local branch is empty.
struct RemoteTrainingOptions: ParsableArguments {
  @Option(
    help: """
      Push each checkpoint to this remote (a name from `ckstore remote`, or s3://BUCKET/PREFIX, \
      recorded as origin); an empty branch resumes from the remote's newest checkpoint.
      """)
  var push: String?

  func connect(_ store: Store) throws -> RemoteStore? {
    guard let push else { return nil }
    guard push.hasPrefix("s3://") else { return try store.connect(push) }
    let existing = try store.remotes().first { $0.configuration.url == push }
    if let existing { return try store.connect(existing.name) }
    try RemoteStore.validate(url: push)
    try store.addRemote("origin", RemoteConfiguration(url: push))
    return try store.connect("origin")
  }
}
