/// How two tensors of the same dtype and shape differ, elementwise, computed in Double.
public struct DiffStatistics: Equatable, Sendable, Codable {
  /// ‖B − A‖₂.
  public var l2: Double
  /// ‖B − A‖₂ / ‖A‖₂ (infinite when A is all zeros and B is not).
  public var relative: Double
  /// max |B − A|.
  public var maxAbs: Double
  /// Elements whose bytes differ.
  public var changedElements: Int
  /// All elements.
  public var elements: Int

  /// changedElements / elements.
  public var changedFraction: Double {
    elements == 0 ? 0 : Double(changedElements) / Double(elements)
  }

  /// Statistics of `b − a` for two canonical buffers of `dtype` with the same element count.
  public static func compute(
    _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, dtype: DType
  ) -> DiffStatistics {
    let n = a.count / dtype.size
    var sumSq = 0.0
    var baseSq = 0.0
    var maxAbs = 0.0
    var changed = 0
    let size = dtype.size
    for i in 0..<n {
      if memcmp(a.baseAddress! + i * size, b.baseAddress! + i * size, size) != 0 { changed += 1 }
      let x = TensorValues.value(a, dtype, i)
      let d = TensorValues.value(b, dtype, i) - x
      sumSq += d * d
      baseSq += x * x
      maxAbs = max(maxAbs, abs(d))
    }
    let l2 = sumSq.squareRoot()
    let relative = baseSq > 0 ? l2 / baseSq.squareRoot() : (l2 > 0 ? .infinity : 0)
    return DiffStatistics(
      l2: l2, relative: relative, maxAbs: maxAbs, changedElements: changed, elements: n)
  }
}

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
  /// Numeric statistics, for changed tensors whose dtype and shape stayed the same.
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
  /// Tensors present in both with identical data (recognised by id, never read).
  public var unchangedTensors: [String]
  /// Subtrees identical in both (recognised by id; neither read nor descended into), as name
  /// prefixes such as `model.encoder.`.
  public var unchangedSubtrees: [String]

  /// Whether the two trees hold exactly the same tensors.
  public var isIdentical: Bool { tensors.isEmpty }
}

#if canImport(Glibc)
  import Glibc
#endif

extension Store {
  /// Compares two commits tensor by tensor.
  ///
  /// Identical subtrees and tensors are recognised by id without reading their data; only
  /// changed tensors are read, and only when `statistics` is true. A tensor stored in another
  /// layout with the same bytes (whole in one commit, sliced by a sharded commit in the other)
  /// is then found unchanged; without statistics it is reported changed.
  public func diff(_ a: Commit, _ b: Commit, statistics: Bool = true) throws -> SnapshotDiff {
    try requireData(a)
    try requireData(b)
    var result = SnapshotDiff(tensors: [], unchangedTensors: [], unchangedSubtrees: [])
    try diffTrees(a.tree, b.tree, prefix: "", into: &result)
    if statistics {
      for i in result.tensors.indices {
        let d = result.tensors[i]
        guard d.change == .changed, let old = d.old, let new = d.new, old.dtype == new.dtype,
          old.shape == new.shape, TensorValues.hasScalarValues(old.dtype)
        else { continue }
        let x = try read(old)
        let y = try read(new)
        result.tensors[i].statistics = x.withUnsafeBytes { xa in
          y.withUnsafeBytes { ya in DiffStatistics.compute(xa, ya, dtype: old.dtype) }
        }
      }
      let relaidOut = result.tensors.filter { $0.statistics?.changedElements == 0 }.map(\.name)
      result.tensors.removeAll { $0.statistics?.changedElements == 0 }
      result.unchangedTensors += relaidOut
    }
    result.tensors.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    return result
  }

  private func diffTrees(
    _ a: ObjectID?, _ b: ObjectID?, prefix: String, into result: inout SnapshotDiff
  ) throws {
    if let a, let b, a == b {
      if prefix.isEmpty { return }
      result.unchangedSubtrees.append(prefix)
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
