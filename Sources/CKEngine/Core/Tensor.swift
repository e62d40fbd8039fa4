/// A dense Float32 tensor: contiguous, row-major, any rank (rank 0 is a scalar).
///
/// `Tensor` is a value type with copy-on-write storage: copies are cheap and a mutation never
/// shows through another copy. Operations on tensors (`+`, `matmul`, `relu()`, ...) are recorded
/// by an active `GradientTape` when one of their inputs is being watched; otherwise they just
/// compute. Shapes are checked with preconditions inside expressions; constructors that take
/// external data throw `EngineError`.
public struct Tensor: @unchecked Sendable {
  /// The extent of each axis, outermost first.
  public let shape: [Int]
  @usableFromInline var storage: _Storage<Float>
  /// The tape that watches this tensor (0: none) and the node it is on that tape.
  @usableFromInline var _tapeID: UInt32 = 0
  @usableFromInline var _node: Int32 = -1

  @usableFromInline
  init(shape: [Int], storage: _Storage<Float>) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
    precondition(_product(shape) == storage.count, "shape \(shape) does not match storage")
    self.shape = shape
    self.storage = storage
  }

  /// A tensor of the given shape with every element equal to `value`.
  public init(shape: [Int], repeating value: Float = 0) {
    self.init(shape: shape, storage: _Storage(repeating: value, count: _product(shape)))
  }

  /// A tensor with uninitialised contents, filled by `body` through a pointer to all elements.
  @inlinable
  init(shape: [Int], fill body: (UnsafeMutablePointer<Float>) -> Void) {
    let s = _Storage<Float>(uninitializedCount: _product(shape))
    body(s.base)
    self.init(shape: shape, storage: s)
  }

  /// A rank-0 tensor holding `value`.
  public init(_ value: Float) {
    self.init(shape: [], repeating: value)
  }

  /// A tensor of the given shape holding `scalars` in row-major order.
  ///
  /// - Throws: `EngineError.Code.sizeMismatch` if `scalars.count` is not the product of `shape`,
  ///   `.invalidArgument` for a negative extent.
  public init(shape: [Int], scalars: [Float]) throws {
    guard shape.allSatisfy({ $0 >= 0 }) else {
      throw EngineError(.invalidArgument, "negative extent in shape \(shape)")
    }
    guard _product(shape) == scalars.count else {
      throw EngineError(
        .sizeMismatch, "\(scalars.count) scalars cannot fill shape \(shape) (\(_product(shape)))")
    }
    let s = _Storage<Float>(uninitializedCount: scalars.count)
    scalars.withUnsafeBufferPointer { src in
      if let from = src.baseAddress { s.base.update(from: from, count: src.count) }
    }
    self.init(shape: shape, storage: s)
  }

  /// A tensor of the given shape from raw little-endian Float32 bytes (the checkpoint format).
  ///
  /// - Throws: `EngineError.Code.sizeMismatch` if the byte count is not `4 ×` the element count.
  public init(shape: [Int], bytes: UnsafeRawBufferPointer) throws {
    guard shape.allSatisfy({ $0 >= 0 }) else {
      throw EngineError(.invalidArgument, "negative extent in shape \(shape)")
    }
    let n = _product(shape)
    guard bytes.count == n * 4 else {
      throw EngineError(
        .sizeMismatch, "\(bytes.count) bytes cannot fill Float32 shape \(shape) (\(n * 4) bytes)")
    }
    let s = _Storage<Float>(uninitializedCount: n)
    if let from = bytes.baseAddress {
      UnsafeMutableRawPointer(s.base).copyMemory(from: from, byteCount: bytes.count)
    }
    self.init(shape: shape, storage: s)
  }

  /// The number of axes.
  public var rank: Int { shape.count }
  /// The number of elements.
  public var count: Int { storage.count }
  /// The elements in row-major order.
  public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.base, count: count)) }

  /// The single element of a tensor with one element (any rank), for losses and metrics.
  public var item: Float {
    precondition(count == 1, "item of a tensor of shape \(shape)")
    return storage.base[0]
  }

  /// Calls `body` with the elements' bytes (little-endian Float32, row-major), without copying.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try body(UnsafeRawBufferPointer(start: storage.base, count: count * 4))
  }

  /// Calls `body` with the elements, without copying.
  public func withUnsafeBufferPointer<R>(
    _ body: (UnsafeBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    try body(UnsafeBufferPointer(start: storage.base, count: count))
  }

  /// Calls `body` with mutable access to the elements, copying first if the storage is shared.
  ///
  /// The result is a fresh value as far as autodiff is concerned: it is no longer watched.
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    _tapeID = 0
    _node = -1
    return try body(UnsafeMutableBufferPointer(start: storage.base, count: count))
  }

  /// The same elements without autodiff tracking (like `tf.stop_gradient`).
  public var detached: Tensor { Tensor(shape: shape, storage: storage) }

  /// Whether both tensors have the same shape and bit-identical elements.
  public func bitwiseEquals(_ other: Tensor) -> Bool {
    shape == other.shape
      && memcmp(storage.base, other.storage.base, count * 4) == 0
  }
}

extension Tensor: CustomStringConvertible {
  /// The shape and up to eight leading elements.
  public var description: String {
    let head = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
    return "Tensor(shape: \(shape), [\(head)\(count > 8 ? ", ..." : "")])"
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
