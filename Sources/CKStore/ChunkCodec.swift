/// How the store encodes and decodes a chunk (both directions of every codec, docs/FORMAT.md):
/// the same code path for commits, reads and benchmarks.
public enum ChunkCodec {
  /// The element width whose bytes are split into planes before compression, or 1 for none:
  /// every multi-byte dtype (complex64 by its float32 parts), since the high bytes of floats
  /// (sign, exponent) and of integers repeat while low bytes do not.
  public static func groupingWidth(_ dtype: DType) -> Int {
    if dtype == .complex64 { return 4 }
    return dtype.isSubByte ? 1 : dtype.size
  }

  /// An encoded chunk: what goes after the object header.
  struct Encoded {
    var codec: Codec
    var parameter: UInt8
    /// The stored bytes; empty when `codec` is `.none` (the payload is stored as it is).
    var bytes: [UInt8]

    static let raw = Encoded(codec: .none, parameter: 0, bytes: [])
  }

  /// Planes whose sampled order-0 entropy is above this many bits per byte are stored raw
  /// without trying zstd: at most (8 − 7.6) / 8 = 5% could be saved on them, and compressing
  /// mantissa bytes costs more time than anything else in a commit.
  static let rawEntropyThreshold = 7.6

  /// Encodes a chunk: byte planes (codec 4) for multi-byte elements, zstd for the rest, raw when
  /// compression does not help.
  static func encode(_ payload: UnsafeRawBufferPointer, width: Int, level: Int32) throws
    -> Encoded
  {
    guard payload.count > 0 else { return .raw }
    if width > 1 && payload.count >= 2 * width {
      return try encodePlanes(payload, width: width, level: level)
    }
    if sampledEntropy(payload) > rawEntropyThreshold { return .raw }
    let bytes = try Zstd.compress(payload, level: level)
    // Incompressible data is stored as it is: same id, no decompression cost on read.
    return bytes.count < payload.count ? Encoded(codec: .zstd, parameter: 0, bytes: bytes) : .raw
  }

  /// Codec 4: W byte planes, each zstd-compressed or stored raw, behind a table of (mode,
  /// length) records; the trailing partial element is stored raw at the end.
  private static func encodePlanes(_ payload: UnsafeRawBufferPointer, width: Int, level: Int32)
    throws -> Encoded
  {
    let n = payload.count / width
    var grouped = [UInt8].uninitialized(count: payload.count)
    grouped.withUnsafeMutableBytes { ByteGrouping.group(payload, into: $0, width: width) }
    let table = 5 * width
    var out = [UInt8].uninitialized(count: table + payload.count)
    var used = table
    try grouped.withUnsafeBytes { planes in
      try out.withUnsafeMutableBytes { dst in
        for b in 0..<width {
          let plane = UnsafeRawBufferPointer(rebasing: planes[(b * n)..<(b * n + n)])
          var compressed: Int? = nil
          if sampledEntropy(plane) <= rawEntropyThreshold {
            compressed = try Zstd.compress(
              plane, into: UnsafeMutableRawBufferPointer(rebasing: dst[used..<(used + n - 1)]),
              level: level)
          }
          if compressed == nil {
            UnsafeMutableRawBufferPointer(rebasing: dst[used..<(used + n)]).copyMemory(from: plane)
          }
          dst[5 * b] = compressed == nil ? 0 : 1
          dst.storeBytes(
            of: UInt32(compressed ?? n).littleEndian, toByteOffset: 5 * b + 1, as: UInt32.self)
          used += compressed ?? n
        }
        let tail = UnsafeRawBufferPointer(rebasing: planes[(n * width)...])
        UnsafeMutableRawBufferPointer(rebasing: dst[used..<(used + tail.count)])
          .copyMemory(from: tail)
        used += tail.count
      }
    }
    guard used < payload.count else { return .raw }
    out.removeSubrange(used...)
    return Encoded(codec: .planes, parameter: UInt8(width), bytes: out)
  }

  /// The order-0 entropy, in bits per byte, of up to four 1 KiB samples spread over `bytes`.
  static func sampledEntropy(_ bytes: UnsafeRawBufferPointer) -> Double {
    guard bytes.count >= 256 else { return 0 }
    var counts = [Int](repeating: 0, count: 256)
    let piece = min(1024, bytes.count / 4)
    var total = 0
    counts.withUnsafeMutableBufferPointer { c in
      for s in 0..<4 {
        let start = s * (bytes.count - piece) / 3
        for i in start..<(start + piece) { c[Int(bytes[i])] += 1 }
        total += piece
      }
    }
    var entropy = 0.0
    for count in counts where count > 0 {
      let p = Double(count) / Double(total)
      entropy -= p * log2(p)
    }
    return entropy
  }

