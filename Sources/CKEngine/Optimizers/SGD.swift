/// Stochastic gradient descent with optional momentum (heavy-ball or Nesterov) and L2 weight decay.
///
/// With momentum μ: v ← μ·v + g; the step is v (or g + μ·v for Nesterov); p ← p − lr·step.
/// Weight decay adds `weightDecay · p` to g first. State: `<param>/sgd.momentum` (only when μ > 0).
public final class SGD: Optimizer {
  /// The number of updates applied so far.
  public private(set) var step = 0
  /// The learning rate as a function of `step`.
  public var schedule: LearningRateSchedule
  /// The momentum coefficient μ (0 for plain SGD).
  public let momentum: Float
  /// Whether to use Nesterov momentum.
  public let nesterov: Bool
  /// The L2 penalty coefficient added to gradients.
  public let weightDecay: Float
  private var velocity: [String: Tensor] = [:]

  static let slot = "/sgd.momentum"

  /// An SGD optimizer.
  public init(
    learningRate: LearningRateSchedule, momentum: Float = 0, nesterov: Bool = false,
    weightDecay: Float = 0
  ) {
    schedule = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
  }

  /// Applies one update; see `Optimizer.update`.
  public func update(
    _ parameters: [(name: String, parameter: Parameter)], gradients: [String: Tensor]
  ) throws {
    try _validate(parameters, gradients) { name, shape in
      velocity[name].map {
        $0.shape == shape ? [] : ["\(name + Self.slot): state \($0.shape) vs parameter \(shape)"]
      } ?? []
    }
    let lr = schedule(step: step)
    let (mu, wd, nest) = (momentum, weightDecay, nesterov)
    for (name, p) in parameters where p.isTrainable {
      guard let g = gradients[name] else { continue }
      let gp = g.storage.base
      if mu == 0 {
        p._mutate { w, n in for i in 0..<n { w[i] -= lr * (gp[i] + wd * w[i]) } }
        continue
      }
      var v = velocity[name] ?? Tensor(shape: p.shape)
      velocity[name] = nil  // keep the storage unique so it is updated in place
      v.withUnsafeMutableBufferPointer { vb in
        let vp = vb.baseAddress!
        p._mutate { w, n in
          for i in 0..<n {
            let gi = gp[i] + wd * w[i]
            vp[i] = mu * vp[i] + gi
            w[i] -= lr * (nest ? gi + mu * vp[i] : vp[i])
          }
        }
      }
      velocity[name] = v
    }
    step += 1
  }

  /// `sgd.momentum` when μ > 0; nothing for plain SGD.
  public var stateSlots: (tensors: [String], counters: [String]) {
    (momentum > 0 ? [String(Self.slot.dropFirst())] : [], [])
  }

  /// `<param>/sgd.momentum` for every parameter updated so far.
  public func stateTensors() -> [(name: String, tensor: Tensor)] {
    velocity.sorted { $0.key < $1.key }.map { ($0.key + Self.slot, $0.value) }
  }

  /// `step`.
  public func stateCounters() -> [(name: String, value: Int64)] { [("step", Int64(step))] }

  /// Replaces the state; see `Optimizer.loadState`.
  public func loadState(tensors: [String: Tensor], counters: [String: Int64]) throws {
    try _validateLoad(tensors, counters, tensorSuffixes: [Self.slot], counterSuffixes: [])
    velocity = [:]
    for (k, t) in tensors { velocity[String(k.dropLast(Self.slot.count))] = t.detached }
    step = Int(counters["step"]!)
  }
}
