/// Updates parameters from gradients, keeping per-parameter state under names derived from the
/// parameter names (`dense1.weight/adam.m`), so the state can be saved and restored like tensors.
///
/// State is created lazily on the first update of each parameter. `loadState` into a fresh
/// optimizer followed by `update` continues exactly as the saved optimizer would have.
public protocol Optimizer: AnyObject {
  /// The number of updates applied so far; the learning-rate schedule is evaluated at this step.
  var step: Int { get }
  /// The learning rate as a function of `step`.
  var schedule: LearningRateSchedule { get set }

  /// Applies one update to `parameters` (name, parameter pairs) with `gradients` keyed by name.
  ///
  /// Parameters without a gradient, and frozen parameters, are left untouched. All checks happen
  /// before anything changes.
  /// - Throws: `EngineError` `.unknownName` for gradients naming no parameter, `.shapeMismatch`
  ///   for a gradient or stored state of the wrong shape; one error lists every problem.
  func update(
    _ parameters: [(name: String, parameter: Parameter)], gradients: [String: Tensor]) throws

  /// The slots of per-parameter state this optimizer keeps, without the parameter name: tensors
  /// (`adam.m`, `adam.v`) and counters (`adam.step`). A checkpoint uses them to check saved state
  /// before loading it: an unknown slot is unexpected, an absent one missing.
  var stateSlots: (tensors: [String], counters: [String]) { get }

  /// The per-parameter state tensors, sorted by name (`<param>/<optimizer>.<slot>`).
  func stateTensors() -> [(name: String, tensor: Tensor)]

  /// The integer state, sorted by name: `step` and per-parameter counters such as
  /// `<param>/adam.step`.
  func stateCounters() -> [(name: String, value: Int64)]

  /// Replaces all state with saved tensors and counters (as returned by `stateTensors()` and
  /// `stateCounters()`).
  ///
  /// - Throws: `EngineError.Code.unknownName` listing every name this optimizer does not use, and
  ///   `.missingName` if `step` is missing. Shapes are checked against parameters at the next
  ///   `update`, since a fresh optimizer has not seen them yet.
  func loadState(tensors: [String: Tensor], counters: [String: Int64]) throws
}

extension Optimizer {
  /// Applies one update to the trainable parameters of `model`.
  public func update(_ model: any Module, gradients: [String: Tensor]) throws {
    try update(model.trainableParameters(), gradients: gradients)
  }

  /// The learning rate the next update will use.
  public var learningRate: Float { schedule(step: step) }
}

/// Checks that every gradient names a parameter of the same shape, and that the optimizer's stored
/// state matches (`stateProblems(name, shape)` describes mismatches); throws one error listing all.
func _validate(
  _ parameters: [(name: String, parameter: Parameter)], _ gradients: [String: Tensor],
  stateProblems: (String, [Int]) -> [String] = { _, _ in [] }
) throws {
  var matched = 0
  var mismatched: [String] = []
  for (name, p) in parameters {
    guard let g = gradients[name] else { continue }
    matched += 1
    if g.shape != p.shape {
      mismatched.append("\(name): gradient \(g.shape) vs parameter \(p.shape)")
    }
    mismatched += stateProblems(name, p.shape)
  }
  if matched < gradients.count {
    let known = Set(parameters.map(\.name))
    let unknown = gradients.keys.filter { !known.contains($0) }.sorted()
    throw EngineError(
      .unknownName, "gradients for unknown parameters: \(unknown.joined(separator: ", "))")
  }
  if !mismatched.isEmpty {
    throw EngineError(.shapeMismatch, mismatched.joined(separator: "; "))
  }
}

/// Checks that saved state uses only known slot suffixes and has `step`.
func _validateLoad(
  _ tensors: [String: Tensor], _ counters: [String: Int64], tensorSuffixes: [String],
  counterSuffixes: [String]
) throws {
  let badTensors = tensors.keys.filter { k in !tensorSuffixes.contains { k.hasSuffix($0) } }
  let badCounters = counters.keys.filter { k in
    k != "step" && !counterSuffixes.contains { k.hasSuffix($0) }
  }
  let bad = (badTensors + badCounters).sorted()
  if !bad.isEmpty {
    throw EngineError(
      .unknownName,
      "optimizer state names not used by this optimizer: \(bad.joined(separator: ", "))")
  }
  guard counters["step"] != nil else {
    throw EngineError(.missingName, "optimizer state has no 'step' counter")
  }
}

/// Rescales gradients so that their global L2 norm is at most `maxNorm`.
///
/// The norm is accumulated in Double in name order, so it is deterministic. Returns the clipped
/// gradients and the norm before clipping.
public func clipByGlobalNorm(
  _ gradients: [String: Tensor], maxNorm: Float
) -> (gradients: [String: Tensor], norm: Float) {
  var total = 0.0
  for name in gradients.keys.sorted() {
    gradients[name]!.withUnsafeBufferPointer { p in
      for x in p { total += Double(x) * Double(x) }
    }
  }
  let norm = Float(total.squareRoot())
  guard norm > maxNorm, norm > 0 else { return (gradients, norm) }
  let scale = Tensor(maxNorm / norm)
  return (gradients.mapValues { ($0 * scale).detached }, norm)
}
