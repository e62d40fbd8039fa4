/// A fixed-size, 64-byte aligned buffer of scalars shared by tensors (copy-on-write).
///
/// Kernels take `base` once and work on raw pointers; nothing indexes a Swift array in a loop.
@usableFromInline
final class _Storage<Element: BitwiseCopyable>: @unchecked Sendable {
  @usableFromInline let base: UnsafeMutablePointer<Element>
  @usableFromInline let count: Int

  @usableFromInline
  init(uninitializedCount count: Int) {
    self.count = count
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: max(count, 1) * MemoryLayout<Element>.stride, alignment: 64)
    base = raw.bindMemory(to: Element.self, capacity: max(count, 1))
  }

  @usableFromInline
  convenience init(repeating value: Element, count: Int) {
    self.init(uninitializedCount: count)
    base.initialize(repeating: value, count: count)
  }

  @usableFromInline
  func copy() -> _Storage<Element> {
    let s = _Storage(uninitializedCount: count)
    s.base.update(from: base, count: count)
    return s
  }

  deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// A pointer that may cross into `concurrentPerform` workers; each worker writes disjoint elements.
@usableFromInline
struct _SendablePointer<T>: @unchecked Sendable {
  @usableFromInline let p: UnsafeMutablePointer<T>
  @usableFromInline init(_ p: UnsafeMutablePointer<T>) { self.p = p }
  @usableFromInline init(_ p: UnsafePointer<T>) { self.p = UnsafeMutablePointer(mutating: p) }
}

/// The number of elements of a shape.
@inlinable
func _product(_ shape: [Int]) -> Int { shape.reduce(1, *) }
