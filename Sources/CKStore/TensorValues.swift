/// Reads canonical little-endian tensor bytes as Doubles, for statistics.
enum TensorValues {
  /// Element `i` of `bytes` as a Double.
  @inline(__always)
  static func value(_ raw: UnsafeRawBufferPointer, _ dtype: DType, _ i: Int) -> Double {
    switch dtype {
    case .float32:
      return Double(
        Float(bitPattern: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian))
    case .float64:
      return Double(
        bitPattern: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian)
    case .float16:
      return Double(
        halfToFloat(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian))
    case .bfloat16:
      return Double(
        Float(
          bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
            << 16))
    case .int8: return Double(Int8(bitPattern: raw[i]))
    case .int16:
      return Double(raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self).littleEndian)
    case .int32:
      return Double(raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self).littleEndian)
    case .int64:
      return Double(raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self).littleEndian)
    case .uint8, .bool: return Double(raw[i])
    case .uint16:
      return Double(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
    case .uint32:
      return Double(raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
    case .uint64:
      return Double(raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian)
    case .float8E4M3: return miniFloat(raw[i], exponentBits: 4, bias: 7, nan: .allOnes)
    case .float8E5M2: return miniFloat(raw[i], exponentBits: 5, bias: 15, nan: .ieee)
    case .float8E4M3FNUZ: return miniFloat(raw[i], exponentBits: 4, bias: 8, nan: .negativeZero)
    case .float8E5M2FNUZ: return miniFloat(raw[i], exponentBits: 5, bias: 16, nan: .negativeZero)
    case .float8E8M0:
      return raw[i] == 0xFF
        ? .nan : Double(sign: .plus, exponent: Int(raw[i]) - 127, significand: 1)
    case .complex64, .float4, .float6E2M3, .float6E3M2:
      // No scalar value: callers check `hasScalarValues` first.
      return .nan
    }
  }

  /// Whether `value` gives each element as one real number (not for complex or packed dtypes).
  static func hasScalarValues(_ dtype: DType) -> Bool {
    !(dtype == .complex64 || dtype.isSubByte)
  }

  /// How an 8-bit float format spells NaN (and whether it has infinities).
  enum MiniFloatNaN {
    /// IEEE style: the all-ones exponent is infinity (mantissa 0) or NaN.
    case ieee
    /// No infinities; only S.1111.111 is NaN (OCP E4M3 "fn").
    case allOnes
    /// No infinities, no negative zero; the bit pattern 0x80 is the one NaN ("fnuz").
    case negativeZero
  }

  /// Decodes an 8-bit float with `exponentBits` exponent bits and the rest mantissa.
  static func miniFloat(_ byte: UInt8, exponentBits: Int, bias: Int, nan: MiniFloatNaN) -> Double {
    let mantissaBits = 7 - exponentBits
    let negative = byte & 0x80 != 0
    let exponent = Int(byte >> mantissaBits) & ((1 << exponentBits) - 1)
    let mantissa = Int(byte) & ((1 << mantissaBits) - 1)
    switch nan {
    case .ieee where exponent == (1 << exponentBits) - 1:
      return mantissa == 0 ? (negative ? -.infinity : .infinity) : .nan
    case .allOnes where byte & 0x7F == 0x7F: return .nan
    case .negativeZero where byte == 0x80: return .nan
    default: break
    }
    let magnitude =
      exponent == 0
      ? Double(mantissa) * Double(sign: .plus, exponent: 1 - bias - mantissaBits, significand: 1)
      : Double((1 << mantissaBits) | mantissa)
        * Double(sign: .plus, exponent: exponent - bias - mantissaBits, significand: 1)
    return negative ? -magnitude : magnitude
  }

  /// IEEE binary16 to binary32, exact for every input (subnormals, infinities, NaN).
  static func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
    if exponent == 0 {
      let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
      return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
  }
}
