import CKStore
import Foundation
import Testing

@Suite struct RevisionTests {
  @Test func branchesTagsIdsStepsAndAncestors() throws {
    let t = try TempStore(chunkSize: 4096)
    var main: [Commit] = []
    for step in Int64(1)...5 {
      main.append(
        try t.store.commit(
          [try Make.float32("w", [4], seed: UInt64(step))], to: "main", step: step * 10))
    }
    try t.store.createBranch("exp", at: main[1].id)  // step 20
    let e1 = try t.store.commit([try Make.float32("w", [4], seed: 99)], to: "exp", step: 30)
    try t.store.createTag("best", at: main[2].id)
    let store = try t.reopen()

    #expect(try store.resolve("main") == main[4])
    #expect(try store.resolve("HEAD") == main[4])
    #expect(try store.resolve("exp") == e1)
    #expect(try store.resolve("best") == main[2])
    #expect(try store.resolve("refs/heads/exp") == e1)
    #expect(try store.resolve("refs/tags/best") == main[2])
    // Full and abbreviated ids, any case.
    for c in main + [e1] {
      #expect(try store.resolve(c.id.hex) == c)
      #expect(try store.resolve(c.id.hex.uppercased()) == c)
      #expect(try store.resolve(c.id.short) == c)
    }
    // step-N on the current branch; BRANCH:step-N on another.
    #expect(try store.resolve("step-30") == main[2])
    #expect(try store.resolve("main:step-30") == main[2])
    #expect(try store.resolve("exp:step-30") == e1)
    #expect(try store.resolve("exp:step-10") == main[0])
    try store.checkout(branch: "exp")
    #expect(try store.currentBranch() == "exp")
    #expect(try store.resolve("step-30") == e1)
    #expect(try store.resolve("HEAD") == e1)
    try store.checkout(branch: "main")
    // REV~N.
    #expect(try store.resolve("main~0") == main[4])
    #expect(try store.resolve("main~") == main[3])
    #expect(try store.resolve("main~4") == main[0])
    #expect(try store.resolve("best~2") == main[0])
    #expect(try store.resolve("exp~1") == main[1])
    #expect(try store.resolve("step-40~2") == main[1])
    #expect(try store.resolve("exp:step-30~2") == main[0])
    #expect(try store.resolve(main[3].id.short + "~1") == main[2])
    #expect(try store.resolve("main~1~1") == main[2])
  }

  @Test func unknownRevisionsNameTheRevision() throws {
    let t = try TempStore(chunkSize: 4096)
    let c = try t.store.commit([try Make.float32("w", [4], seed: 1)], to: "main", step: 1)
    let empty = try TempStore(chunkSize: 4096)
    #expect(storeError { try empty.store.resolve("HEAD") }?.code == .unknownRevision)
    #expect(storeError { try empty.store.resolve("main") }?.code == .unknownRevision)

    // A hex prefix of a tree or chunk id is not a commit.
    let treePrefix = String(c.tree.hex.prefix(16))
    let chunkPrefix = String(try t.store.tensorInfo(named: "w", in: c).chunks[0].hex.prefix(16))
    let unusedPrefix = ["0000", "ffff", "abcd"].first { !c.id.hex.hasPrefix($0) }!
    for revision in [
      "nope", "step-99", "main:step-99", "ghost:step-1", "main~5", "refs/heads/ghost",
      treePrefix, chunkPrefix, unusedPrefix, "step-x", "main~x", "../config",
    ] {
      let error = storeError { try t.store.resolve(revision) }
      #expect(error?.code == .unknownRevision, "\(revision): \(String(describing: error))")
      #expect(
        error?.message.contains(revision) == true, "\(revision): \(String(describing: error))")
    }
  }

  @Test func unknownBaseOfAnAncestorIsNamed() throws {
    let t = try TempStore(chunkSize: 4096)
    try t.store.commit([try Make.float32("w", [4], seed: 1)], to: "main", step: 1)
    let error = storeError { try t.store.resolve("nope~1") }
    #expect(error?.code == .unknownRevision)
    #expect(error?.message.contains("nope") == true)
  }

  /// Commits whose ids share their first four hex digits make that prefix ambiguous: the error
  /// lists every candidate; a longer prefix picks one.
  @Test func ambiguousPrefixListsTheCandidates() throws {
    let t = try TempStore(chunkSize: 4096)
    let tensors = [try Make.float32("w", [4], seed: 1)]
    var byPrefix: [String: Commit] = [:]
    var pair: (Commit, Commit)?
    let w = try t.store.writer(branch: "main")
    var n: Int64 = 0
    while pair == nil && n < 5000 {
      let c = try w.commit(tensors, step: n, message: "attempt \(n)")
      let prefix = String(c.id.hex.prefix(4))
      if let other = byPrefix[prefix] { pair = (other, c) } else { byPrefix[prefix] = c }
      n += 1
    }
    w.close()
    let (a, b) = try #require(pair)
    let prefix = String(a.id.hex.prefix(4))
    #expect(b.id.hex.hasPrefix(prefix))

    let error = storeError { try t.store.resolve(prefix) }
    #expect(error?.code == .ambiguousRevision)
    #expect(error?.message.contains(prefix) == true)
    #expect(error?.message.contains(a.id.short) == true, "\(String(describing: error))")
    #expect(error?.message.contains(b.id.short) == true, "\(String(describing: error))")
    #expect(storeError { try t.store.resolve(prefix.uppercased()) }?.code == .ambiguousRevision)
    #expect(storeError { try t.store.resolve(prefix + "~1") }?.code == .ambiguousRevision)

    // The shortest prefixes that tell them apart resolve each to its own commit.
    let common = zip(a.id.hex, b.id.hex).prefix { $0 == $1 }.count
    #expect(try t.store.resolve(String(a.id.hex.prefix(common + 1))) == a)
    #expect(try t.store.resolve(String(b.id.hex.prefix(common + 1))) == b)
  }
}
