extension Store {
  /// Resolves a revision to a commit.
  ///
  /// Accepted forms: `HEAD`, a branch, a tag, a full or abbreviated (≥ 4 hex digits) commit id,
  /// `step-N` (the newest commit with step N on the current branch), `BRANCH:step-N`, and any of
  /// these followed by `~N` (N first parents back). An ambiguous prefix throws
  /// `ambiguousRevision` listing the candidates; anything else unknown throws `unknownRevision`.
  public func resolve(_ revision: String) throws -> Commit {
    // `A~2~3` is A, five first parents back. The suffixes are peeled in a loop, not by recursion:
    // a revision of thousands of `~` overflowed the stack (found by fuzzing).
    var base = Substring(revision)
    var back = 0
    while let tilde = base.lastIndex(of: "~") {
      let countText = base[base.index(after: tilde)...]
      guard let n = countText.isEmpty ? 1 : Int(countText), n >= 0 else {
        throw StoreError(.unknownRevision, "bad revision '\(revision)': '~' takes a count")
      }
      // Saturates: no history is Int.max commits deep, so the walk below fails either way.
      back = back.addingReportingOverflow(n).overflow ? .max : back + n
      base = base[..<tilde]
    }
    var c = try resolveWithoutAncestry(String(base))
    for _ in 0..<back {
      guard let parent = c.parents.first else {
        throw StoreError(.unknownRevision, "revision '\(revision)': \(c.id.short) has no parent")
      }
      c = try commit(parent)
    }
    return c
  }

  /// Resolves a revision that has no `~N` suffix.
  private func resolveWithoutAncestry(_ revision: String) throws -> Commit {
    if let colon = revision.firstIndex(of: ":") {
      let branch = String(revision[..<colon])
      let rest = String(revision[revision.index(after: colon)...])
      guard let step = Self.parseStep(rest) else {
        throw StoreError(.unknownRevision, "bad revision '\(revision)': expected BRANCH:step-N")
      }
      return try commit(step: step, onBranch: branch, revision: revision)
    }
    if let step = Self.parseStep(revision) {
      return try commit(step: step, onBranch: try currentBranch(), revision: revision)
    }
    if revision == "HEAD" || revision == "@" {
      let branch = try currentBranch()
      guard let id = try head(of: branch) else {
        throw StoreError(.unknownRevision, "HEAD: branch '\(branch)' has no commits yet")
      }
      return try commit(id)
    }
    for ref in [
      revision, RefStore.branchRef(revision), RefStore.tagRef(revision), "refs/remotes/" + revision,
    ]
    where ref.hasPrefix("refs/") && !ref.contains("..") {
      if let id = try refs.read(ref) { return try commit(id) }
    }
    let lower = revision.lowercased()
    if lower.count >= 4, lower.utf8.allSatisfy({ ObjectID.nibble($0) != nil }) {
      let candidates = objects.ids(withPrefix: lower).filter {
        (try? objects.header($0).kind) == .commit
      }
      if candidates.count == 1 { return try commit(candidates[0]) }
      if candidates.count > 1 {
        let list = candidates.map(\.short).joined(separator: ", ")
        throw StoreError(
          .ambiguousRevision, "revision '\(revision)' is ambiguous; candidates: \(list)")
      }
    }
    throw StoreError(.unknownRevision, "unknown revision '\(revision)' (no branch, tag or commit)")
  }

  private static func parseStep(_ text: String) -> Int64? {
    guard text.hasPrefix("step-") else { return nil }
    return Int64(text.dropFirst(5))
  }

  private func commit(step: Int64, onBranch branch: String, revision: String) throws -> Commit {
    guard let headID = try head(of: branch) ?? refs.read("refs/remotes/" + branch) else {
      throw StoreError(
        .unknownRevision, "revision '\(revision)': branch '\(branch)' does not exist")
    }
    var next: ObjectID? = headID
    while let id = next {
      let c = try commit(id)
      if c.step == step { return c }
      next = c.parents.first
    }
    throw StoreError(
      .unknownRevision, "revision '\(revision)': no commit with step \(step) on branch '\(branch)'")
  }
}
