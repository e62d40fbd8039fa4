import CKEngine
import Testing

extension EngineTests {
  /// Every differentiable op against central differences, on shapes with size-1 and broadcast axes.
  @Suite struct OpGradientTests {
    let check = GradientChecker()
    let gen = RandomGenerator(seed: 2024)

    static let binaryShapes: [([Int], [Int])] = [
      ([3, 4], [3, 4]), ([3, 4], [4]), ([3, 1], [1, 4]), ([1], [2, 3]), ([2, 1, 3], [4, 1]),
      ([1, 1], [1]),
    ]

    /// Seeded random shape pairs: rank 1–3, extents 1–4, each axis of the second operand either
    /// equal or 1, and sometimes fewer leading axes.
    static let randomShapes: [([Int], [Int])] = {
      let g = RandomGenerator(seed: 77)
      return (0..<6).map { _ in
        let a = (0..<(1 + g.nextInt(below: 3))).map { _ in 1 + g.nextInt(below: 4) }
        let b = a.dropFirst(g.nextInt(below: a.count)).map { g.nextInt(below: 2) == 0 ? 1 : $0 }
        return g.nextInt(below: 2) == 0 ? (a, b) : (b, a)
      }
    }()

    @Test func binaryArithmeticWithBroadcasting() {
      for (sa, sb) in Self.binaryShapes + Self.randomShapes {
        let a = randomTensor(sa, gen)
        let b = randomTensor(sb, gen, 0.5, 2)  // away from 0 for division
        #expect(check.maxError([a, b]) { $0[0] + $0[1] } < check.tolerance, "add \(sa) \(sb)")
        #expect(check.maxError([a, b]) { $0[0] - $0[1] } < check.tolerance, "sub \(sa) \(sb)")
        #expect(check.maxError([a, b]) { $0[0] * $0[1] } < check.tolerance, "mul \(sa) \(sb)")
        #expect(check.maxError([a, b]) { $0[0] / $0[1] } < check.tolerance, "div \(sa) \(sb)")
        #expect(
          check.maxError([b, a]) { $0[0] / $0[1].exp() } < check.tolerance, "div2 \(sa) \(sb)")
      }
    }

    @Test func unaryFunctions() {
      for shape in [[1], [2, 3], [1, 5, 1]] {
        let x = randomTensor(shape, gen)
        let pos = randomTensor(shape, gen, 0.3, 2)
        // ReLU's kink at 0 is avoided: |x| ≥ 0.1 keeps x ± h on one side.
        let away = try! Tensor(
          shape: shape, scalars: x.scalars.map { $0 < 0 ? $0 - 0.1 : $0 + 0.1 })
        #expect(check.maxError([x]) { -$0[0] } < check.tolerance)
        #expect(check.maxError([x]) { $0[0].exp() } < check.tolerance)
        #expect(check.maxError([pos]) { $0[0].log() } < check.tolerance)
        #expect(check.maxError([pos]) { $0[0].sqrt() } < check.tolerance)
        #expect(check.maxError([x]) { $0[0].tanh() } < check.tolerance)
        #expect(check.maxError([x]) { $0[0].sigmoid() } < check.tolerance)
        #expect(check.maxError([away]) { $0[0].relu() } < check.tolerance)
        #expect(check.maxError([x * 3]) { $0[0].gelu() } < check.tolerance)
        #expect(check.maxError([x]) { $0[0].squared() } < check.tolerance)
      }
    }

    @Test func reductions() {
      let x = randomTensor([2, 3, 4], gen)
      for axes in [nil, [0], [1], [2], [0, 2], [-1]] as [[Int]?] {
        #expect(check.maxError([x]) { $0[0].sum(axes: axes) } < check.tolerance)
        #expect(check.maxError([x]) { $0[0].mean(axes: axes, keepDims: true) } < check.tolerance)
        // Distinct values 0.05 apart keep the maximum unique under ±h perturbation... mostly:
        // a spread-out permutation makes ties impossible.
        let spread = try! Tensor(
          shape: [2, 3, 4], scalars: (0..<24).map { Float(($0 * 7) % 24) * 0.1 })
        #expect(check.maxError([spread]) { $0[0].max(axes: axes) } < check.tolerance)
      }
      let one = randomTensor([1, 1], gen)
      #expect(check.maxError([one]) { $0[0].sum(axes: [1]) } < check.tolerance)
    }

