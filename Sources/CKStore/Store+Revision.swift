extension Store {
  /// Resolves a revision to a commit.
  ///
  /// Accepted forms (docs/FORMAT.md, "Revisions"): `HEAD` (or `@`), a branch, a tag, a full or
  /// abbreviated (≥ 4 hex digits) commit id, `step-N` (the newest commit with step N on the
  /// current branch), `best:METRIC` / `best:METRIC:max` (the commit with the lowest / highest
  /// value of a metric on the current branch's first-parent history, pruned commits excluded),
  /// `BRANCH:step-N`, `BRANCH:best:…`, `REF@{N}` (the N-th newest entry of a ref's reflog), and
  /// any of these followed by `~N` (N first parents back), `^N` (the N-th parent) or `^`.
  /// An ambiguous prefix throws `ambiguousRevision` listing the candidates; anything else
  /// unknown throws `unknownRevision`, suggesting close branch and tag names.
  public func resolve(_ revision: String) throws -> Commit {
    // `A~2^2` is A's second first-parent's second parent. The suffixes are peeled in a loop,
    // not by recursion: a revision of thousands of `~` overflowed the stack (found by fuzzing).
    var base = Substring(revision)
    var steps: [(parent: Bool, count: Int)] = []
    while let mark = base.lastIndex(where: { $0 == "~" || $0 == "^" }) {
      let countText = base[base.index(after: mark)...]
      guard let n = countText.isEmpty ? 1 : Int(countText), n >= 0 else {
        throw StoreError(
          .unknownRevision, "bad revision '\(revision)': '\(base[mark])' takes a count")
      }
      steps.append((base[mark] == "^", n))
      base = base[..<mark]
    }
    var c = try resolveBase(String(base), revision: revision)
    for step in steps.reversed() {
      if step.parent {
        guard step.count > 0 else { continue }
        guard step.count <= c.parents.count else {
          throw StoreError(
            .unknownRevision,
            "revision '\(revision)': \(c.id.short) has \(c.parents.count) parents, "
              + "not \(step.count)")
        }
        c = try commit(c.parents[step.count - 1])
        continue
      }
      for _ in 0..<step.count {
        guard let parent = c.parents.first else {
          throw StoreError(.unknownRevision, "revision '\(revision)': \(c.id.short) has no parent")
        }
        c = try commit(parent)
      }
    }
    return c
  }

  /// Resolves a revision that has no `~N`/`^N` suffix.
  private func resolveBase(_ text: String, revision: String) throws -> Commit {
    if text.hasSuffix("}"), let at = text.range(of: "@{", options: .backwards) {
      guard let n = Int(text[at.upperBound..<text.index(before: text.endIndex)]), n >= 0 else {
        throw StoreError(.unknownRevision, "bad revision '\(revision)': '@{N}' takes a count")
      }
      return try reflogEntry(String(text[..<at.lowerBound]), n, revision: revision)
    }
    if text.hasPrefix("best:") {
      return try best(text.dropFirst(5), onBranch: try currentBranch(), revision: revision)
    }
    if let colon = text.firstIndex(of: ":") {
      let branch = String(text[..<colon])
      let rest = text[text.index(after: colon)...]
      if rest.hasPrefix("best:") {
        return try best(rest.dropFirst(5), onBranch: branch, revision: revision)
      }
      guard let step = Self.parseStep(String(rest)) else {
        throw StoreError(
          .unknownRevision,
          "bad revision '\(revision)': expected BRANCH:step-N or BRANCH:best:METRIC")
      }
      return try commit(step: step, onBranch: branch, revision: revision)
    }
    if let step = Self.parseStep(text) {
      return try commit(step: step, onBranch: try currentBranch(), revision: revision)
    }
    if text == "HEAD" || text == "@" {
      let branch = try currentBranch()
      guard let id = try head(of: branch) else {
        throw StoreError(.unknownRevision, "HEAD: branch '\(branch)' has no commits yet")
      }
      return try commit(id)
    }
    for ref in [text, RefStore.branchRef(text), RefStore.tagRef(text), "refs/remotes/" + text]
    where ref.hasPrefix("refs/") && !ref.contains("..") {
      if let id = try refs.read(ref) { return try commit(id) }
    }
    let lower = text.lowercased()
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
    throw StoreError(
      .unknownRevision,
      "unknown revision '\(revision)' (no branch, tag or commit)"
        + Suggestion.hint(for: text, among: refNames() + ["HEAD"]))
  }

  /// Every branch and tag name, for suggestions.
  func refNames() -> [String] {
    ((try? branches()) ?? []).map(\.name) + ((try? tags()) ?? []).map(\.name)
  }

  private static func parseStep(_ text: String) -> Int64? {
    guard text.hasPrefix("step-") else { return nil }
    return Int64(text.dropFirst(5))
  }

  /// The full ref a user's name means: HEAD and "" are the current branch, then a branch, then
  /// a tag. Nil when it names nothing.
  func refPath(for name: String) throws -> String? {
    if name.isEmpty || name == "HEAD" || name == "@" {
      return RefStore.branchRef(try currentBranch())
    }
    if name.hasPrefix("refs/") && !name.contains(".."), try refs.read(name) != nil {
      return name
    }
    for ref in [RefStore.branchRef(name), RefStore.tagRef(name)] {
      if try refs.read(ref) != nil { return ref }
    }
    return nil
  }

  private func reflogEntry(_ name: String, _ n: Int, revision: String) throws -> Commit {
    guard let ref = try refPath(for: name) else {
      throw StoreError(
        .unknownRevision,
        "revision '\(revision)': no branch or tag '\(name)'"
          + Suggestion.hint(for: name, among: refNames()))
    }
    let entries = try refs.log(ref)
    guard n < entries.count else {
      throw StoreError(
        .unknownRevision,
        "revision '\(revision)': the reflog of \(ref) has \(entries.count) entries (0 is newest)")
    }
    return try commit(entries[entries.count - 1 - n].new)
  }

  private func requireBranchHead(_ branch: String, revision: String) throws -> ObjectID {
    guard let headID = try head(of: branch) ?? refs.read("refs/remotes/" + branch) else {
      let names = ((try? branches()) ?? []).map(\.name)
      throw StoreError(
        .unknownRevision,
        "revision '\(revision)': branch '\(branch)' does not exist or has no commits"
          + Suggestion.hint(for: branch, among: names))
    }
    return headID
  }

  private func commit(step: Int64, onBranch branch: String, revision: String) throws -> Commit {
    var next: ObjectID? = try requireBranchHead(branch, revision: revision)
    while let id = next {
      let c = try commit(id)
      if c.step == step { return c }
      next = c.parents.first
    }
    throw StoreError(
      .unknownRevision, "revision '\(revision)': no commit with step \(step) on branch '\(branch)'")
  }

  /// `best:METRIC[:min|:max]` on a branch: the first-parent commit, not pruned, with the lowest
  /// (or highest) finite-or-infinite, non-NaN value of the metric; ties go to the newest.
  private func best(_ spec: Substring, onBranch branch: String, revision: String) throws
    -> Commit
  {
    var metric = String(spec)
    var maximize = false
    if metric.hasSuffix(":max") || metric.hasSuffix(":min") {
      maximize = metric.hasSuffix(":max")
      metric.removeLast(4)
    }
    guard !metric.isEmpty else {
      throw StoreError(.unknownRevision, "bad revision '\(revision)': best: needs a metric name")
    }
    var next: ObjectID? = try requireBranchHead(branch, revision: revision)
    var winner: (commit: Commit, value: Double)?
    var seen = Set<String>()
    while let id = next {
      let c = try commit(id)
      next = c.parents.first
      seen.formUnion(c.metrics.keys)
      guard let value = c.metrics[metric], !value.isNaN, !isPruned(c.id) else { continue }
      if let w = winner, maximize ? value <= w.value : value >= w.value { continue }
      winner = (c, value)
    }
    guard let winner else {
      throw StoreError(
        .unknownRevision,
        "revision '\(revision)': no commit on branch '\(branch)' with data has metric '\(metric)'"
          + Suggestion.hint(for: metric, among: Array(seen)))
    }
    return winner.commit
  }
}
