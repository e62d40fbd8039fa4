#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The learning rate as a function of the update step (0 for the first update).
public enum LearningRateSchedule: Sendable, Equatable {
  /// The same rate at every step.
  case constant(Float)
  /// Linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay to `minimum` at
  /// `totalSteps`, and `minimum` after that.
  case warmupCosine(peak: Float, warmupSteps: Int, totalSteps: Int, minimum: Float)

  /// The rate for update number `step`.
  public func callAsFunction(step: Int) -> Float {
    switch self {
    case .constant(let lr):
      return lr
    case .warmupCosine(let peak, let warmup, let total, let minimum):
      if step < warmup { return peak * Float(step + 1) / Float(warmup) }
      if step >= total { return minimum }
      let progress = Double(step - warmup) / Double(max(1, total - warmup))
      return minimum + (peak - minimum) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
  }
}
