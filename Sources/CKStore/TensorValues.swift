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
    }
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
