import Foundation

/// Which commits keep their tensor data (like restic's `forget`); `Store.gc` then frees what no
/// kept commit uses. Branch heads and tagged commits always keep their data.
public struct RetentionPolicy: Equatable, Sendable {
  /// Keep the newest N commits of each branch under the policy (first-parent order); nil keeps
  /// all, unless another rule is set, in which case only the head and what those rules keep stay.
  public var keepLast: Int?
  /// Also keep every commit whose step is a multiple of K; nil disables.
  public var keepEvery: Int64?
  /// The branches the policy applies to; nil means every branch. Commits reachable from any
  /// other branch or from a tag are kept.
  public var branches: [String]?
  /// Also keep, per branch, the best N commits by each rule's metric (among those with data).
  public var keepBest: [KeepBest]
  /// Also keep every commit of a branch made at most this many seconds before the newest commit
  /// of that branch (restic's `--keep-within`: relative to the newest commit, not to now).
  public var keepWithin: TimeInterval?

  /// A policy; with no arguments it keeps everything.
  public init(
    keepLast: Int? = nil, keepEvery: Int64? = nil, branches: [String]? = nil,
    keepBest: [KeepBest] = [], keepWithin: TimeInterval? = nil
  ) {
    self.keepLast = keepLast
    self.keepEvery = keepEvery
    self.branches = branches
    self.keepBest = keepBest
    self.keepWithin = keepWithin
  }

  /// Whether any rule is set (a policy with none keeps everything).
  var hasRules: Bool { keepLast != nil || hasRulesBesidesLast }

  /// Whether a rule other than `keepLast` is set: then an unset `keepLast` means 1 (the head).
  var hasRulesBesidesLast: Bool { keepEvery != nil || !keepBest.isEmpty || keepWithin != nil }

  /// The ids of `history` (one branch, newest first) that the rules keep; the union of each
  /// rule's set. `isPruned` excludes commits without data from the metric ranking.
  func kept(_ history: [Commit], isPruned: (ObjectID) -> Bool) -> Set<ObjectID> {
    let last = keepLast ?? (hasRulesBesidesLast ? 1 : .max)
    var keep = Set(history.prefix(max(1, last)).map(\.id))
    if let keepEvery, keepEvery > 0 {
      keep.formUnion(history.filter { $0.step % keepEvery == 0 }.map(\.id))
    }
    let withData = history.filter { !isPruned($0.id) }
    for rule in keepBest { keep.formUnion(rule.best(of: withData)) }
    if let keepWithin, let newest = history.map(\.time).max() {
      let cutoff = newest.addingTimeInterval(-keepWithin)
      keep.formUnion(history.filter { $0.time >= cutoff }.map(\.id))
    }
    return keep
  }
}

extension Store {
  /// Commits reachable from refs (all parents), as id → commit. `strict` (for anything that
  /// deletes or prunes) throws if a ref cannot be read: what it names must not be taken for
  /// garbage. Otherwise unreadable refs are skipped.
  func reachableCommits(strict: Bool = true) throws -> [ObjectID: Commit] {
    var seen: [ObjectID: Commit] = [:]
    let heads =
      strict
      ? try refs.list("refs/heads") + refs.list("refs/tags") + refs.list("refs/remotes")
      : try branches() + tags() + refs.scan("refs/remotes").refs
    var stack = heads.map(\.id)
    while let id = stack.popLast() {
      if seen[id] != nil { continue }
      let c = try commit(id)
      seen[id] = c
      stack.append(contentsOf: c.parents)
    }
    return seen
  }

  /// The commits the policy would prune now: reachable, not yet pruned, and kept by no rule.
  public func commitsToPrune(_ policy: RetentionPolicy) throws -> [Commit] {
    if !policy.hasRules { return [] }
    // Strict: a branch or tag that cannot be read might protect commits this would prune.
    let all = try refs.list("refs/heads")
    let governed = Set(policy.branches ?? all.map(\.name))
    var keep = Set(try refs.list("refs/tags").map(\.id))
    var candidates: [ObjectID: Commit] = [:]
    // Everything another branch can reach keeps its data; walked with its own visited set, since
    // `keep` may already hold a commit whose ancestors this walk still has to reach.
    var protected = Set<ObjectID>()
    for branch in all where !governed.contains(branch.name) {
      var stack = [branch.id]
      while let id = stack.popLast() {
        if !protected.insert(id).inserted { continue }
        stack.append(contentsOf: try commit(id).parents)
      }
    }
    keep.formUnion(protected)
    for branch in all where governed.contains(branch.name) {
      let line = try history(from: branch.id)
      let kept = policy.kept(line) { isPruned($0) }
      for c in line {
        if kept.contains(c.id) { keep.insert(c.id) } else { candidates[c.id] = c }
      }
    }
    return candidates.values.filter { !keep.contains($0.id) && !isPruned($0.id) }
      .sorted { $0.step < $1.step }
  }

  /// Applies `policy` once a checkpoint is saved as `commit` on `branch`, after `first` (what the
  /// saver does with the saved commit): a gc runs only when the policy prunes something, since
  /// most saves prune nothing and a gc walks every live object. A failure of either is reported
  /// as a warning naming the checkpoint, not thrown: the checkpoint is durable either way.
  public func retain(
    afterSaving commit: Commit, on branch: String, _ policy: RetentionPolicy,
    first: () throws -> Void = {}
  ) {
    do {
      try first()
      if try !commitsToPrune(policy).isEmpty { _ = try gc(policy: policy) }
    } catch {
      report(
        StoreWarning(
          "checkpoint step-\(commit.step) was saved as \(commit.id.short) on '\(branch)', but "
            + "applying retention after it failed: \(error)"))
    }
  }

  /// Marks the commits the policy drops as pruned (their data is freed by the next `gc`); returns
  /// them. Their metadata stays in `log`.
  @discardableResult
  public func applyRetention(_ policy: RetentionPolicy) throws -> [Commit] {
    let drop = try commitsToPrune(policy)
    try markPruned(drop)
    return drop
  }

  /// Marks `commits` pruned, all or none: on a failure the markers this call created are removed
  /// before the error is rethrown, so a failed retention changes nothing.
  func markPruned(_ commits: [Commit]) throws {
    guard !commits.isEmpty else { return }
    var created: [ObjectID] = []
    do {
      for c in commits where !isPruned(c.id) {
        try markPruned(c.id)
        created.append(c.id)
      }
      // Durable before gc deletes anything on their strength.
      try FileIO.syncDirectory(root + "/pruned")
    } catch {
      for id in created { try? FileIO.remove(root + "/pruned/" + id.hex) }
      throw error
    }
  }
}
