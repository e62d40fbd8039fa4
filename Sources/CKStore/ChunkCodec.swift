/// How the store encodes a chunk: the same code path for commits and for benchmarks.
public enum ChunkCodec {
  /// The element width whose bytes are regrouped before zstd, or 1 for none: floating-point
  /// dtypes, whose sign and exponent bytes repeat (docs/PERFORMANCE.md has the measurement).
  public static func groupingWidth(_ dtype: DType) -> Int {
    dtype.isFloatingPoint ? dtype.size : 1
  }

  /// An encoded chunk: what goes after the object header.
  struct Encoded {
    var codec: Codec
    var parameter: UInt8
    /// The stored bytes; empty when `codec` is `.none` (the payload is stored as it is).
    var bytes: [UInt8]
  }

  /// Encodes a chunk of `dtype` data: grouped zstd for floats, zstd for the rest, raw when
  /// compression does not help.
  static func encode(_ payload: UnsafeRawBufferPointer, width: Int, level: Int32) throws
    -> Encoded
  {
    guard payload.count > 0 else { return Encoded(codec: .none, parameter: 0, bytes: []) }
    var encoded: Encoded
    if width > 1 && payload.count >= 2 * width {
      var grouped = [UInt8].uninitialized(count: payload.count)
      grouped.withUnsafeMutableBytes { ByteGrouping.group(payload, into: $0, width: width) }
      let bytes = try grouped.withUnsafeBytes { try Zstd.compress($0, level: level) }
      encoded = Encoded(codec: .groupedZstd, parameter: UInt8(width), bytes: bytes)
    } else {
      encoded = Encoded(codec: .zstd, parameter: 0, bytes: try Zstd.compress(payload, level: level))
    }
    // Incompressible data is stored as it is: same id, no decompression cost on read.
    if encoded.bytes.count >= payload.count {
      encoded = Encoded(codec: .none, parameter: 0, bytes: [])
    }
    return encoded
  }

  /// The delta encoding of a chunk against a base of the same length: base id, then the grouped
  /// zstd frame of the XOR. Nil when the chunk is too short to group.
  static func encodeDelta(
    _ payload: UnsafeRawBufferPointer, against base: (id: ObjectID, bytes: [UInt8]), width: Int,
    level: Int32
  ) throws -> Encoded? {
    guard payload.count >= 2 * width else { return nil }
    var xor = [UInt8].uninitialized(count: payload.count)
    base.bytes.withUnsafeBytes { b in
      xor.withUnsafeMutableBytes { x in
        for i in 0..<payload.count { x[i] = payload[i] ^ b[i] }
      }
    }
    var grouped = [UInt8].uninitialized(count: payload.count)
    xor.withUnsafeBytes { x in
      grouped.withUnsafeMutableBytes { ByteGrouping.group(x, into: $0, width: width) }
    }
    let frame = try grouped.withUnsafeBytes { try Zstd.compress($0, level: level) }
    return Encoded(codec: .deltaGroupedZstd, parameter: UInt8(width), bytes: base.id.bytes + frame)
  }

  /// The stored size of a chunk of `dtype` at `level` (payload only, no header): what a commit
  /// would write for it.
  public static func storedSize(_ payload: UnsafeRawBufferPointer, dtype: DType, level: Int32)
    throws -> Int
  {
    let e = try encode(payload, width: groupingWidth(dtype), level: level)
    return e.codec == .none ? payload.count : e.bytes.count
  }
}
