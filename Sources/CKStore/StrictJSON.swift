/// A strict RFC 8259 JSON reader for the headers of files the store imports (safetensors headers,
/// Hugging Face shard indexes). Strings keep every scalar as written (a leading U+FEFF included),
/// integers are kept exact, and whatever the reference safetensors reader refuses is refused:
/// invalid UTF-8, lone surrogates, control characters in strings, leading zeros, trailing
/// garbage, and (our rule, documented in docs/FORMAT.md) duplicate keys.
enum StrictJSON: Equatable {
  case object([(key: String, value: StrictJSON)])
  case array([StrictJSON])
  case string(String)
  /// A number written as a plain integer literal (no fraction, no exponent) that fits an Int.
  case integer(Int)
  /// Any other number, kept as its text.
  case number(String)
  case bool(Bool)
  case null

  static func == (a: StrictJSON, b: StrictJSON) -> Bool {
    switch (a, b) {
    case (.object(let x), .object(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    case (.array(let x), .array(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.integer(let x), .integer(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.bool(let x), .bool(let y)): return x == y
    case (.null, .null): return true
    default: return false
    }
  }

  /// Why a document was refused, with the byte offset.
  struct ParseError: Error, CustomStringConvertible {
    var offset: Int
    var reason: String
    var description: String { "\(reason) at byte \(offset)" }
  }

  /// Parses one JSON value that fills `bytes` but for surrounding JSON white space.
  static func parse(_ bytes: UnsafeRawBufferPointer) throws -> StrictJSON {
    var p = Parser(bytes: bytes)
    p.skipSpace()
    let value = try p.value(depth: 0)
    p.skipSpace()
    guard p.at == bytes.count else { throw ParseError(offset: p.at, reason: "trailing characters") }
    return value
  }

  /// The members of an object, or nil for any other value.
  var members: [(key: String, value: StrictJSON)]? {
    if case .object(let m) = self { return m }
    return nil
  }

  /// The text of a string, or nil.
  var text: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  private struct Parser {
    let bytes: UnsafeRawBufferPointer
    var at = 0
    /// Deeper documents are refused rather than recursed into without bound.
    static let maxDepth = 64

    func fail(_ reason: String) -> ParseError { ParseError(offset: at, reason: reason) }

    mutating func skipSpace() {
      while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
    }

    mutating func expect(_ literal: String) throws {
      for byte in literal.utf8 {
        guard at < bytes.count, bytes[at] == byte else { throw fail("expected '\(literal)'") }
        at += 1
      }
    }

    mutating func value(depth: Int) throws -> StrictJSON {
      guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth)") }
      guard at < bytes.count else { throw fail("unexpected end") }
      switch bytes[at] {
      case UInt8(ascii: "{"): return try object(depth: depth)
      case UInt8(ascii: "["): return try array(depth: depth)
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"):
        try expect("true")
        return .bool(true)
      case UInt8(ascii: "f"):
        try expect("false")
        return .bool(false)
      case UInt8(ascii: "n"):
        try expect("null")
        return .null
      default: return try number()
      }
    }

    mutating func object(depth: Int) throws -> StrictJSON {
      at += 1
      var members: [(key: String, value: StrictJSON)] = []
      var keys = Set<String>()
      skipSpace()
      if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
        at += 1
        return .object(members)
      }
      while true {
        skipSpace()
        guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else {
          throw fail("expected a string key")
        }
        let keyAt = at
        let key = try string()
        guard keys.insert(key).inserted else {
          throw ParseError(offset: keyAt, reason: "duplicate key '\(key)'")
        }
        skipSpace()
        try expect(":")
        skipSpace()
        members.append((key, try value(depth: depth + 1)))
        skipSpace()
        guard at < bytes.count else { throw fail("unexpected end in an object") }
        if bytes[at] == UInt8(ascii: ",") {
          at += 1
          continue
        }
        try expect("}")
        return .object(members)
      }
    }

    mutating func array(depth: Int) throws -> StrictJSON {
      at += 1
      var items: [StrictJSON] = []
      skipSpace()
      if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
        at += 1
        return .array(items)
      }
      while true {
        skipSpace()
        items.append(try value(depth: depth + 1))
        skipSpace()
        guard at < bytes.count else { throw fail("unexpected end in an array") }
        if bytes[at] == UInt8(ascii: ",") {
          at += 1
          continue
        }
        try expect("]")
        return .array(items)
      }
    }

    mutating func number() throws -> StrictJSON {
      let start = at
      if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
      guard at < bytes.count, isDigit(bytes[at]) else { throw fail("invalid value") }
      if bytes[at] == UInt8(ascii: "0") {
        at += 1
        if at < bytes.count, isDigit(bytes[at]) { throw fail("leading zero in a number") }
      } else {
        while at < bytes.count, isDigit(bytes[at]) { at += 1 }
      }
      var integral = true
      if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
        integral = false
        at += 1
        guard at < bytes.count, isDigit(bytes[at]) else { throw fail("digit expected") }
        while at < bytes.count, isDigit(bytes[at]) { at += 1 }
      }
      if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
        integral = false
        at += 1
        if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") {
          at += 1
        }
        guard at < bytes.count, isDigit(bytes[at]) else { throw fail("digit expected") }
        while at < bytes.count, isDigit(bytes[at]) { at += 1 }
      }
      let text = String(
        decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
      if integral, let n = Int(text) { return .integer(n) }
      return .number(text)
    }

    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    mutating func string() throws -> String {
      at += 1
      var scalars = String.UnicodeScalarView()
      while true {
        guard at < bytes.count else { throw fail("unterminated string") }
        let b = bytes[at]
        switch b {
        case UInt8(ascii: "\""):
          at += 1
          return String(scalars)
        case UInt8(ascii: "\\"):
          at += 1
          scalars.append(try escape())
        case 0..<0x20: throw fail("control character in a string")
        default: scalars.append(try utf8Scalar())
        }
      }
    }

