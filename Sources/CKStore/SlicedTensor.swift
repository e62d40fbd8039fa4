/// A box of a tensor's index space: `offset[d] ..< offset[d] + extent[d]` along each dimension.
public struct TensorRegion: Equatable, Hashable, Sendable, CustomStringConvertible {
  /// The first index along each dimension.
  public var offset: [Int]
  /// The length along each dimension.
  public var extent: [Int]

  /// A region; `offset` and `extent` must have one entry per dimension.
  public init(offset: [Int], extent: [Int]) {
    self.offset = offset
    self.extent = extent
  }

  /// The whole of a tensor of `shape`.
  public init(whole shape: [Int]) { self.init(offset: shape.map { _ in 0 }, extent: shape) }

  /// Rows `rows` of a tensor of `shape` (all of every other dimension).
  public init(rows: Range<Int>, of shape: [Int]) {
    self.init(
      offset: [rows.lowerBound] + shape.dropFirst().map { _ in 0 },
      extent: [rows.count] + shape.dropFirst())
  }

  /// Number of elements.
  public var elementCount: Int { extent.reduce(1, *) }

  /// `[a..<b, c..<d]`, as error messages and `show` print it.
  public var description: String {
    // A region decoded from a damaged tree may not add up: print it, never trap on it.
    "["
      + zip(offset, extent).map { o, e in "\(o)..<\(o.addingReportingOverflow(e).partialValue)" }
      .joined(separator: ", ") + "]"
  }

  /// Whether the region lies inside a tensor of `shape` (same rank, no negative extent).
  func fits(_ shape: [Int]) -> Bool {
    offset.count == shape.count && extent.count == shape.count
      && zip(zip(offset, extent), shape).allSatisfy { oe, s in
        oe.0 >= 0 && oe.1 >= 0 && !oe.0.addingReportingOverflow(oe.1).overflow && oe.0 + oe.1 <= s
      }
  }

  /// The common part of two regions of the same rank, or nil if they do not meet.
  func intersection(_ other: TensorRegion) -> TensorRegion? {
    var lo: [Int] = []
    var ext: [Int] = []
    for d in offset.indices {
      let a = max(offset[d], other.offset[d])
      let b = min(offset[d] + extent[d], other.offset[d] + other.extent[d])
      guard a < b else { return nil }
      lo.append(a)
      ext.append(b - a)
    }
    return TensorRegion(offset: lo, extent: ext)
  }
}

/// One slice of a sliced tensor (tree entry kind 3): the region of the global tensor it holds,
/// the part (rank) that wrote it, and the chunks of the slice's own row-major bytes.
public struct TensorSlice: Equatable, Sendable {
  /// Where the slice lies in the global tensor.
  public var region: TensorRegion
  /// The part (rank, 0-based) of the sharded commit that wrote it.
  public var part: Int
  /// Bytes in every chunk but the last, over the slice's bytes (rules of "Chunks", shape = extent).
  public var chunkBytes: Int
  /// The chunks of the slice's canonical bytes, in order.
  public var chunks: [ObjectID]

  /// The slice's canonical bytes: elements of its region × dtype size.
  func byteCount(_ dtype: DType) -> Int { region.elementCount * dtype.size }

  /// The slice's bytes as a plain tensor entry (for chunk arithmetic).
  func asTensor(named name: String, dtype: DType) -> TensorInfo {
    TensorInfo(
      name: name, dtype: dtype, shape: region.extent, byteCount: byteCount(dtype),
      chunkBytes: chunkBytes, chunks: chunks)
  }
}

extension TensorInfo {
  /// A sliced tensor's entry: global `shape`, its slices in order, `chunks` every slice's chunks
  /// in that order (so gc, fsck and diff, which look only at `chunks`, treat it like any tensor).
  static func sliced(name: String, dtype: DType, shape: [Int], slices: [TensorSlice]) -> TensorInfo
  {
    var info = TensorInfo(
      name: name, dtype: dtype, shape: shape,
      byteCount: TensorInfo.byteCount(dtype: dtype, shape: shape) ?? 0, chunkBytes: 0,
      chunks: slices.flatMap(\.chunks))
    info.slices = slices
    return info
  }

  /// Whether every slice fits the global shape and its chunks cover its bytes. Coverage of the
  /// whole tensor without overlap is checked when a sharded commit is built (`SliceCover`).
  var slicesConsistent: Bool {
    !dtype.isSubByte && TensorInfo.byteCount(dtype: dtype, shape: shape) == byteCount
      && shape.count <= 255 && chunkBytes == 0 && chunks == slices.flatMap(\.chunks)
      && slices.allSatisfy { s in
        s.region.fits(shape) && s.part >= 0 && s.asTensor(named: name, dtype: dtype).isConsistent
      }
  }
}

/// The commit-time check of a sliced tensor: the slices of all parts must tile the global tensor,
/// with no two overlapping and no element left out.
enum SliceCover {
  /// Throws `invalidTensor` naming the tensor and the ranks if `slices` overlap or leave a gap.
  static func check(_ name: String, shape: [Int], slices: [TensorSlice]) throws {
    for (i, a) in slices.enumerated() {
      for b in slices[(i + 1)...] {
        if let common = a.region.intersection(b.region) {
          throw StoreError(
            .invalidTensor,
            "tensor '\(name)': the slices of rank \(a.part) \(a.region) and rank \(b.part) "
              + "\(b.region) overlap in \(common)")
        }
      }
    }
    let covered = slices.reduce(0) { $0 + $1.region.elementCount }
    let total = shape.reduce(1, *)
    guard covered == total else {
      let ranks = Set(slices.map(\.part)).sorted().map(String.init).joined(separator: ", ")
      throw StoreError(
        .invalidTensor,
        "tensor '\(name)' \(shape): the slices of ranks \(ranks) leave a gap"
          + gapDescription(shape: shape, slices: slices)
          + " (they cover \(covered) of \(total) elements)")
    }
  }

  /// For row slices (whole along every dimension but the first), the first missing rows and the
  /// ranks on either side; empty otherwise.
  private static func gapDescription(shape: [Int], slices: [TensorSlice]) -> String {
    guard !shape.isEmpty,
      slices.allSatisfy({ Array($0.region.extent.dropFirst()) == Array(shape.dropFirst()) })
    else { return "" }
    var row = 0
    var before: Int? = nil
    for s in slices.sorted(by: { $0.region.offset[0] < $1.region.offset[0] }) {
      if s.region.offset[0] > row {
        return " at rows \(row)..<\(s.region.offset[0])"
          + (before.map { " between rank \($0) and rank \(s.part)" } ?? " before rank \(s.part)")
      }
      row = s.region.offset[0] + s.region.extent[0]
      before = s.part
    }
    return " at rows \(row)..<\(shape[0])" + (before.map { " after rank \($0)" } ?? "")
  }
}
