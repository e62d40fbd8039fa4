#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A seedable xoshiro256** generator whose full state can be read and restored.
///
/// A reference type, so that layers (dropout), initialisers and data iterators can share one
/// stream and a checkpoint can capture it: `state` is four `UInt64` words; restoring them makes
/// the generator produce exactly the numbers it would have produced.
public final class RandomGenerator: RandomNumberGenerator {
  private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

  /// A generator seeded from `seed` through SplitMix64 (as recommended by xoshiro's authors).
  public init(seed: UInt64) {
    var x = seed
    func splitmix() -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s0 = splitmix()
    s1 = splitmix()
    s2 = splitmix()
    s3 = splitmix()
  }

  /// A generator continuing from a saved `state`.
  ///
  /// - Throws: `EngineError.Code.invalidArgument` unless `state` is four words, not all zero.
  public init(state: [UInt64]) throws {
    guard state.count == 4, state.contains(where: { $0 != 0 }) else {
      throw EngineError(.invalidArgument, "random generator state must be 4 words, not all zero")
    }
    (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
  }

  /// The full state: four words. `RandomGenerator(state:)` continues from it.
  public var state: [UInt64] {
    get { [s0, s1, s2, s3] }
    set {
      precondition(newValue.count == 4 && newValue.contains { $0 != 0 }, "invalid generator state")
      (s0, s1, s2, s3) = (newValue[0], newValue[1], newValue[2], newValue[3])
    }
  }

  /// The next 64 random bits.
  public func next() -> UInt64 {
    let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = s3 << 45 | s3 >> 19
    return result
  }

  /// A uniform Float in [0, 1) with 24 random bits.
  public func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// A uniform Double in [0, 1) with 53 random bits.
  public func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// A standard normal sample (Box–Muller in Double; one uniform pair per sample, no caching, so
  /// the state alone determines the stream).
  public func nextNormal() -> Float {
    let u1 = 1 - nextDouble()
    let u2 = nextDouble()
    return Float((-2 * Foundation_log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }

  /// A uniform integer in 0..<bound, without modulo bias.
  public func nextInt(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive")
    // Lemire's multiply-and-reject: unbiased, usually one draw.
    let b = UInt64(bound)
    var m = next().multipliedFullWidth(by: b)
    if m.low < b {
      let t = (0 &- b) % b
      while m.low < t { m = next().multipliedFullWidth(by: b) }
    }
    return Int(m.high)
  }

  /// Shuffles `array` in place (Fisher–Yates from the last element down).
  public func shuffle<T>(_ array: inout [T]) {
    if array.count < 2 { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
      array.swapAt(i, nextInt(below: i + 1))
    }
  }
}

@inline(__always)
private func Foundation_log(_ x: Double) -> Double { log(x) }
