import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore gc`.
  struct GC: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "gc",
      abstract: "Apply retention and delete objects no kept commit uses.",
      discussion: """
        --keep-last N keeps the newest N commits of every branch, --keep-every K also keeps \
        commits whose step is a multiple of K, --keep-best METRIC[:min|max]=N the N with the best \
        value of a metric (min by default; commits without the metric, or with NaN/inf, never \
        count as best), --keep-within DURATION (36h, 7d, 2w, 1w3d) those made at most that long \
        before the branch's newest commit (not before now, as restic). A commit is kept if any \
        rule keeps it; with rules but no --keep-last only the head is kept besides. Branch heads \
        and tags always keep their data; deleting a tag lets the next gc free what only it kept. \
        Dropped commits stay in `log`, marked [pruned]. Also removes temporary files and locks \
        left by dead processes. Safe while another process commits.
        """)

    @Option(help: "Keep the newest N commits of each branch.") var keepLast: Int?
    @Option(help: "Also keep commits whose step is a multiple of K.") var keepEvery: Int64?
    @Option(
      help: ArgumentHelp(
        "Also keep the N best commits by a metric (repeatable).",
        valueName: "metric[:min|max]=n"),
      transform: { try KeepBest.parse($0) })
    var keepBest: [KeepBest] = []
    @Option(
      help: ArgumentHelp(
        "Also keep commits within this long of the branch's newest commit.",
        valueName: "duration"),
      transform: { try RetentionDuration.parse($0) })
    var keepWithin: TimeInterval?
    @Option(help: "Apply the retention policy to this branch only (repeatable).")
    var branch: [String] = []
    @Flag(help: "Report what would be freed; change nothing.") var dryRun = false
    @OptionGroup var remoteOptions: RemoteGCOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
      if let keepLast, keepLast < 1 { throw ValidationError("--keep-last must be at least 1") }
      if let keepEvery, keepEvery < 1 { throw ValidationError("--keep-every must be at least 1") }
    }

    func run() throws {
      let store = try storeOptions.open()
      let policy = RetentionPolicy(
        keepLast: keepLast, keepEvery: keepEvery, branches: branch.isEmpty ? nil : branch,
        keepBest: keepBest, keepWithin: keepWithin)
      if remoteOptions.remote != nil {
        return try remoteOptions.run(store, policy, dryRun: dryRun, json: output.json)
      }
      store.objectFallback = nil  // gc decides on what is here, never on what it could fetch
      let report = try store.gc(policy: policy, dryRun: dryRun)
      if output.json {
        try printJSON(report)
        return
      }
      let verb = dryRun ? "would delete" : "deleted"
      print(
        "\(dryRun ? "would prune" : "pruned") \(report.prunedCommits.count) commits; \(verb) "
          + "\(report.objectsDeleted) objects (\(Format.bytes(report.bytesFreed))); "
          + "\(report.objectsKept) objects kept")
      if report.staleTempFilesRemoved > 0 || !report.staleLocksRemoved.isEmpty {
        print(
          "removed \(report.staleTempFilesRemoved) stale temporary files and "
            + "\(report.staleLocksRemoved.count) stale locks")
      }
    }
  }

  /// `ckstore fsck`.
  struct Fsck: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Verify every object that a commit keeping data uses.",
      discussion: "Each object is read, decoded and hashed. Exit status 1 if anything is wrong.")

    @Option(help: "Verify this remote's reachable objects instead of the local store.")
    var remote: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      if let remote { return try fsckRemote(store, remote, json: output.json) }
      store.objectFallback = nil  // fsck reports what is here; it never fetches a missing object

      let progress = Progress("verifying")
      let report = try store.fsck(progress: progress.update)
      let clean = report.isClean
      if output.json {
        try printJSON(report)
        if !clean { throw ExitCode(1) }
        return
      }
      for p in report.problems {
        // A problem names an object by its id, or a ref (or HEAD) by its path.
        let what = ObjectID(hex: p.object) == nil ? p.object : "object \(p.object)"
        print("error: \(what): \(p.message)")
        if !p.commits.isEmpty { print("  used by commits: \(p.commits.joined(separator: ", "))") }
        if !p.tensors.isEmpty { print("  used by tensors: \(p.tensors.joined(separator: ", "))") }
      }
      print(
        "checked \(report.commitsChecked) commits, \(report.objectsChecked) objects: "
          + (clean ? "OK" : "\(report.problems.count) problems"))
      if !clean { throw ExitCode(1) }
    }
  }
}
