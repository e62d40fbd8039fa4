extension Tensor {
  /// The elements' bytes (float32, little-endian on every platform Swift runs on) without a
  /// copy, and the object that owns them.
  ///
  /// The bytes stay valid and unchanged while `owner` is retained: holding it makes the storage
  /// shared, so a later mutation of this tensor (or of any copy) copies the storage first
  /// (copy-on-write) and never writes the bytes seen here. A checkpoint save uses this to take a
  /// consistent snapshot for free, paying for a copy only where training then changes a value.
  public var sharedBytes: (bytes: UnsafeRawBufferPointer, owner: AnyObject) {
    (UnsafeRawBufferPointer(start: storage.base, count: count * 4), storage)
  }
}
