import CKEngine
import Testing

extension EngineTests {
  /// The fused operations against the separate ops they replace.
  @Suite struct FusedOpTests {
    /// An additive causal mask as attention used before `scaledSoftmax`: −1e9 above the diagonal.
    static func additiveMask(_ t: Int) -> Tensor {
      try! Tensor(
        shape: [t, t], scalars: (0..<(t * t)).map { $0 % t > $0 / t ? Float(-1e9) : 0 })
    }

    @Test func scaledCausalSoftmaxMatchesTheMaskedSoftmaxWithExactZeros() {
      let gen = RandomGenerator(seed: 21)
      let (t, scale): (Int, Float) = (9, 0.25)
      let x = randomTensor([2, 3, t, t], gen, -4, 4)
      let fused = scaledSoftmax(x, scale: scale, causal: true)
      let separate = softmax(x * scale + Self.additiveMask(t))
      let (f, s) = (fused.scalars, separate.scalars)
      var worst: Float = 0
      for i in 0..<f.count where i % t <= (i / t) % t {
        worst = max(worst, abs(f[i] - s[i]))
      }
      #expect(worst < 1e-6)
      let masked = (0..<f.count).filter { $0 % t > ($0 / t) % t }
      #expect(masked.allSatisfy { f[$0] == 0 })
      // The additive mask leaves subnormal weights where the fused op has exact zeros.
      #expect(masked.contains { s[$0].isSubnormal })
      #expect(!f.contains { $0.isSubnormal })
      let plain = scaledSoftmax(x, scale: scale, causal: false)
      #expect(maxRelativeError(plain.scalars, softmax(x * scale).scalars.map(Double.init)) < 1e-6)
    }

    @Test(arguments: [true, false])
    func scaledSoftmaxGradient(causal: Bool) {
      let check = GradientChecker()
      let x = randomTensor([2, 5, 5], RandomGenerator(seed: 22))
      #expect(
        check.maxError([x]) { scaledSoftmax($0[0], scale: 0.7, causal: causal) }
          < check.tolerance)
    }

    /// A Dense layer's fused bias + activation gives the same bits as the separate ops, forward
    /// and backward, on one and two threads (the rows are split across threads).
    @Test(arguments: [Activation.gelu, .relu, .tanh])
    func denseBiasActivationIsBitIdenticalToTheSeparateOps(activation: Activation) {
      let gen = RandomGenerator(seed: 23)
      let dense = Dense(inputSize: 24, outputSize: 40, activation: activation, generator: gen)
      try! dense.bias!.assign(randomTensor([40], gen))
      let x = randomTensor([2000, 24], gen)
      let r = randomTensor([2000, 40], gen)
      func run(_ f: (Tensor) -> Tensor) -> (Tensor, [String: Tensor]) {
        let tape = GradientTape()
        var y = Tensor(0)
        let loss = tape.record {
          y = f(x)
          return (y * r).sum()
        }
        return (y, tape.gradients(of: loss, for: dense))
      }
      let (separate, gs) = run { activation(matmul($0, dense.weight.value) + dense.bias!.value) }
      for threads in [1, 2] {
        CKEngine.threadCount = threads
        let (fused, gf) = run { dense($0) }
        #expect(fused.bitwiseEquals(separate), "threads \(threads)")
        #expect(gf["weight"]!.bitwiseEquals(gs["weight"]!), "threads \(threads)")
        #expect(gf["bias"]!.bitwiseEquals(gs["bias"]!), "threads \(threads)")
      }
      CKEngine.threadCount = 2
    }

    /// Layer norm splits rows (forward, dx) and columns (dgamma, dbeta) across threads; on a
    /// shape large enough to be split, 1 and 2 threads give the same bits.
    @Test func layerNormIsBitIdenticalOnOneAndTwoThreads() {
      let gen = RandomGenerator(seed: 24)
      let x = randomTensor([4096, 64], gen)
      let gamma = randomTensor([64], gen)
      let beta = randomTensor([64], gen)
      let r = randomTensor([4096, 64], gen)
      func run() -> [Tensor] {
        let tape = GradientTape()
        let ws = [x, gamma, beta].map { tape.watch($0) }
        var y = Tensor(0)
        let loss = tape.record {
          y = layerNorm(ws[0], gamma: ws[1], beta: ws[2])
          return (y * r).sum()
        }
        return [y] + tape.gradient(of: loss, wrt: ws)
      }
      CKEngine.threadCount = 1
      let one = run()
      CKEngine.threadCount = 2
      let two = run()
      #expect(zip(one, two).allSatisfy { $0.bitwiseEquals($1) })
    }
  }
}
