/// A named tensor with its canonical bytes (little-endian, row-major), ready to commit or just read.
public struct TensorData: Equatable, Sendable {
  /// The full name (`model.dense1.weight`).
  public var name: String
  /// The element type.
  public var dtype: DType
  /// The dimensions; empty for a scalar.
  public var shape: [Int]
  /// The canonical bytes: element count × dtype size of them.
  public var bytes: [UInt8]

  /// Creates a tensor after checking its name and that `bytes` fits `dtype` and `shape`.
  public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) throws {
    let expected = try Self.validate(name: name, dtype: dtype, shape: shape)
    guard expected == bytes.count else {
      throw StoreError(
        .invalidTensor,
        "tensor '\(name)': \(bytes.count) bytes do not fit \(dtype) \(shape) (\(expected) expected)"
      )
    }
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.bytes = bytes
  }

  /// Checks a tensor's name and shape; returns the byte count `dtype` and `shape` need.
  static func validate(name: String, dtype: DType, shape: [Int]) throws -> Int {
    try TensorName.validate(name)
    guard shape.allSatisfy({ $0 >= 0 }) else {
      throw StoreError(.invalidTensor, "tensor '\(name)': negative dimension in shape \(shape)")
    }
    guard shape.count <= 255 else {
      throw StoreError(.invalidTensor, "tensor '\(name)': rank \(shape.count) exceeds 255")
    }
    guard let expected = TensorInfo.byteCount(dtype: dtype, shape: shape) else {
      throw StoreError(
        .invalidTensor,
        "tensor '\(name)': shape \(shape) is too large"
          + (dtype.isSubByte ? " or its \(dtype) elements do not fill whole bytes" : ""))
    }
    return expected
  }

  /// A tensor holding a copy of a source's bytes (read from its file, for a file source).
  public init(copying source: TensorSource) throws {
    let bytes = try source.withBytes(0..<source.byteCount) { Array($0) }
    try self.init(name: source.name, dtype: source.dtype, shape: source.shape, bytes: bytes)
  }

  /// A float32 tensor from values.
  public init(name: String, shape: [Int], float32 values: [Float]) throws {
    let bytes = values.withUnsafeBytes { Array($0) }
    try self.init(name: name, dtype: .float32, shape: shape, bytes: bytes)
  }
}
