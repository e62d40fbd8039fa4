import CKEngine
import Foundation
import Testing

extension EngineTests {
  /// The engine's own exp/tanh/sigmoid against Double libm on a dense grid.
  @Suite struct FastMathTests {
    let xs: [Float] =
      (0...40000).map { -20 + Float($0) * 0.001 } + [-87, -50, -1e-6, 0, 1e-6, 50, 88]

    func maxError(_ got: Tensor, _ ref: (Double) -> Double, relative: Bool) -> Double {
      zip(got.scalars, xs).map { g, x in
        let r = ref(Double(x))
        return abs(Double(g) - r) / (relative ? abs(r) : 1)
      }.max()!
    }

    @Test func accuracy() throws {
      let t = try Tensor(shape: [xs.count], scalars: xs)
      // exp: a few ulp (2⁻²³ ≈ 1.2e-7) relative.
      #expect(maxError(t.exp(), Foundation.exp, relative: true) < 4e-7)
      // tanh and sigmoid: absolute error near Float rounding of values in [−1, 1].
      #expect(maxError(t.tanh(), Foundation.tanh, relative: false) < 3e-7)
      #expect(maxError(t.sigmoid(), { 1 / (1 + Foundation.exp(-$0)) }, relative: false) < 3e-7)
      let small = try Tensor(shape: [3], scalars: [1e-6, -3e-5, 0.1])
      #expect(maxError2(small.tanh(), [1e-6, -3e-5, 0.1], Foundation.tanh) < 2e-7)
      #expect(try Tensor(shape: [2], scalars: [-1000, 1000]).exp().scalars.allSatisfy(\.isFinite))
    }

    func maxError2(_ got: Tensor, _ inputs: [Double], _ f: (Double) -> Double) -> Double {
      zip(got.scalars, inputs).map { abs(Double($0) - f($1)) / abs(f($1)) }.max()!
    }
  }
}
