/// A stored tensor as its tree entry describes it: everything but the data.
public struct TensorInfo: Equatable, Sendable {
  /// The full tensor name (`model.dense1.weight`).
  public var name: String
  /// The element type.
  public var dtype: DType
  /// The dimensions; empty for a scalar.
  public var shape: [Int]
  /// Bytes of canonical data: element count × dtype size.
  public var byteCount: Int
  /// Bytes in every chunk but the last (which may be shorter).
  public var chunkBytes: Int
  /// The chunks' ids, in order; empty for a zero-size tensor.
  public var chunks: [ObjectID]

  /// Number of elements.
  public var elementCount: Int { shape.reduce(1, *) }

  /// Whether two entries hold the same data: same dtype, shape and chunk ids.
  public func sameData(as other: TensorInfo) -> Bool {
    dtype == other.dtype && shape == other.shape && chunks == other.chunks
  }

  /// The byte ranges of the chunks within the tensor's canonical data.
  public var chunkRanges: [Range<Int>] {
    guard chunkBytes > 0 else { return [] }
    return stride(from: 0, to: byteCount, by: chunkBytes).map {
      $0..<min($0 + chunkBytes, byteCount)
    }
  }

  /// Splits a tensor's bytes into chunks aligned to whole rows (docs/FORMAT.md, "Chunks").
  ///
  /// A row is one slice along the first axis (one element for a vector, the whole tensor for a
  /// scalar). A chunk holds as many whole rows as fit in `target` bytes, at least one; a row
  /// larger than `target` is cut at element boundaries instead.
  static func chunkBytes(dtype: DType, shape: [Int], byteCount: Int, target: Int) -> Int {
    if byteCount == 0 { return 0 }
    let rowBytes = shape.count <= 1 ? dtype.size : shape.dropFirst().reduce(1, *) * dtype.size
    let unit = rowBytes <= target ? rowBytes : dtype.size
    return max(1, target / unit) * unit
  }
}
