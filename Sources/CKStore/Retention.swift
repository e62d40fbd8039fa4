/// Which commits keep their tensor data (like restic's `forget`); `Store.gc` then frees what no
/// kept commit uses. Branch heads and tagged commits always keep their data.
public struct RetentionPolicy: Equatable, Sendable {
  /// Keep the newest N commits of each branch under the policy (first-parent order); nil keeps
  /// all, unless `keepEvery` is set, in which case only the head and the multiples are kept.
  public var keepLast: Int?
  /// Also keep every commit whose step is a multiple of K; nil disables.
  public var keepEvery: Int64?
  /// The branches the policy applies to; nil means every branch. Commits reachable from any
  /// other branch or from a tag are kept.
  public var branches: [String]?

  /// A policy; with no arguments it keeps everything.
  public init(keepLast: Int? = nil, keepEvery: Int64? = nil, branches: [String]? = nil) {
    self.keepLast = keepLast
    self.keepEvery = keepEvery
    self.branches = branches
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
    if policy.keepLast == nil && policy.keepEvery == nil { return [] }
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
      for (index, c) in try history(from: branch.id).enumerated() {
        let kept =
          index == 0 || index < (policy.keepLast ?? (policy.keepEvery == nil ? .max : 1))
          || (policy.keepEvery.map { $0 > 0 && c.step % $0 == 0 } ?? false)
        if kept { keep.insert(c.id) } else { candidates[c.id] = c }
      }
    }
    return candidates.values.filter { !keep.contains($0.id) && !isPruned($0.id) }
      .sorted { $0.step < $1.step }
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
