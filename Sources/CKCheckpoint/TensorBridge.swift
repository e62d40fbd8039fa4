import CKEngine
import CKStore

/// Conversions between engine values and the store's named byte buffers.
enum TensorBridge {
  /// The tensor's bytes borrowed without a copy; the source keeps the storage alive and the
  /// tensor's next mutation copies it first.
  static func source(_ name: String, _ tensor: Tensor) throws -> TensorSource {
    let (bytes, owner) = tensor.sharedBytes
    return try TensorSource(
      name: name, dtype: .float32, shape: tensor.shape, borrowing: bytes, owner: owner)
  }

  static func data(_ name: String, int64 values: [Int64], shape: [Int]) throws -> TensorData {
    try TensorData(
      name: name, dtype: .int64, shape: shape,
      bytes: values.map(\.littleEndian).withUnsafeBytes { [UInt8]($0) })
  }

  static func data(_ name: String, float64 value: Double) throws -> TensorData {
    try TensorData(
      name: name, dtype: .float64, shape: [],
      bytes: withUnsafeBytes(of: value.bitPattern.littleEndian) { [UInt8]($0) })
  }

  static func tensor(_ data: TensorData) throws -> Tensor {
    try data.bytes.withUnsafeBytes { try Tensor(shape: data.shape, bytes: $0) }
  }

  static func int64s(_ data: TensorData) -> [Int64] {
    data.bytes.withUnsafeBytes { raw in
      (0..<data.bytes.count / 8).map {
        Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))
      }
    }
  }

  static func float64(_ data: TensorData) -> Double {
    data.bytes.withUnsafeBytes {
      Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)))
    }
  }
}
