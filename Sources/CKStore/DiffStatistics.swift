/// How two tensors of the same shape differ elementwise, computed after widening both to Double
/// (so a float32 → bfloat16 cast is compared value by value).
///
/// Floating-point tensors (either side of a float dtype) get `l2`, `relative` and `maxAbs`,
/// computed over the *finite pairs* only: the elements where both sides are finite. NaN and
/// infinities never poison them; instead `nan` and `inf` count the elements that became or
/// stopped being NaN or ±inf. Integer and bool tensors (both sides) get `maxAbs` and the changed
/// count only: an l2 norm of counters or token ids means nothing.
public struct DiffStatistics: Equatable, Sendable, Codable {
  /// How the tensor's values are compared.
  public enum Kind: String, Sendable, Codable {
    /// At least one side has a floating-point dtype.
    case float
    /// Both sides are integers or bools.
    case integer
  }

  /// Appearances and disappearances of one kind of non-finite value.
  public struct NonFiniteCounts: Equatable, Sendable, Codable {
    /// Elements that are this value in B but not in A.
    public var appeared = 0
    /// Elements that are this value in A but not in B.
    public var vanished = 0
    /// Elements that are this value in both.
    public var kept = 0
  }

  /// Float or integer comparison.
  public var kind: Kind
  /// ‖B − A‖₂ over the finite pairs; nil for integer tensors or when no pair is finite.
  public var l2: Double?
  /// ‖B − A‖₂ / ‖A‖₂ over the finite pairs (infinite when A's finite part is all zeros and B's
  /// is not); nil when `l2` is.
  public var relative: Double?
  /// max |B − A|: over the finite pairs for floats, over all elements for integers; nil when
  /// there is no finite pair.
  public var maxAbs: Double?
  /// Elements that changed: bytes differ when the dtype is the same; otherwise the widened
  /// values differ (NaN matching NaN).
  public var changedElements: Int
  /// All elements.
  public var elements: Int
  /// Elements where both sides are finite (all of them for integer tensors).
  public var finitePairs: Int
  /// NaN appearing and vanishing.
  public var nan: NonFiniteCounts
  /// ±inf appearing and vanishing (a change of sign counts as neither).
  public var inf: NonFiniteCounts

  /// changedElements / elements.
  public var changedFraction: Double {
    elements == 0 ? 0 : Double(changedElements) / Double(elements)
  }

  /// Statistics of `b − a` for two canonical buffers with the same element count; the dtypes may
  /// differ, and both must have scalar values (`Store.diff` checks).
  public static func compute(
    _ a: UnsafeRawBufferPointer, _ aType: DType, _ b: UnsafeRawBufferPointer, _ bType: DType
  ) -> DiffStatistics {
    let n = a.count / aType.size
    let kind: Kind = aType.isFloatingPoint || bType.isFloatingPoint ? .float : .integer
    let sameType = aType == bType
    let size = aType.size
    var sumSq = 0.0
    var baseSq = 0.0
    var maxAbs = 0.0
    var changed = 0
    var finite = 0
    var nan = NonFiniteCounts()
    var inf = NonFiniteCounts()
    for i in 0..<n {
      let x = TensorValues.value(a, aType, i)
      let y = TensorValues.value(b, bType, i)
      if sameType {
        if memcmp(a.baseAddress! + i * size, b.baseAddress! + i * size, size) != 0 { changed += 1 }
      } else if !(x == y || (x.isNaN && y.isNaN)) {
        changed += 1
      }
      if x.isFinite && y.isFinite {
        finite += 1
        let d = y - x
        sumSq += d * d
        baseSq += x * x
        maxAbs = max(maxAbs, abs(d))
        continue
      }
      count(&nan, x.isNaN, y.isNaN)
      count(&inf, x.isInfinite, y.isInfinite)
    }
    var stats = DiffStatistics(
      kind: kind, l2: nil, relative: nil, maxAbs: finite > 0 ? maxAbs : nil,
      changedElements: changed, elements: n, finitePairs: finite, nan: nan, inf: inf)
    if kind == .float && finite > 0 {
      let l2 = sumSq.squareRoot()
      stats.l2 = l2
      stats.relative = baseSq > 0 ? l2 / baseSq.squareRoot() : (l2 > 0 ? .infinity : 0)
    }
    return stats
  }

  private static func count(_ counts: inout NonFiniteCounts, _ inA: Bool, _ inB: Bool) {
    switch (inA, inB) {
    case (true, true): counts.kept += 1
    case (true, false): counts.vanished += 1
    case (false, true): counts.appeared += 1
    case (false, false): break
    }
  }
}

#if canImport(Glibc)
  import Glibc
#endif
