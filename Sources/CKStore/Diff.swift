/// One tensor's difference between two commits.
public struct TensorDiff: Equatable, Sendable {
  /// What happened to the tensor.
  public enum Change: String, Sendable, Codable {
    /// Only in B.
    case added
    /// Only in A.
    case removed
    /// In both, with different data, dtype or shape.
    case changed
  }

  /// The tensor's name.
  public var name: String
  /// What happened.
  public var change: Change
  /// The entry in A (nil when added).
  public var old: TensorInfo?
  /// The entry in B (nil when removed).
  public var new: TensorInfo?
  /// Numeric statistics, for changed tensors whose shape stayed the same and whose dtypes both
  /// have scalar values.
  public var statistics: DiffStatistics?

  /// Whether the dtype changed.
  public var dtypeChanged: Bool { old != nil && new != nil && old!.dtype != new!.dtype }
  /// Whether the shape changed.
  public var shapeChanged: Bool { old != nil && new != nil && old!.shape != new!.shape }
}

/// The difference between two commits' trees.
public struct SnapshotDiff: Equatable, Sendable {
  /// Added, removed and changed tensors, sorted by name.
  public var tensors: [TensorDiff]
  /// Tensors present in both with identical data, sorted by name, including every tensor inside
  /// an unchanged subtree (listed from the tree objects; tensor data is never read).
  public var unchangedTensors: [String]
  /// Subtrees identical in both (recognised by id, their data never read), as name prefixes
  /// such as `model.encoder.`, sorted; empty when the whole trees are equal.
  public var unchangedSubtrees: [String]

  /// Whether the two trees hold exactly the same tensors (within the paths compared).
  public var isIdentical: Bool { tensors.isEmpty }
}

extension Store {
  /// Compares two commits tensor by tensor.
  ///
  /// Identical subtrees and tensors are recognised by id without reading their data; only
  /// changed tensors are read, and only when `statistics` is true. Tensors of different dtypes
  /// but the same shape are compared after widening both to Double. A tensor stored in another
  /// layout with the same bytes (whole in one commit, sliced by a sharded commit in the other)
  /// is then found unchanged; without statistics it is reported changed. `paths`, when not
  /// empty, limits the comparison to tensors whose name starts with one of them.
  public func diff(_ a: Commit, _ b: Commit, statistics: Bool = true, paths: [String] = [])
    throws -> SnapshotDiff
  {
    try requireData(a)
    try requireData(b)
    var result = SnapshotDiff(tensors: [], unchangedTensors: [], unchangedSubtrees: [])
    try diffTrees(a.tree, b.tree, prefix: "", into: &result)
    if !paths.isEmpty {
      let wanted = { (name: String) in paths.contains { name.hasPrefix($0) } }
      result.tensors.removeAll { !wanted($0.name) }
      result.unchangedTensors.removeAll { !wanted($0) }
      result.unchangedSubtrees.removeAll { subtree in
        !paths.contains { subtree.hasPrefix($0) || $0.hasPrefix(subtree) }
      }
    }
    if statistics {
      for i in result.tensors.indices {
        let d = result.tensors[i]
        guard d.change == .changed, let old = d.old, let new = d.new,
          old.shape == new.shape, TensorValues.hasScalarValues(old.dtype),
          TensorValues.hasScalarValues(new.dtype)
        else { continue }
        let x = try read(old)
        let y = try read(new)
        result.tensors[i].statistics = x.withUnsafeBytes { xa in
          y.withUnsafeBytes { ya in DiffStatistics.compute(xa, old.dtype, ya, new.dtype) }
        }
      }
      // Same dtype and no element changed means the same bytes in another layout; a dtype
      // change whose values survive widening is still a change.
      let relaidOut = { (d: TensorDiff) in
        d.statistics?.changedElements == 0 && d.old?.dtype == d.new?.dtype
      }
      result.unchangedTensors += result.tensors.filter(relaidOut).map(\.name)
      result.tensors.removeAll(where: relaidOut)
    }
    let byName = { (x: String, y: String) in x.utf8.lexicographicallyPrecedes(y.utf8) }
    result.tensors.sort { byName($0.name, $1.name) }
    result.unchangedTensors.sort(by: byName)
    result.unchangedSubtrees.sort(by: byName)
    return result
  }

  private func diffTrees(
    _ a: ObjectID?, _ b: ObjectID?, prefix: String, into result: inout SnapshotDiff
  ) throws {
    if let a, let b, a == b {
      if !prefix.isEmpty { result.unchangedSubtrees.append(prefix) }
      try listTensors(a, prefix: prefix, into: &result.unchangedTensors)
      return
    }
    let left = try a.map { try tree($0).entries } ?? []
    let right = try b.map { try tree($0).entries } ?? []
    var l = Dictionary(uniqueKeysWithValues: left.map { ($0.key, $0.entry) })
    for (key, entry) in right {
      let other = l.removeValue(forKey: key)
      try diffEntry(other, entry, name: prefix + key, into: &result)
    }
    for (key, entry) in l { try diffEntry(entry, nil, name: prefix + key, into: &result) }
  }

  /// The names of every tensor under a tree, read from the tree objects alone.
  private func listTensors(_ id: ObjectID, prefix: String, into names: inout [String]) throws {
    for (key, entry) in try tree(id).entries {
      switch entry {
      case .tree(let sub): try listTensors(sub, prefix: prefix + key, into: &names)
      case .tensor: names.append(prefix + key)
      }
    }
  }
  private func diffEntry(
    _ a: TreeEntry?, _ b: TreeEntry?, name: String, into result: inout SnapshotDiff
  ) throws {
    func subtree(_ e: TreeEntry?) -> ObjectID? {
      if case .tree(let id)? = e { return id }
      return nil
    }
    func tensor(_ e: TreeEntry?) -> TensorInfo? {
      if case .tensor(var info)? = e {
        info.name = name
        return info
      }
      return nil
    }
    if subtree(a) != nil || subtree(b) != nil {
      try diffTrees(subtree(a), subtree(b), prefix: name, into: &result)
    }
    switch (tensor(a), tensor(b)) {
    case (nil, nil): break
    case (let x?, nil):
      result.tensors.append(TensorDiff(name: name, change: .removed, old: x, new: nil))
    case (nil, let y?):
      result.tensors.append(TensorDiff(name: name, change: .added, old: nil, new: y))
    case (let x?, let y?):
      if x.sameData(as: y) {
        result.unchangedTensors.append(name)
      } else {
        result.tensors.append(TensorDiff(name: name, change: .changed, old: x, new: y))
      }
    }
  }
}
