import Synchronization

/// Records differentiable operations so that gradients of a result can be computed in reverse.
///
/// Like TF2's `tf.GradientTape`: run the forward computation inside `record { ... }`, then ask for
/// gradients. Inside `record`, every trainable `Parameter` read through `.value` is watched
/// automatically; other tensors are watched with `watch(_:)`. An operation is recorded only when
/// one of its inputs is watched (directly or through earlier operations), so constants cost nothing.
///
/// ```swift
/// let tape = GradientTape()
/// let loss = tape.record { softmaxCrossEntropy(logits: model(x), labels: y) }
/// let grads = tape.gradients(of: loss, for: model)   // ["dense1.weight": ..., ...]
/// ```
///
/// A tape is used by one thread at a time. Gradients are accumulated in the reverse of recording
/// order, so they are deterministic. Higher-order gradients are not supported: the backward pass
/// itself is not recorded.
public final class GradientTape: @unchecked Sendable {
  @TaskLocal static var _current: GradientTape?
  private static let _nextID = Atomic<UInt32>(1)

  struct Node {
    /// Input node ids of this operation (-1 for inputs that are not watched).
    let inputs: [Int32]
    /// Maps the gradient of the output to gradients of the inputs (nil for leaves).
    let backward: ((Tensor) -> [Tensor?])?
    let shape: [Int]
  }

  let id: UInt32
  var nodes: [Node] = []
  private var parameterTensors: [ObjectIdentifier: Tensor] = [:]

  /// Creates an empty tape.
  public init() {
    id = Self._nextID.wrappingAdd(1, ordering: .relaxed).oldValue
  }

  /// The number of recorded operations and watched tensors.
  public var recordedCount: Int { nodes.count }

  /// Runs `body` with this tape active, recording operations on watched tensors and parameters.
  public func record<R>(_ body: () throws -> R) rethrows -> R {
    try GradientTape.$_current.withValue(self, operation: body)
  }

  /// Returns `tensor` marked as a source on this tape; gradients can then be asked with respect to
  /// the returned value.
  public func watch(_ tensor: Tensor) -> Tensor {
    var t = tensor.detached
    t._tapeID = id
    t._node = Int32(nodes.count)
    nodes.append(Node(inputs: [], backward: nil, shape: tensor.shape))
    return t
  }

  /// The tensor of `parameter` watched on this tape (the same node for every read).
  func _track(_ parameter: Parameter) -> Tensor {
    let key = ObjectIdentifier(parameter)
    if let t = parameterTensors[key] { return t }
    let t = watch(parameter._value)
    parameterTensors[key] = t
    return t
  }

  /// Records `out` as computed from `inputs`; `backward` maps d(out) to d(input) for each input
  /// (it may return nil for inputs that are not watched).
  @usableFromInline
  func _append(
    _ out: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]
  ) -> Tensor {
    var t = out
    t._tapeID = id
    t._node = Int32(nodes.count)
    nodes.append(
      Node(
        inputs: inputs.map { $0._tapeID == id ? $0._node : -1 }, backward: backward,
        shape: out.shape))
    return t
  }

  /// Gradients of the sum of `target`'s elements with respect to each of `sources`.
  ///
  /// A source the target does not depend on gets a zero tensor of its shape.
  public func gradient(of target: Tensor, wrt sources: [Tensor]) -> [Tensor] {
    let grads = backpropagate(from: target)
    return sources.map { s in
      if s._tapeID == id, s._node >= 0, let g = grads[Int(s._node)] { return g }
      return Tensor(shape: s.shape)
    }
  }

  /// Gradients of `target` with respect to parameters (zeros for parameters not read on this tape).
  public func gradient(of target: Tensor, wrt parameters: [Parameter]) -> [Tensor] {
    let grads = backpropagate(from: target)
    return parameters.map { p in
      if let t = parameterTensors[ObjectIdentifier(p)], let g = grads[Int(t._node)] { return g }
      return Tensor(shape: p._value.shape)
    }
  }

  /// Gradients of `target` for the trainable parameters of `module`, keyed by canonical name.
  ///
  /// Parameters that `target` does not depend on are left out (like `None` in TF), so an
  /// optimizer leaves them untouched.
  public func gradients(of target: Tensor, for module: any Module) -> [String: Tensor] {
    let grads = backpropagate(from: target)
    var result: [String: Tensor] = [:]
    for (name, p) in module.namedParameters() where p.isTrainable {
      if let t = parameterTensors[ObjectIdentifier(p)], let g = grads[Int(t._node)] {
        result[name] = g
      }
    }
    return result
  }

  /// Runs the backward pass; the result is indexed by node id.
  private func backpropagate(from target: Tensor) -> [Tensor?] {
    var grads = [Tensor?](repeating: nil, count: nodes.count)
    guard target._tapeID == id, target._node >= 0 else { return grads }
    grads[Int(target._node)] = Tensor(shape: target.shape, repeating: 1)
    GradientTape.$_current.withValue(nil) {
      for i in stride(from: Int(target._node), through: 0, by: -1) {
        guard let g = grads[i], let backward = nodes[i].backward else { continue }
        let inputGrads = backward(g)
        for (j, input) in nodes[i].inputs.enumerated() where input >= 0 {
          guard let ig = inputGrads[j] else { continue }
          let k = Int(input)
          if let existing = grads[k] { grads[k] = existing + ig } else { grads[k] = ig }
        }
        grads[i] = i == Int(target._node) ? g : nil
      }
    }
    return grads
  }
}

/// The active tape if any input of an operation is watched by it.
@inline(__always)
func _activeTape(_ a: Tensor) -> GradientTape? {
  if a._tapeID == 0 { return nil }
  if let t = GradientTape._current, t.id == a._tapeID { return t }
  return nil
}

/// The active tape if any of two inputs is watched by it.
@inline(__always)
func _activeTape(_ a: Tensor, _ b: Tensor) -> GradientTape? {
  if a._tapeID == 0 && b._tapeID == 0 { return nil }
  if let t = GradientTape._current, t.id == a._tapeID || t.id == b._tapeID { return t }
  return nil
}

/// Whether `t` needs a gradient on `tape`.
@inline(__always)
func _needs(_ t: Tensor, _ tape: GradientTape) -> Bool { t._tapeID == tape.id }

/// Runs `body` on a fresh tape and returns its value with the gradients of the value for the
/// trainable parameters of `model`, keyed by name (the closure form of `GradientTape`).
public func valueWithGradients(
  for model: any Module, _ body: () throws -> Tensor
) rethrows -> (value: Tensor, gradients: [String: Tensor]) {
  let tape = GradientTape()
  let value = try tape.record(body)
  return (value.detached, tape.gradients(of: value, for: model))
}
