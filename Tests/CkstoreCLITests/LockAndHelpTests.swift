import CKStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Stale locks and scratch folders left by dead processes; `--help` of every command.
@Suite struct LockAndHelpTests {
  /// Holds an exclusive `flock` on a file for the test's lifetime, as a live process would.
  private final class HeldLock {
    let fd: Int32
    init(_ path: String) throws {
      fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
      try #require(fd >= 0 && flock(fd, LOCK_EX) == 0)
    }
    deinit {
      flock(fd, LOCK_UN)
      close(fd)
    }
  }

  @Test func aLiveRefLockRefusesImportAndADeadOneIsBroken() throws {
    let box = try Sandbox()
    let first = try box.commit([try floatTensor("w", [4, 4], seed: 1)], step: 1)
    let mainLock = box.store + "/refs/heads/main.lock"
    var liveHolder: HeldLock? = try HeldLock(mainLock)
    try backdate(mainLock, by: 3600)
    let file = try box.write("two.safetensors", [try floatTensor("w", [4, 4], seed: 2)])
    let blocked = try box.ck("import", file, "--step", "2")
    #expect(blocked.status == 2)
    #expect(
      blocked.stderr.hasPrefix("ckstore: error: ") && blocked.stderr.contains(mainLock),
      "\(blocked.stderr)")
    #expect(box.head() == first)
    // The holder dies: its lock stays on disk, unheld, and the next writer breaks it.
    liveHolder = nil
    withExtendedLifetime(liveHolder) {}
    #expect(FileManager.default.fileExists(atPath: mainLock))
    let second = try box.commit([try floatTensor("w", [4, 4], seed: 2)], step: 2)
    #expect(box.head() == second)
    #expect(!FileManager.default.fileExists(atPath: mainLock))
  }

  @Test func gcRemovesStaleLocksAndScratchFoldersOnly() throws {
    let box = try Sandbox()
    let first = try box.commit([try floatTensor("w", [4, 4], seed: 1)], step: 1)
    let lock = box.store + "/refs/heads/main.lock"
    #expect(FileManager.default.createFile(atPath: lock, contents: nil))
    try backdate(lock, by: 3600)

    // The lock gc must leave: one a live process holds (however old). One just left by a dead
    // writer goes at once, with no age threshold.
    let held = box.store + "/refs/tags/v1.lock"
    let holder = try HeldLock(held)
    try backdate(held, by: 3600)
    let fresh = box.store + "/refs/heads/fresh.lock"
    #expect(FileManager.default.createFile(atPath: fresh, contents: nil))
    // Scratch folders: a dead process's (stale) and a live one's.
    let dead = box.store + "/tmp/999999-1"
    try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
    #expect(FileManager.default.createFile(atPath: dead + "/owner.lock", contents: nil))
    #expect(FileManager.default.createFile(atPath: dead + "/3.tmp", contents: Data([1, 2, 3])))
    try backdate(dead, by: 600)
    let live = box.store + "/tmp/999999-2"
    try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: true)
    let liveOwner = try HeldLock(live + "/owner.lock")
    #expect(FileManager.default.createFile(atPath: live + "/1.tmp", contents: Data([1])))
    try backdate(live, by: 600)

    let gc = try decodeJSON(GCJSON.self, try box.ok("gc", "--json").stdout)
    #expect(gc.staleLocksRemoved.sorted() == [fresh, lock])
    #expect(gc.staleTempFilesRemoved == 1)
    #expect(!FileManager.default.fileExists(atPath: lock))
    #expect(!FileManager.default.fileExists(atPath: dead))
    #expect(FileManager.default.fileExists(atPath: held))
    #expect(!FileManager.default.fileExists(atPath: fresh))
    #expect(FileManager.default.fileExists(atPath: live + "/1.tmp"))

    let second = try box.commit([try floatTensor("w", [4, 4], seed: 2)], step: 2)
    let show = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
    #expect(show.commit.id == second && show.commit.parents == [first])
    #expect(try box.ck("fsck").status == 0)
    withExtendedLifetime((holder, liveOwner)) {}
  }

  @Test func aSecondWriterOfABranchGetsAClearError() throws {
    let box = try Sandbox()
    let first = try box.commit([try floatTensor("w", [4], seed: 1)], step: 1)
    let store = try Store.open(at: box.store)
    let writer = try store.writer(branch: "main")
    let file = try box.write("two.safetensors", [try floatTensor("w", [4], seed: 2)])
    let before = box.listing()
    let r = try box.ck("import", file, "--step", "2")
    #expect(r.status == 2)
    #expect(r.stderr.hasPrefix("ckstore: error: ") && r.stderr.contains("'main'"), "\(r.stderr)")
    #expect(box.listing() == before)
    // Another branch is free meanwhile.
    #expect(try box.ck("import", file, "--step", "2", "--branch", "side").status == 0)
    writer.close()
    let second = try box.commit([try floatTensor("w", [4], seed: 2)], step: 2)
    #expect(box.head() == second)
    let show = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
    #expect(show.commit.parents == [first])
  }

  @Test func textGCReportsStaleFiles() throws {
    let box = try Sandbox()
    try box.commit([try floatTensor("w", [4], seed: 1)], step: 1)
    let lock = box.store + "/refs/heads/main.lock"
    #expect(FileManager.default.createFile(atPath: lock, contents: nil))
    try backdate(lock, by: 60)
    let out = try box.ok("gc").stdout
    #expect(out.contains("removed 0 stale temporary files and 1 stale locks"), "\(out)")
  }

  static let abstracts: [(String, String)] = [
    ("init", "Create an empty store."),
    ("import", "Commit the tensors of safetensors files as one checkpoint."),
    ("export", "Write a commit's tensors as a safetensors file, a stream, or shards."),
    ("log", "List commits, newest first, following first parents."),
    ("show", "Show a commit's metadata and its tensor table, or one tensor's values."),
    ("diff", "Compare two checkpoints tensor by tensor (one revision: against HEAD)."),
    ("gc", "Apply retention and delete objects no kept commit uses."),
    ("fsck", "Verify every object that a commit keeping data uses."),
    ("tag", "List tags, tag a commit, move (-f) or delete (-d) a tag."),
    ("branch", "List, create, delete (-d, -D) or rename (-m) branches."),
    ("switch", "Make a branch the current one (where new commits and step-N go)."),
    ("reflog", "Show where a branch or tag pointed over time, newest first."),
    ("status", "The current branch and the commit it names."),
    ("stats", "Logical versus stored bytes, dedup and compression ratios, object counts."),
    ("train", "Train a small model on the engine, committing checkpoints as it goes."),
  ]

  @Test(arguments: abstracts)
  func helpOfEverySubcommand(command: String, abstract: String) throws {
    let r = try CLI.run([command, "--help"])
    #expect(r.status == 0, "\(command) --help: \(r.stderr)")
    let text = squashed(r.stdout)
    #expect(text.contains(abstract), "\(command) --help lacks its abstract: \(r.stdout)")
    #expect(text.contains("USAGE: ckstore \(command)"))
    #expect(text.contains("--store"))
    // Every command takes --json (docs/JSON.md); train's document is specified, not yet printed.
    if command != "train" {
      #expect(text.contains("--json"), "\(command) has --json")
    }
  }

  @Test func rootHelpListsEverySubcommand() throws {
    let r = try CLI.run(["--help"])
    #expect(r.status == 0)
    #expect(
      squashed(r.stdout).contains("A content-addressed, git-like store for training checkpoints."))
    for (command, _) in Self.abstracts {
      #expect(r.stdout.contains("  \(command) "), "\(command) missing from ckstore --help")
    }
    let v = try CLI.run(["--version"])
    #expect(v.status == 0 && !v.stdout.isEmpty)
  }
}