    @Test func shapeOps() {
      let x = randomTensor([2, 3, 4], gen)
      let y = randomTensor([2, 1, 4], gen)
      #expect(check.maxError([x]) { $0[0].reshaped([4, -1]) } < check.tolerance)
      #expect(check.maxError([x]) { $0[0].transposed([2, 0, 1]) } < check.tolerance)
      #expect(check.maxError([x]) { $0[0].slice(axis: 1, 1..<3) } < check.tolerance)
      #expect(check.maxError([x, y]) { Tensor.concat([$0[0], $0[1]], axis: 1) } < check.tolerance)
      #expect(check.maxError([y]) { $0[0].broadcast(to: [3, 2, 5, 4]) } < check.tolerance)
    }

    @Test func matrixProducts() {
      for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = randomTensor(ta ? [4, 3] : [3, 4], gen)
        let b = randomTensor(tb ? [5, 4] : [4, 5], gen)
        #expect(
          check.maxError([a, b]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
            < check.tolerance)
        let ba = randomTensor(ta ? [2, 4, 3] : [2, 3, 4], gen)
        let bb = randomTensor(tb ? [2, 5, 4] : [2, 4, 5], gen)
        #expect(
          check.maxError([ba, bb]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
            < check.tolerance)
      }
      let x = randomTensor([2, 3, 4], gen)
      for tb in [false, true] {
        let w = randomTensor(tb ? [5, 4] : [4, 5], gen)
        #expect(check.maxError([x, w]) { matmul($0[0], $0[1], transposeB: tb) } < check.tolerance)
      }
    }

    @Test func normalisationSoftmaxAndLosses() {
      let x = randomTensor([3, 5], gen, -2, 2)
      let g = randomTensor([5], gen, 0.5, 1.5)
      let b = randomTensor([5], gen)
      #expect(check.maxError([x]) { softmax($0[0]) } < check.tolerance)
      #expect(check.maxError([x]) { logSoftmax($0[0]) } < check.tolerance)
      #expect(
        check.maxError([x, g, b]) { layerNorm($0[0], gamma: $0[1], beta: $0[2]) } < check.tolerance)
      let labels = IntTensor([4, -1, 0])  // the -1 row is ignored
      #expect(
        check.maxError([x]) { softmaxCrossEntropy(logits: $0[0], labels: labels) } < check.tolerance
      )
      let t = randomTensor([3, 1], gen)
      #expect(check.maxError([x, t]) { meanSquaredError($0[0], $0[1]) } < check.tolerance)
    }

    @Test func embeddingAndDropout() {
      let table = randomTensor([6, 3], gen)
      let ids = try! IntTensor(shape: [2, 3], scalars: [1, 4, 1, 0, 5, 1])  // repeats accumulate
      #expect(check.maxError([table]) { embedding($0[0], ids) } < check.tolerance)
      let x = randomTensor([4, 5], gen)
      // The same seed gives the same mask in every evaluation.
      #expect(
        check.maxError([x]) { dropout($0[0], rate: 0.3, generator: RandomGenerator(seed: 5)) }
          < check.tolerance)
    }

    @Test func checkerRejectsWrongGradient() {
      let x = randomTensor([2, 3], gen)
      // A gradient 20% off (tanh against differences of 1.2·tanh) must be caught.
      let err = check.maxError([x], { $0[0].tanh() }, numeric: { $0[0].tanh() * 1.2 })
      #expect(err > check.tolerance * 10)
    }
  }
}
