/// A trainable (or frozen) tensor owned by a module: the unit that is named, optimised and saved.
///
/// A reference type, so a layer, an optimizer and a checkpoint all see the same value. Every
/// public path that changes the value (assignment, loading, an optimizer step) increments
/// `version`, which a checkpoint can use to tell whether a parameter changed since it was saved.
public final class Parameter {
  var _value: Tensor
  /// Whether optimizers update this parameter and tapes watch it. Frozen parameters are still
  /// listed by `namedParameters()` and still saved.
  public var isTrainable: Bool
  /// How many times the value has been changed through `assign`, `load` or an optimizer.
  public private(set) var version: UInt64 = 0

  /// A parameter holding `value`.
  public init(_ value: Tensor, trainable: Bool = true) {
    _value = value.detached
    isTrainable = trainable
  }

  /// The current value. Inside `GradientTape.record`, a trainable parameter's value is watched by
  /// that tape (the same elements, marked for gradients).
  public var value: Tensor {
    if isTrainable, let tape = GradientTape._current { return tape._track(self) }
    return _value
  }

  /// The shape of the value (fixed at creation).
  public var shape: [Int] { _value.shape }
  /// The number of elements.
  public var count: Int { _value.count }

  /// Replaces the value.
  ///
  /// - Throws: `EngineError.Code.shapeMismatch` if `newValue`'s shape differs from `shape`.
  public func assign(_ newValue: Tensor) throws {
    guard newValue.shape == shape else {
      throw EngineError(
        .shapeMismatch, "cannot assign shape \(newValue.shape) to a parameter of shape \(shape)")
    }
    _value = newValue.detached
    version &+= 1
  }

  /// Replaces the value from raw little-endian Float32 bytes (the checkpoint format).
  ///
  /// - Throws: `EngineError.Code.sizeMismatch` if the byte count does not match `shape`.
  public func load(bytes: UnsafeRawBufferPointer) throws {
    _value = try Tensor(shape: shape, bytes: bytes)
    version &+= 1
  }

  /// Mutates the elements in place (copying first if the storage is shared) and bumps `version`.
  func _mutate(_ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
    _value.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    version &+= 1
  }
}
