/// The element type of a stored tensor.
///
/// Raw values are the on-disk codes (docs/FORMAT.md); never renumber them.
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

  /// Bytes per element.
  public var size: Int {
    switch self {
    case .float64, .int64: return 8
    case .float32, .int32: return 4
    case .float16, .bfloat16, .int16: return 2
    case .int8, .uint8, .bool: return 1
    }
  }

  /// Whether the elements are floating point.
  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float64, .float16, .bfloat16: return true
    default: return false
    }
  }

  /// The lowercase name used by the CLI and JSON output (`float32`, `bfloat16`, …).
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
    }
  }

  /// The name safetensors uses (`F32`, `BF16`, `BOOL`, …).
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
