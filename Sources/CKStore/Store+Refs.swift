/// What a ref command did, for the CLI's text and JSON reports.
public struct RefChange: Equatable, Sendable {
  /// The ref's namespace.
  public enum Kind: String, Sendable {
    /// Under `refs/heads/`.
    case branch
    /// Under `refs/tags/`.
    case tag
  }
  /// What happened to the ref.
  public enum Action: String, Sendable {
    /// The ref did not exist before.
    case created
    /// The ref moved to another commit.
    case updated
    /// The ref is gone.
    case deleted
    /// The ref has a new name (`oldName` is the old one).
    case renamed
    /// The ref already named that commit.
    case unchanged
  }

  /// Branch or tag.
  public var kind: Kind
  /// The ref's name after the change (its old name for a deletion).
  public var name: String
  /// What happened.
  public var action: Action
  /// The commit it named before (nil: it did not exist).
  public var old: ObjectID?
  /// The commit it names after (nil: it no longer exists).
  public var new: ObjectID?
  /// The name before a rename.
  public var oldName: String?

  /// A change record; `oldName` only for renames.
  public init(
    kind: Kind, name: String, action: Action, old: ObjectID?, new: ObjectID?,
    oldName: String? = nil
  ) {
    self.kind = kind
    self.name = name
    self.action = action
    self.old = old
    self.new = new
    self.oldName = oldName
  }
}

extension Store {
  /// Creates a tag, or with `force` moves an existing one. Deleting or moving a tag lets gc free
  /// the data only it kept.
  @discardableResult
  public func setTag(_ name: String, at id: ObjectID, force: Bool) throws -> RefChange {
    try RefName.validate(name, kind: "tag")
    _ = try commit(id)
    let ref = RefStore.tagRef(name)
    let old = try refs.read(ref)
    if old != nil && !force {
      throw StoreError(
        .invalidArgument, "tag '\(name)' already exists (at \(old!.short)); -f moves it")
    }
    let change = RefChange(
      kind: .tag, name: name, action: old == nil ? .created : (old == id ? .unchanged : .updated),
      old: old, new: id)
    if old == id { return change }
    try refs.update(ref, to: id, expected: old, message: old == nil ? "tag: created" : "tag: moved")
    return change
  }

  /// Deletes a tag (and its reflog); the next gc frees data that only this tag kept.
  @discardableResult
  public func deleteTag(_ name: String) throws -> RefChange {
    let ref = RefStore.tagRef(name)
    guard let old = try refs.read(ref) else {
      throw StoreError(
        .unknownRevision,
        "no tag '\(name)'" + Suggestion.hint(for: name, among: try tags().map(\.name)))
    }
    try refs.delete(ref, expected: old)
    return RefChange(kind: .tag, name: name, action: .deleted, old: old, new: nil)
  }

  /// Deletes a branch and its reflog. Refuses the current branch, and, unless `force`, a branch
  /// whose deletion would leave commits with data reachable from no other branch or tag (gc
  /// would free them): the error counts them.
  @discardableResult
  public func deleteBranch(_ name: String, force: Bool) throws -> RefChange {
    let ref = RefStore.branchRef(name)
    guard let old = try refs.read(ref) else {
      throw StoreError(
        .unknownRevision,
        "no branch '\(name)'" + Suggestion.hint(for: name, among: try branches().map(\.name)))
    }
    if try currentBranch() == name {
      throw StoreError(
        .invalidArgument, "cannot delete branch '\(name)': it is the current branch; switch first")
    }
    if !force {
      var others = Set<ObjectID>()
      for (branch, id) in try refs.list("refs/heads") where branch != name { others.insert(id) }
      for (_, id) in try refs.list("refs/tags") { others.insert(id) }
      let kept = try ancestors(of: Array(others))
      let lost = try ancestors(of: [old]).subtracting(kept).filter { !isPruned($0) }
      if !lost.isEmpty {
        throw StoreError(
          .invalidArgument,
          "branch '\(name)' holds \(lost.count) commits with data that no other branch or tag "
            + "reaches (gc would free them); merge or tag them, or delete with -D")
      }
    }
    try refs.delete(ref, expected: old)
    return RefChange(kind: .branch, name: name, action: .deleted, old: old, new: nil)
  }

