/// A tensor to commit, with its bytes where they already are: an owned array, memory the caller
/// lends for the length of the commit, or a region of a file that the commit pipeline reads chunk
/// by chunk. Nothing is copied in advance, so a commit holds only the chunks in flight
/// (`Store.writeWidth` of them) whatever the checkpoint's size.
public struct TensorSource: @unchecked Sendable {
  /// The full name (`model.dense1.weight`).
  public let name: String
  /// The element type.
  public let dtype: DType
  /// The dimensions; empty for a scalar.
  public let shape: [Int]
  /// The canonical bytes' length: element count × dtype size.
  public let byteCount: Int
  let storage: Storage

  enum Storage {
    case owned([UInt8])
    /// Memory the caller keeps valid and unchanged until the commit returns; `owner`, when
    /// given, is retained so the memory it owns outlives the source.
    case borrowed(UnsafeRawBufferPointer, owner: AnyObject?)
    case file(SourceFile, offset: Int)
  }

  private init(name: String, dtype: DType, shape: [Int], byteCount: Int, storage: Storage) throws {
    let expected = try TensorData.validate(name: name, dtype: dtype, shape: shape)
    guard expected == byteCount else {
      throw StoreError(
        .invalidTensor,
        "tensor '\(name)': \(byteCount) bytes do not fit \(dtype) \(shape) (\(expected) expected)")
    }
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.byteCount = byteCount
    self.storage = storage
  }

  /// A tensor whose bytes are an owned array (no copy: arrays are copy-on-write).
  public init(_ tensor: TensorData) {
    name = tensor.name
    dtype = tensor.dtype
    shape = tensor.shape
    byteCount = tensor.bytes.count
    storage = .owned(tensor.bytes)
  }

  /// A tensor whose canonical bytes stay in the caller's memory: the commit reads them in place.
  ///
  /// The memory must stay valid and unchanged until the commit that takes this source returns
  /// (a change made meanwhile is stored as whatever was read, under the hash of what was read).
  /// `owner`, if given, is retained as long as the source, for memory an object owns.
  public init(
    name: String, dtype: DType, shape: [Int], borrowing bytes: UnsafeRawBufferPointer,
    owner: AnyObject? = nil
  ) throws {
    try self.init(
      name: name, dtype: dtype, shape: shape, byteCount: bytes.count,
      storage: .borrowed(bytes, owner: owner))
  }

  /// A tensor whose canonical bytes are `byteCount` bytes of `file` from `offset` on, read by the
  /// commit pipeline chunk by chunk. The commit fails, and nothing is committed, if the file is
  /// shorter than that or changes before the commit is written.
  public init(
    name: String, dtype: DType, shape: [Int], file: SourceFile, offset: Int, byteCount: Int
  ) throws {
    guard offset >= 0, byteCount <= file.size - offset else {
      throw StoreError(
        .invalidArgument,
        "tensor '\(name)': bytes \(offset)..<\(offset + byteCount) lie outside '\(file.path)' "
          + "(\(file.size) bytes)")
    }
    try self.init(
      name: name, dtype: dtype, shape: shape, byteCount: byteCount,
      storage: .file(file, offset: offset))
  }

  /// Calls `body` with the bytes of `range`: in place for memory, read into a buffer of
  /// `range.count` bytes (freed on return) for files.
  func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    switch storage {
    case .owned(let bytes):
      return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    case .borrowed(let bytes, _):
      return try body(UnsafeRawBufferPointer(rebasing: bytes[range]))
    case .file(let file, let offset):
      var buffer = [UInt8].uninitialized(count: range.count)
      try buffer.withUnsafeMutableBytes {
        try file.read(into: $0, at: offset + range.lowerBound, for: name)
      }
      return try buffer.withUnsafeBytes { try body($0) }
    }
  }

  /// The file this tensor is read from, if any.
  var file: SourceFile? {
    if case .file(let file, _) = storage { return file }
    return nil
  }
}