    mutating func escape() throws -> Unicode.Scalar {
      guard at < bytes.count else { throw fail("unterminated escape") }
      let b = bytes[at]
      at += 1
      switch b {
      case UInt8(ascii: "\""): return "\""
      case UInt8(ascii: "\\"): return "\\"
      case UInt8(ascii: "/"): return "/"
      case UInt8(ascii: "b"): return "\u{08}"
      case UInt8(ascii: "f"): return "\u{0C}"
      case UInt8(ascii: "n"): return "\n"
      case UInt8(ascii: "r"): return "\r"
      case UInt8(ascii: "t"): return "\t"
      case UInt8(ascii: "u"):
        let high = try hex4()
        if (0xDC00...0xDFFF).contains(high) { throw fail("lone trailing surrogate") }
        guard (0xD800...0xDBFF).contains(high) else { return Unicode.Scalar(high)! }
        guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"),
          bytes[at + 1] == UInt8(ascii: "u")
        else { throw fail("lone leading surrogate") }
        at += 2
        let low = try hex4()
        guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid surrogate pair") }
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
      default: throw fail("invalid escape")
      }
    }

    mutating func hex4() throws -> UInt32 {
      guard at + 4 <= bytes.count else { throw fail("short \\u escape") }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let b = bytes[at]
        let d: UInt8
        switch b {
        case 0x30...0x39: d = b - 0x30
        case 0x41...0x46: d = b - 0x41 + 10
        case 0x61...0x66: d = b - 0x61 + 10
        default: throw fail("invalid hex digit")
        }
        v = v << 4 | UInt32(d)
        at += 1
      }
      return v
    }

    /// Decodes one UTF-8 encoded scalar, refusing overlong forms, surrogates and bad bytes.
    mutating func utf8Scalar() throws -> Unicode.Scalar {
      let b0 = bytes[at]
      let (count, minimum): (Int, UInt32)
      switch b0 {
      case 0x00...0x7F:
        at += 1
        return Unicode.Scalar(b0)
      case 0xC2...0xDF: (count, minimum) = (2, 0x80)
      case 0xE0...0xEF: (count, minimum) = (3, 0x800)
      case 0xF0...0xF4: (count, minimum) = (4, 0x10000)
      default: throw fail("invalid UTF-8")
      }
      guard at + count <= bytes.count else { throw fail("invalid UTF-8") }
      var v = UInt32(b0) & (0xFF >> (count + 1))
      for k in 1..<count {
        let b = bytes[at + k]
        guard b & 0xC0 == 0x80 else { throw fail("invalid UTF-8") }
        v = v << 6 | UInt32(b & 0x3F)
      }
      guard v >= minimum, let scalar = Unicode.Scalar(v) else { throw fail("invalid UTF-8") }
      at += count
      return scalar
    }
  }
}
