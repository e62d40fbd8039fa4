/// The element type of a stored tensor: every dtype the safetensors format defines.
///
/// Raw values are the on-disk codes (docs/FORMAT.md); never renumber them. Codes 1–10 are the
/// original set; 11 and up were added with format-compatible readers in mind (an old reader
/// refuses an unknown code as a damaged tree instead of misreading it).
public enum DType: UInt8, CaseIterable, Sendable, Codable, CustomStringConvertible {
  /// IEEE 754 binary32.
  case float32 = 1
  /// IEEE 754 binary64.
  case float64 = 2
  /// IEEE 754 binary16.
  case float16 = 3
  /// The upper 16 bits of a binary32 (brain float).
  case bfloat16 = 4
  /// Signed 8-bit integer.
  case int8 = 5
  /// Signed 16-bit integer.
  case int16 = 6
  /// Signed 32-bit integer.
  case int32 = 7
  /// Signed 64-bit integer.
  case int64 = 8
  /// Unsigned 8-bit integer.
  case uint8 = 9
  /// One byte per element, 0 or 1.
  case bool = 10
  /// Unsigned 16-bit integer.
  case uint16 = 11
  /// Unsigned 32-bit integer.
  case uint32 = 12
  /// Unsigned 64-bit integer.
  case uint64 = 13
  /// 8-bit float, 4 exponent and 3 mantissa bits, no infinities (OCP FP8 E4M3, `F8_E4M3`).
  case float8E4M3 = 14
  /// 8-bit float, 5 exponent and 2 mantissa bits (OCP FP8 E5M2, `F8_E5M2`).
  case float8E5M2 = 15
  /// 8-bit power-of-two scale, exponent only (OCP MX E8M0, `F8_E8M0`).
  case float8E8M0 = 16
  /// 8-bit float E4M3 with the "fnuz" encoding (one NaN, no negative zero, bias 8).
  case float8E4M3FNUZ = 17
  /// 8-bit float E5M2 with the "fnuz" encoding (one NaN, no negative zero, bias 16).
  case float8E5M2FNUZ = 18
  /// Complex number of two binary32 (real, then imaginary).
  case complex64 = 19
  /// 4-bit float E2M1 (OCP MX FP4), two elements per byte, low nibble first.
  case float4 = 20
  /// 6-bit float E2M3 (OCP MX FP6), elements packed LSB-first into bytes.
  case float6E2M3 = 21
  /// 6-bit float E3M2 (OCP MX FP6), elements packed LSB-first into bytes.
  case float6E3M2 = 22

  /// Bits per element: 4 and 6 for the packed sub-byte floats, a multiple of 8 otherwise.
  public var bitWidth: Int {
    switch self {
    case .float4: return 4
    case .float6E2M3, .float6E3M2: return 6
    case .int8, .uint8, .bool, .float8E4M3, .float8E5M2, .float8E8M0, .float8E4M3FNUZ,
      .float8E5M2FNUZ:
      return 8
    case .float16, .bfloat16, .int16, .uint16: return 16
    case .float32, .int32, .uint32: return 32
    case .float64, .int64, .uint64, .complex64: return 64
    }
  }

  /// Bytes per element for whole-byte dtypes; 1 for the packed sub-byte floats, whose tensors
  /// are sized in bits (see `TensorInfo.byteCount(dtype:shape:)`).
  public var size: Int { max(1, bitWidth / 8) }

  /// Whether elements are packed below one byte each (`float4`, `float6…`).
  public var isSubByte: Bool { bitWidth < 8 }

  /// Whether the elements are floating point (complex and FP8/FP6/FP4 formats included).
  public var isFloatingPoint: Bool {
    switch self {
    case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .bool: return false
    default: return true
    }
  }

  /// Whether the elements are integers (signed or unsigned; not bool).
  public var isInteger: Bool {
    switch self {
    case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: return true
    default: return false
    }
  }

  /// The lowercase name used by the CLI and JSON output (`float32`, `bfloat16`, `float8_e4m3`, …).
  public var name: String {
    switch self {
    case .float32: return "float32"
    case .float64: return "float64"
    case .float16: return "float16"
    case .bfloat16: return "bfloat16"
    case .int8: return "int8"
    case .int16: return "int16"
    case .int32: return "int32"
    case .int64: return "int64"
    case .uint8: return "uint8"
    case .bool: return "bool"
    case .uint16: return "uint16"
    case .uint32: return "uint32"
    case .uint64: return "uint64"
    case .float8E4M3: return "float8_e4m3"
    case .float8E5M2: return "float8_e5m2"
    case .float8E8M0: return "float8_e8m0"
    case .float8E4M3FNUZ: return "float8_e4m3fnuz"
    case .float8E5M2FNUZ: return "float8_e5m2fnuz"
    case .complex64: return "complex64"
    case .float4: return "float4"
    case .float6E2M3: return "float6_e2m3"
    case .float6E3M2: return "float6_e3m2"
    }
  }

  /// The name safetensors uses (`F32`, `BF16`, `F8_E4M3`, `BOOL`, …).
  public var safetensorsName: String {
    switch self {
    case .float32: return "F32"
    case .float64: return "F64"
    case .float16: return "F16"
    case .bfloat16: return "BF16"
    case .int8: return "I8"
    case .int16: return "I16"
    case .int32: return "I32"
    case .int64: return "I64"
    case .uint8: return "U8"
    case .bool: return "BOOL"
    case .uint16: return "U16"
    case .uint32: return "U32"
    case .uint64: return "U64"
    case .float8E4M3: return "F8_E4M3"
    case .float8E5M2: return "F8_E5M2"
    case .float8E8M0: return "F8_E8M0"
    case .float8E4M3FNUZ: return "F8_E4M3FNUZ"
    case .float8E5M2FNUZ: return "F8_E5M2FNUZ"
    case .complex64: return "C64"
    case .float4: return "F4"
    case .float6E2M3: return "F6_E2M3"
    case .float6E3M2: return "F6_E3M2"
    }
  }

  /// Looks up a dtype by its safetensors name.
  public init?(safetensorsName: String) {
    guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else {
      return nil
    }
    self = match
  }

  /// The lowercase name.
  public var description: String { name }
}
