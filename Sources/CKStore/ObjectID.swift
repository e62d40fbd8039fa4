/// The SHA-256 of an object's uncompressed content: its name in the store.
public struct ObjectID: Hashable, Comparable, Sendable, CustomStringConvertible {
  // Four big-endian words of the digest, so that comparison orders like the hex string.
  private let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

  /// Creates an id from its 32 digest bytes.
  public init(bytes: [UInt8]) {
    precondition(bytes.count == 32, "an ObjectID has 32 bytes")
    func word(_ i: Int) -> UInt64 {
      var v: UInt64 = 0
      for j in 0..<8 { v = v << 8 | UInt64(bytes[i * 8 + j]) }
      return v
    }
    (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3))
  }

  /// Parses a 64-character lowercase or uppercase hex string; nil if it is not one.
  public init?(hex: String) {
    let utf8 = Array(hex.utf8)
    guard utf8.count == 64 else { return nil }
    var bytes = [UInt8](repeating: 0, count: 32)
    for i in 0..<32 {
      guard let hi = Self.nibble(utf8[2 * i]), let lo = Self.nibble(utf8[2 * i + 1]) else {
        return nil
      }
      bytes[i] = hi << 4 | lo
    }
    self.init(bytes: bytes)
  }

  /// The 32 digest bytes.
  public var bytes: [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(32)
    for w in [w0, w1, w2, w3] {
      for shift in stride(from: 56, through: 0, by: -8) {
        out.append(UInt8(truncatingIfNeeded: w >> UInt64(shift)))
      }
    }
    return out
  }

  /// The 64-character lowercase hex form.
  public var hex: String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(64)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The first 12 hex digits, enough to name an object in messages and tables.
  public var short: String { String(hex.prefix(12)) }

  /// The hex form.
  public var description: String { hex }

  /// Orders ids as their hex strings order.
  public static func < (a: ObjectID, b: ObjectID) -> Bool {
    (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
  }

  static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}
