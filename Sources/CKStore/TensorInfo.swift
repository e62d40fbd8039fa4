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
  /// For a sliced tensor (tree entry kind 3, written by a sharded commit), its slices; then
  /// `chunkBytes` is 0, `chunks` lists every slice's chunks in slice order, and the bytes are
  /// read through the slices (`Store.read(_:region:into:)`). Empty for an ordinary tensor.
  public var slices: [TensorSlice] = []

  /// Number of elements.
  public var elementCount: Int { shape.reduce(1, *) }

  /// Bytes of a tensor of `dtype` and `shape`, or nil if a dimension is negative, the product
  /// overflows (a hostile or damaged shape), or packed sub-byte elements do not fill whole bytes.
  static func byteCount(dtype: DType, shape: [Int]) -> Int? {
    guard dtype.isSubByte else { return product(dtype.size, shape[...]) }
    guard let bits = bitCount(dtype: dtype, dimensions: shape[...]), bits % 8 == 0 else {
      return nil
    }
    return bits / 8
  }

  /// `start` times every dimension, or nil on a negative dimension or overflow.
  private static func product(_ start: Int, _ dimensions: ArraySlice<Int>) -> Int? {
    var total = start
    for d in dimensions {
      guard d >= 0 else { return nil }
      let (product, overflow) = total.multipliedReportingOverflow(by: d)
      if overflow { return nil }
      total = product
    }
    return total
  }

  /// Bits of `dimensions`' elements of `dtype`, or nil on a negative dimension or overflow.
  private static func bitCount(dtype: DType, dimensions: ArraySlice<Int>) -> Int? {
    product(dtype.bitWidth, dimensions)
  }

  /// Whether the entry is self-consistent: its byte count fits dtype and shape, and its chunks
  /// cover the bytes in `chunkBytes` steps.
  var isConsistent: Bool {
    if !slices.isEmpty { return slicesConsistent }
    return Self.byteCount(dtype: dtype, shape: shape) == byteCount && shape.count <= 255
      && (byteCount == 0) == (chunkBytes == 0) && chunkBytes >= 0
      && chunks.count == chunkRanges.count
  }

  /// Whether two entries hold the same data: same dtype, shape and chunk ids.
  public func sameData(as other: TensorInfo) -> Bool {
    dtype == other.dtype && shape == other.shape && chunks == other.chunks
      && slices.map(\.region) == other.slices.map(\.region)
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
    let rowBytes: Int
    if shape.count <= 1 {
      rowBytes = dtype.size
    } else if !dtype.isSubByte {
      rowBytes = product(dtype.size, shape.dropFirst())!
    } else {
      // Packed sub-byte rows that end inside a byte are cut at byte boundaries.
      let rowBits = bitCount(dtype: dtype, dimensions: shape.dropFirst())!
      rowBytes = rowBits % 8 == 0 ? rowBits / 8 : 1
    }
    let unit = rowBytes <= target ? rowBytes : dtype.size
    return max(1, target / unit) * unit
  }
}
