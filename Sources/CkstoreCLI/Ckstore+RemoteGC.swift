import ArgumentParser
import CKRemote
import CKStore
import Foundation

/// `gc --remote NAME [--grace SECONDS]`: the same retention options, applied on a remote.
struct RemoteGCOptions: ParsableArguments {
  @Option(help: "Run retention and gc on this remote instead of the local store.")
  var remote: String?
  @Option(
    help: "With --remote: never delete an unused object younger than this many seconds.")
  var grace: Double = RemoteGC.defaultGrace

  func validate() throws {
    if grace < 0 { throw ValidationError("--grace must not be negative") }
  }

  func run(_ store: Store, _ policy: RetentionPolicy, dryRun: Bool, json: Bool) throws {
    let remote = try store.connect(self.remote ?? "origin")
    let report = try RemoteGC.run(remote, policy: policy, grace: grace, dryRun: dryRun)
    if json {
      try printJSON(RemoteGCJSON(report))
      return
    }
    let verb = dryRun ? "would delete" : "deleted"
    print(
      "\(remote.name): \(dryRun ? "would prune" : "pruned") \(report.prunedCommits.count) "
        + "commits; \(verb) \(report.objectsDeleted) objects (\(Format.bytes(report.freedBytes))); "
        + "\(report.objectsKept) objects kept (\(report.objectsTooYoung) unused but younger than "
        + "the grace period)")
  }
}

/// `fsck --remote NAME`: exit status 1 when the remote has a problem.
func fsckRemote(_ store: Store, _ name: String, json: Bool) throws {
  let report = try RemoteFsck.run(store.connect(name))
  if json {
    try printJSON(report)
  } else {
    for p in report.problems { print("error: \(p.message)") }
    print(
      "\(name): checked \(report.commitsChecked) commits, \(report.objectsChecked) objects: "
        + (report.isClean ? "ok" : "\(report.problems.count) problems"))
  }
  if !report.isClean { throw ExitCode(1) }
}

/// `gc --remote --json` (docs/json-schema/gc-remote.json): local gc's names (`bytesFreed`)
/// where the two mean the same.
struct RemoteGCJSON: Encodable {
  var remote: String
  var dryRun: Bool
  var prunedCommits: [String]
  var objectsDeleted: Int
  var bytesFreed: Int
  var objectsKept: Int
  var objectsTooYoung: Int

  init(_ report: RemoteGCReport) {
    remote = report.remote
    dryRun = report.dryRun
    prunedCommits = report.prunedCommits
    objectsDeleted = report.objectsDeleted
    bytesFreed = report.freedBytes
    objectsKept = report.objectsKept
    objectsTooYoung = report.objectsTooYoung
  }
}
