/// Little-endian encoding of the store's binary records (docs/FORMAT.md, "Encodings").
struct ByteWriter {
  private(set) var bytes: [UInt8] = []

  mutating func u8(_ v: UInt8) { bytes.append(v) }
  mutating func u16(_ v: UInt16) { integer(v) }
  mutating func u32(_ v: UInt32) { integer(v) }
  mutating func u64(_ v: UInt64) { integer(v) }
  mutating func i64(_ v: Int64) { integer(v) }
  mutating func f64(_ v: Double) { integer(v.bitPattern) }
  mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }
  mutating func id(_ v: ObjectID) { bytes.append(contentsOf: v.bytes) }

  /// A u32 byte length, then the UTF-8 bytes.
  mutating func string(_ s: String) {
    let utf8 = Array(s.utf8)
    u32(UInt32(utf8.count))
    raw(utf8)
  }

  private mutating func integer<T: FixedWidthInteger>(_ v: T) {
    withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
  }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and a short or malformed record
/// throws `corruptObject` naming the object.
struct ByteReader {
  private let bytes: [UInt8]
  private(set) var offset = 0
  let object: String

  init(_ bytes: [UInt8], object: String) {
    self.bytes = bytes
    self.object = object
  }

  var isAtEnd: Bool { offset == bytes.count }

  mutating func u8() throws -> UInt8 { try integer() }
  mutating func u16() throws -> UInt16 { try integer() }
  mutating func u32() throws -> UInt32 { try integer() }
  mutating func u64() throws -> UInt64 { try integer() }
  mutating func i64() throws -> Int64 { try integer() }
  mutating func f64() throws -> Double { Double(bitPattern: try integer()) }

  /// A u64 that must fit an Int (a size or dimension); a larger one can only be damage.
  mutating func size() throws -> Int {
    let v = try u64()
    guard let n = Int(exactly: v) else {
      throw StoreError(
        .corruptObject, "object \(object): size \(v) at byte \(offset - 8) is out of range")
    }
    return n
  }

  mutating func raw(_ count: Int) throws -> [UInt8] {
    guard count >= 0, count <= bytes.count - offset else { throw truncated() }
    defer { offset += count }
    return Array(bytes[offset..<offset + count])
  }

  mutating func id() throws -> ObjectID { ObjectID(bytes: try raw(32)) }

  mutating func string() throws -> String {
    let count = Int(try u32())
    let utf8 = try raw(count)
    guard let s = String(validating: utf8, as: UTF8.self) else {
      throw StoreError(.corruptObject, "object \(object): string is not valid UTF-8")
    }
    return s
  }

  func truncated() -> StoreError {
    StoreError(.corruptObject, "object \(object): record truncated at byte \(offset)")
  }

  private mutating func integer<T: FixedWidthInteger>() throws -> T {
    let size = MemoryLayout<T>.size
    guard size <= bytes.count - offset else { throw truncated() }
    var v: T = 0
    for i in 0..<size { v |= T(bytes[offset + i]) << (8 * i) }
    offset += size
    return v
  }
}

extension Array where Element == UInt8 {
  /// A buffer of `count` bytes whose contents are left as the allocator gave them, for callers
  /// that overwrite every byte (file reads, decompression, chunk copies): zero-filling hundreds of
  /// megabytes first would cost as much as the work itself.
  static func uninitialized(count: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
  }
}