  /// Renames a branch: the new ref is created (compare-and-swap against nothing) with the old
  /// reflog, HEAD follows if it named the branch, then the old ref is removed.
  @discardableResult
  public func renameBranch(_ name: String, to newName: String) throws -> RefChange {
    try RefName.validate(newName, kind: "branch")
    let from = RefStore.branchRef(name)
    let to = RefStore.branchRef(newName)
    guard let id = try refs.read(from) else {
      throw StoreError(
        .unknownRevision,
        "no branch '\(name)'" + Suggestion.hint(for: name, among: try branches().map(\.name)))
    }
    if try refs.read(to) != nil {
      throw StoreError(.invalidArgument, "branch '\(newName)' already exists")
    }
    let followHead = try currentBranch() == name
    try refs.update(
      to, to: id, expected: nil, message: "branch: renamed from \(name)",
      alongside: {
        try self.refs.copyLog(from, to: to)
        if followHead { try self.refs.setHead(branch: newName) }
      })
    try refs.delete(from, expected: id)
    return RefChange(
      kind: .branch, name: newName, action: .renamed, old: id, new: id, oldName: name)
  }

  /// The reflog of a branch or tag (HEAD: the current branch), oldest first, and the ref's path.
  public func reflog(ref name: String) throws -> (ref: String, entries: [RefLogEntry]) {
    guard let ref = try refPath(for: name) else {
      throw StoreError(
        .unknownRevision,
        "no branch or tag '\(name)'" + Suggestion.hint(for: name, among: refNames()))
    }
    return (ref, try refs.log(ref))
  }

  /// Every commit reachable from `starts` through all parents, `starts` included.
  public func ancestors(of starts: [ObjectID]) throws -> Set<ObjectID> {
    var seen = Set<ObjectID>()
    var stack = starts
    while let id = stack.popLast() {
      guard seen.insert(id).inserted else { continue }
      stack.append(contentsOf: try commit(id).parents)
    }
    return seen
  }

  /// `A..B`: B's first-parent history, newest first, without the commits reachable from A
  /// (through all parents). An empty side means HEAD.
  public func history(range text: String, limit: Int = .max) throws -> [Commit] {
    guard let dots = text.range(of: "..") else {
      return try history(from: resolve(text).id, limit: limit)
    }
    let left = String(text[..<dots.lowerBound])
    let right = String(text[dots.upperBound...])
    let exclude = try ancestors(of: [resolve(left.isEmpty ? "HEAD" : left).id])
    var out: [Commit] = []
    var next: ObjectID? = try resolve(right.isEmpty ? "HEAD" : right).id
    while let id = next, out.count < limit, !exclude.contains(id) {
      let c = try commit(id)
      out.append(c)
      next = c.parents.first
    }
    return out
  }

  /// Every commit reachable from any branch or tag, children before parents and otherwise
  /// newest first (by time, then step): the order `log --all` prints.
  public func allCommits() throws -> [Commit] {
    var commits: [ObjectID: Commit] = [:]
    var stack = try branches().map(\.id) + tags().map(\.id)
    while let id = stack.popLast() {
      guard commits[id] == nil else { continue }
      let c = try commit(id)
      commits[id] = c
      stack.append(contentsOf: c.parents)
    }
    var children: [ObjectID: Int] = [:]
    for c in commits.values { for p in Set(c.parents) { children[p, default: 0] += 1 } }
    let newer = { (x: Commit, y: Commit) -> Bool in
      (x.time, x.step, x.id.hex) > (y.time, y.step, y.id.hex)
    }
    // Ready commits (every child printed), kept sorted oldest first so the newest pops.
    var ready = commits.values.filter { children[$0.id, default: 0] == 0 }.sorted {
      newer($1, $0)
    }
    var out: [Commit] = []
    while let c = ready.popLast() {
      out.append(c)
      for p in Set(c.parents) {
        children[p]! -= 1
        guard children[p] == 0, let parent = commits[p] else { continue }
        let at = ready.firstIndex { newer($0, parent) } ?? ready.endIndex
        ready.insert(parent, at: at)
      }
    }
    return out
  }
}
