import CKKernels

/// The Adam update shared by `Adam` and `AdamW`, with bias correction and per-parameter steps.
struct _AdamCore {
  var beta1: Float
  var beta2: Float
  var epsilon: Float
  var weightDecay: Float
  var decoupled: Bool
  var m: [String: Tensor] = [:]
  var v: [String: Tensor] = [:]
  var steps: [String: Int64] = [:]
  var step = 0

  static let mSlot = "/adam.m"
  static let vSlot = "/adam.v"
  static let stepSlot = "/adam.step"
  static let slots = (
    tensors: [String(mSlot.dropFirst()), String(vSlot.dropFirst())],
    counters: [String(stepSlot.dropFirst())]
  )

  mutating func update(
    _ parameters: [(name: String, parameter: Parameter)], _ gradients: [String: Tensor], lr: Float
  ) throws {
    try _validate(parameters, gradients) { name, shape in
      [(Self.mSlot, m[name]?.shape), (Self.vSlot, v[name]?.shape)].compactMap { slot, s in
        s.map { $0 == shape ? nil : "\(name + slot): state \($0) vs parameter \(shape)" } ?? nil
      }
    }
    let (b1, b2, eps, wd, decoupled) = (beta1, beta2, epsilon, weightDecay, decoupled)
    for (name, p) in parameters where p.isTrainable {
      guard let g = gradients[name] else { continue }
      let t = (steps[name] ?? 0) + 1
      steps[name] = t
      // Bias corrections in Double: 1 − β^t loses digits in Float for β2 = 0.999 and small t.
      let c1 = Float(1 - _pow(Double(b1), t))
      let c2 = Float(1 - _pow(Double(b2), t))
      var mt = m[name] ?? Tensor(shape: p.shape)
      var vt = v[name] ?? Tensor(shape: p.shape)
      m[name] = nil
      v[name] = nil
      let gp = g.storage.base
      mt.withUnsafeMutableBufferPointer { mb in
        vt.withUnsafeMutableBufferPointer { vb in
          let (mp, vp) = (mb.baseAddress!, vb.baseAddress!)
          p._mutate { w, n in
            _adamKernel(
              w, gp, mp, vp, n, lr: lr, b1: b1, b2: b2, eps: eps, c1: c1, c2: c2, wd: wd,
              decoupled: decoupled)
          }
        }
      }
      m[name] = mt
      v[name] = vt
    }
    step += 1
  }

  func stateTensors() -> [(name: String, tensor: Tensor)] {
    (m.map { ($0.key + Self.mSlot, $0.value) } + v.map { ($0.key + Self.vSlot, $0.value) })
      .sorted { $0.0 < $1.0 }
  }

  func stateCounters() -> [(name: String, value: Int64)] {
    ([("step", Int64(step))] + steps.map { ($0.key + Self.stepSlot, $0.value) }).sorted {
      $0.0 < $1.0
    }
  }

  mutating func load(_ tensors: [String: Tensor], _ counters: [String: Int64]) throws {
    try _validateLoad(
      tensors, counters, tensorSuffixes: [Self.mSlot, Self.vSlot], counterSuffixes: [Self.stepSlot])
    m = [:]
    v = [:]
    steps = [:]
    for (k, t) in tensors {
      if k.hasSuffix(Self.mSlot) { m[String(k.dropLast(Self.mSlot.count))] = t.detached }
      if k.hasSuffix(Self.vSlot) { v[String(k.dropLast(Self.vSlot.count))] = t.detached }
    }
    for (k, c) in counters where k.hasSuffix(Self.stepSlot) {
      steps[String(k.dropLast(Self.stepSlot.count))] = c
    }
    step = Int(counters["step"]!)
  }
}

/// One Adam update of `n` elements in place, vectorised in `CKKernels` (see `ck_adam_update`).
@inline(__always)
func _adamKernel(
  _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
  _ v: UnsafeMutablePointer<Float>, _ n: Int, lr: Float, b1: Float, b2: Float, eps: Float,
  c1: Float, c2: Float, wd: Float, decoupled: Bool
) {
  ck_adam_update(
    n, w, g, m, v, lr, b1, b2, eps, c1, c2, decoupled ? 1 - lr * wd : 1, decoupled ? 0 : wd)
}

/// x^n for a non-negative integer n, by squaring (exact order of operations on every platform).
func _pow(_ x: Double, _ n: Int64) -> Double {
  var result = 1.0
  var base = x
  var e = n
  while e > 0 {
    if e & 1 == 1 { result *= base }
    base *= base
    e >>= 1
  }
  return result
}

/// What `Adam` and `AdamW` share: the update and state handling of `_AdamCore` behind the
/// `Optimizer` protocol. Not used directly; the two subclasses differ only in how weight decay is
/// applied and in their defaults.
public class _AdamOptimizer: Optimizer {
  var core: _AdamCore
  /// The learning rate as a function of `step`.
  public var schedule: LearningRateSchedule
  /// The number of updates applied so far.
  public var step: Int { core.step }

  init(schedule: LearningRateSchedule, core: _AdamCore) {
    self.schedule = schedule
    self.core = core
  }

  /// Applies one update; see `Optimizer.update`.
  public func update(
    _ parameters: [(name: String, parameter: Parameter)], gradients: [String: Tensor]
  ) throws {
    try core.update(parameters, gradients, lr: schedule(step: core.step))
  }

  /// `adam.m`, `adam.v` and the counter `adam.step`.
  public var stateSlots: (tensors: [String], counters: [String]) { _AdamCore.slots }
  /// `<param>/adam.m` and `<param>/adam.v` for every parameter updated so far.
  public func stateTensors() -> [(name: String, tensor: Tensor)] { core.stateTensors() }
  /// `step` and `<param>/adam.step`.
  public func stateCounters() -> [(name: String, value: Int64)] { core.stateCounters() }
  /// Replaces the state; see `Optimizer.loadState`.
  public func loadState(tensors: [String: Tensor], counters: [String: Int64]) throws {
    try core.load(tensors, counters)
  }
}

/// Adam (Kingma & Ba) with bias correction; `weightDecay` is an L2 penalty added to gradients.
///
/// m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1ᵗ),
/// v̂ = v/(1−β2ᵗ), t counted per parameter. State: `<param>/adam.m`, `<param>/adam.v` (tensors),
/// `<param>/adam.step` and `step` (counters).
public final class Adam: _AdamOptimizer {
  /// An Adam optimizer.
  public init(
    learningRate: LearningRateSchedule, beta1: Float = 0.9, beta2: Float = 0.999,
    epsilon: Float = 1e-7, weightDecay: Float = 0
  ) {
    super.init(
      schedule: learningRate,
      core: _AdamCore(
        beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: false))
  }
}

/// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, p ← p − lr·wd·p before the
/// Adam step. Same state names as `Adam`.
public final class AdamW: _AdamOptimizer {
  /// An AdamW optimizer.
  public init(
    learningRate: LearningRateSchedule, beta1: Float = 0.9, beta2: Float = 0.999,
    epsilon: Float = 1e-8, weightDecay: Float = 0.01
  ) {
    super.init(
      schedule: learningRate,
      core: _AdamCore(
        beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: true))
  }
}