  /// The payload length a stored body declares by itself (zstd frame content sizes, raw plane
  /// lengths), to check a header's length before allocating for it; nil when it declares none.
  static func declaredLength(_ body: UnsafeRawBufferPointer, header: ObjectHeader) -> UInt64? {
    switch header.codec {
    case .none: return UInt64(body.count)
    case .zstd, .groupedZstd: return Zstd.frameContentSize(body)
    case .deltaGroupedZstd:
      return body.count < 32
        ? nil : Zstd.frameContentSize(UnsafeRawBufferPointer(rebasing: body[32...]))
    case .planes:
      let width = Int(header.parameter)
      guard body.count >= 5 * width else { return nil }
      var total: UInt64 = 0
      var offset = 5 * width
      for b in 0..<width {
        let length = Int(
          UInt32(littleEndian: body.loadUnaligned(fromByteOffset: 5 * b + 1, as: UInt32.self)))
        guard length <= body.count - offset else { return nil }
        let stored = UnsafeRawBufferPointer(rebasing: body[offset..<(offset + length)])
        guard let size = body[5 * b] == 0 ? UInt64(length) : Zstd.frameContentSize(stored) else {
          return nil
        }
        let (sum, overflow) = total.addingReportingOverflow(size)
        guard !overflow else { return nil }
        total = sum
        offset += length
      }
      return total + UInt64(body.count - offset)
    }
  }

  /// Decodes the body of a chunk stored with `header` into `out` (exactly the payload's length).
  /// `base` reads a delta's base chunk. Does not verify the hash; the caller does.
  static func decode(
    _ body: UnsafeRawBufferPointer, header: ObjectHeader, into out: UnsafeMutableRawBufferPointer,
    object: String, base: (ObjectID, UnsafeMutableRawBufferPointer) throws -> Void
  ) throws {
    let width = Int(header.parameter)
    switch header.codec {
    case .none:
      guard body.count == out.count else {
        throw StoreError(
          .corruptObject, "object \(object): \(body.count) bytes stored, header says \(out.count)")
      }
      if body.count > 0 { out.copyMemory(from: body) }
    case .zstd:
      try Zstd.decompress(body, into: out, object: object)
    case .groupedZstd:
      try ungrouping(into: out, width: width) {
        try Zstd.decompress(body, into: $0, object: object)
      }
    case .planes:
      try ungrouping(into: out, width: width) {
        try decodePlanes(body, width: width, into: $0, object: object)
      }
    case .deltaGroupedZstd:
      guard body.count >= 32 else {
        throw StoreError(.corruptObject, "object \(object): delta chunk shorter than its base id")
      }
      try base(ObjectID(bytes: Array(body.prefix(32))), out)
      var xor = [UInt8].uninitialized(count: out.count)
      try xor.withUnsafeMutableBytes { x in
        try ungrouping(into: x, width: width) {
          try Zstd.decompress(
            UnsafeRawBufferPointer(rebasing: body[32...]), into: $0, object: object)
        }
        for i in 0..<out.count { out[i] ^= x[i] }
      }
    }
  }

  /// Fills a grouped buffer with `fill`, then ungroups it into `out`.
  private static func ungrouping(
    into out: UnsafeMutableRawBufferPointer, width: Int,
    _ fill: (UnsafeMutableRawBufferPointer) throws -> Void
  ) throws {
    var grouped = [UInt8].uninitialized(count: out.count)
    try grouped.withUnsafeMutableBytes { try fill($0) }
    grouped.withUnsafeBytes { ByteGrouping.ungroup($0, into: out, width: width) }
  }

  /// Undoes codec 4's plane table into the grouped buffer `out`.
  private static func decodePlanes(
    _ body: UnsafeRawBufferPointer, width: Int, into out: UnsafeMutableRawBufferPointer,
    object: String
  ) throws {
    func corrupt(_ why: String) -> StoreError {
      StoreError(.corruptObject, "object \(object): \(why)")
    }
    let n = out.count / width
    let table = 5 * width
    guard body.count >= table else { throw corrupt("plane table cut short") }
    var offset = table
    for b in 0..<width {
      let mode = body[5 * b]
      let length = Int(
        UInt32(littleEndian: body.loadUnaligned(fromByteOffset: 5 * b + 1, as: UInt32.self)))
      guard length <= body.count - offset else { throw corrupt("plane \(b) runs past the object") }
      let stored = UnsafeRawBufferPointer(rebasing: body[offset..<(offset + length)])
      let plane = UnsafeMutableRawBufferPointer(rebasing: out[(b * n)..<(b * n + n)])
      switch mode {
      case 0:
        guard length == n else { throw corrupt("raw plane \(b) holds \(length) bytes, not \(n)") }
        if n > 0 { plane.copyMemory(from: stored) }
      case 1: try Zstd.decompress(stored, into: plane, object: object)
      default: throw corrupt("plane \(b) has unknown mode \(mode)")
      }
      offset += length
    }
    let tail = out.count - n * width
    guard body.count - offset == tail else {
      throw corrupt("\(body.count - offset) bytes after the planes, expected \(tail)")
    }
    if tail > 0 {
      UnsafeMutableRawBufferPointer(rebasing: out[(n * width)...])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: body[offset...]))
    }
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

#if canImport(Glibc)
  import Glibc
#endif
