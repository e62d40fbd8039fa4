import CKStore
import Foundation
import Testing

/// Store-level refs, revisions and suggestions behind `tag`, `branch`, `switch`, `reflog`, `log`.
@Suite struct RefsNavigationTests {
  @Test func suggestionsUseEditDistanceWithSwapsAndALengthLimit() {
    #expect(
      Suggestion.closest(to: "stauts", among: ["stats", "status", "show", "tag"])
        == ["stats", "status"])
    #expect(Suggestion.closest(to: "mian", among: ["main", "exp"]) == ["main"])
    #expect(Suggestion.closest(to: "x", among: ["main"]).isEmpty)
    #expect(Suggestion.hint(for: "main", among: ["main"]).isEmpty)
    #expect(Suggestion.hint(for: "lgo", among: ["log"]) == "; did you mean 'log'?")
  }

  @Test func renameKeepsTheReflogAndDeleteDropsIt() throws {
    let t = try TempStore()
    let c1 = try t.store.commit([try Make.float32("w", [4], seed: 1)], to: "main", step: 1)
    let c2 = try t.store.commit([try Make.float32("w", [4], seed: 2)], to: "main", step: 2)
    let change = try t.store.renameBranch("main", to: "trunk")
    #expect(change.action == .renamed && change.oldName == "main" && change.new == c2.id)
    #expect(try t.store.currentBranch() == "trunk")
    let log = try t.store.reflog(ref: "trunk")
    #expect(log.ref == "refs/heads/trunk")
    #expect(log.entries.map(\.new) == [c1.id, c2.id, c2.id])
    #expect(try t.store.reflog(branch: "main").isEmpty)

    try t.store.createBranch("exp", at: c1.id)
    try t.store.deleteBranch("exp", force: false)
    #expect(try t.store.head(of: "exp") == nil)
    #expect(try t.store.reflog(branch: "exp").isEmpty)
    // A new branch of the same name starts a fresh reflog.
    try t.store.createBranch("exp", at: c2.id)
    #expect(try t.store.reflog(branch: "exp").map(\.new) == [c2.id])
  }

  @Test func deleteWaitsForTheRefLockAndRefusesALockedRef() throws {
    let t = try TempStore()
    let c1 = try t.store.commit([try Make.float32("w", [4], seed: 1)], to: "main", step: 1)
    try t.store.setTag("v1", at: c1.id, force: false)
    // A live writer's lock: another open file description holding flock on v1.lock.
    let lockPath = t.path + "/refs/tags/v1.lock"
    let fd = open(lockPath, O_CREAT | O_RDWR, 0o644)
    #expect(fd >= 0 && flock(fd, LOCK_EX) == 0)
    let error = #expect(throws: StoreError.self) { try t.store.deleteTag("v1") }
    #expect(error?.code == .locked)
    #expect(try t.store.tags().map(\.name) == ["v1"])
    flock(fd, LOCK_UN)
    close(fd)
    unlink(lockPath)
    try t.store.deleteTag("v1")
    #expect(try t.store.tags().isEmpty)
  }

  @Test func allCommitsListsChildrenBeforeParentsNewestFirst() throws {
    let t = try TempStore()
    let c1 = try t.store.commit([try Make.float32("w", [4], seed: 1)], to: "main", step: 1)
    try t.store.createBranch("exp", at: c1.id)
    let e1 = try t.store.commit([try Make.float32("w", [4], seed: 3)], to: "exp", step: 2)
    let c2 = try t.store.commit([try Make.float32("w", [4], seed: 2)], to: "main", step: 3)
    #expect(try t.store.allCommits().map(\.id) == [c2.id, e1.id, c1.id])
    #expect(try t.store.history(range: "exp..main").map(\.id) == [c2.id])
    #expect(try t.store.history(range: "main..exp").map(\.id) == [e1.id])
    #expect(try t.store.ancestors(of: [c2.id]) == [c2.id, c1.id])
  }

  @Test func refNamesMayNotHoldTheReflogSyntax() throws {
    let t = try TempStore()
    let error = #expect(throws: StoreError.self) {
      try t.store.createBranch("a@{1}", at: ObjectID(hex: String(repeating: "0", count: 64))!)
    }
    #expect(error?.code == .invalidName)
  }
}

#if canImport(Glibc)
  import Glibc
#endif
