/// A dense Int32 tensor (contiguous, row-major) for labels, token ids and indices.
///
/// Not differentiable; used as the index operand of `embedding` and `softmaxCrossEntropy`.
public struct IntTensor: @unchecked Sendable {
  /// The extent of each axis, outermost first.
  public let shape: [Int]
  @usableFromInline let storage: _Storage<Int32>

  /// A tensor of the given shape holding `scalars` in row-major order.
  ///
  /// - Throws: `EngineError.Code.sizeMismatch` if `scalars.count` is not the product of `shape`.
  public init(shape: [Int], scalars: [Int32]) throws {
    guard shape.allSatisfy({ $0 >= 0 }), _product(shape) == scalars.count else {
      throw EngineError(.sizeMismatch, "\(scalars.count) Int32 scalars cannot fill shape \(shape)")
    }
    let s = _Storage<Int32>(uninitializedCount: scalars.count)
    scalars.withUnsafeBufferPointer { src in
      if let from = src.baseAddress { s.base.update(from: from, count: src.count) }
    }
    storage = s
    self.shape = shape
  }

  /// A tensor of the given shape from raw little-endian Int32 bytes (the checkpoint format).
  ///
  /// - Throws: `EngineError.Code.sizeMismatch` if the byte count is not `4 ×` the element count.
  public init(shape: [Int], bytes: UnsafeRawBufferPointer) throws {
    let n = _product(shape)
    guard shape.allSatisfy({ $0 >= 0 }), bytes.count == n * 4 else {
      throw EngineError(.sizeMismatch, "\(bytes.count) bytes cannot fill Int32 shape \(shape)")
    }
    let s = _Storage<Int32>(uninitializedCount: n)
    if let from = bytes.baseAddress {
      UnsafeMutableRawPointer(s.base).copyMemory(from: from, byteCount: bytes.count)
    }
    storage = s
    self.shape = shape
  }

  /// A rank-1 tensor holding `scalars`.
  public init(_ scalars: [Int32]) {
    try! self.init(shape: [scalars.count], scalars: scalars)
  }

  @usableFromInline
  init(shape: [Int], fill body: (UnsafeMutablePointer<Int32>) -> Void) {
    storage = _Storage(uninitializedCount: _product(shape))
    body(storage.base)
    self.shape = shape
  }

  /// The number of elements.
  public var count: Int { storage.count }
  /// The elements in row-major order.
  public var scalars: [Int32] { Array(UnsafeBufferPointer(start: storage.base, count: count)) }

  /// Calls `body` with the elements' bytes (little-endian Int32, row-major), without copying.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try body(UnsafeRawBufferPointer(start: storage.base, count: count * 4))
  }
}
