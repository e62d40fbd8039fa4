import CKEngine
import Testing

extension EngineTests {
  /// The GEMM against a naive loop that does the same arithmetic: every C element is one chain of
  /// multiply-adds over k in increasing order (fused with the AVX2 kernel, separate with the Swift
  /// one), so the results must agree bit for bit, whatever path (operands packed or read in
  /// place, full or edge tile) the shape takes.
  @Suite struct GEMMEdgeTests {
    /// Extents around the 6×16 tile and the in-place limits, in every dimension.
    static let extents = [1, 15, 16, 17, 63, 64, 65]
    static let transposes = [(false, false), (true, false), (false, true), (true, true)]

    /// op(a)·op(b) by the textbook loop, with fused (`fused`) or separate multiply-adds.
    static func naive(
      _ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool, fused: Bool
    ) -> [Float] {
      var c = [Float](repeating: 0, count: m * n)
      for i in 0..<m {
        for j in 0..<n {
          var s: Float = 0
          for p in 0..<k {
            let x = a[ta ? p * m + i : i * k + p]
            let y = b[tb ? j * k + p : p * n + j]
            s = fused ? s.addingProduct(x, y) : s + x * y
          }
          c[i * n + j] = s
        }
      }
      return c
    }

    /// Runs `matmul` on one shape and compares it with the naive loop bit for bit.
    static func check(_ m: Int, _ n: Int, _ k: Int, _ ta: Bool, _ tb: Bool, _ gen: RandomGenerator)
      -> Bool
    {
      let a = randomTensor(ta ? [k, m] : [m, k], gen)
      let b = randomTensor(tb ? [n, k] : [k, n], gen)
      let c = matmul(a, b, transposeA: ta, transposeB: tb)
      let want = naive(
        a.scalars, b.scalars, m: m, n: n, k: k, ta: ta, tb: tb, fused: CKEngine.useNativeKernel)
      return c.shape == [m, n] && c.scalars.map(\.bitPattern) == want.map(\.bitPattern)
    }

    @Test(arguments: [true, false])
    func everyEdgeShapeMatchesTheNaiveLoopExactly(native: Bool) {
      CKEngine.useNativeKernel = native
      defer { CKEngine.useNativeKernel = true }
      let gen = RandomGenerator(seed: 11)
      var failures: [String] = []
      for m in Self.extents {
        for n in Self.extents {
          for k in Self.extents {
            for (ta, tb) in Self.transposes where !Self.check(m, n, k, ta, tb, gen) {
              failures.append("\(m)×\(n)×\(k) ta=\(ta) tb=\(tb)")
            }
          }
        }
      }
      #expect(failures.isEmpty, "\(failures.count) shapes differ, first: \(failures.prefix(5))")
    }

    /// Shapes that pack A, pack B or both, cross the 256-deep k block (so later k blocks add to
    /// C) and the 120-row A block, and the transformer's skinny products.
    @Test(arguments: [true, false])
    func packedAndBlockedShapesMatchTheNaiveLoopExactly(native: Bool) {
      CKEngine.useNativeKernel = native
      defer { CKEngine.useNativeKernel = true }
      let gen = RandomGenerator(seed: 12)
      let shapes: [(Int, Int, Int)] = [
        (1100, 17, 257), (130, 70, 300), (65, 300, 513), (256, 64, 600), (2048, 16, 64),
        (64, 256, 129), (121, 129, 65),
      ]
      for (m, n, k) in shapes {
        for (ta, tb) in Self.transposes {
          #expect(Self.check(m, n, k, ta, tb, gen), "\(m)×\(n)×\(k) ta=\(ta) tb=\(tb)")
        }
      }
    }

    /// Products large enough to be split across threads, on each path (rows split over a B read
    /// in place, rows split over a shared packed B, columns split): 1 and 2 threads agree bit for
    /// bit, and both agree with the naive loop.
    @Test func threadedPathsAreIdenticalToOneThreadAndTheNaiveLoop() {
      let gen = RandomGenerator(seed: 13)
      let cases: [(Int, Int, Int, Bool, Bool)] = [
        (2048, 64, 64, false, false), (2048, 64, 256, false, true), (64, 256, 2048, true, false),
        (40, 700, 300, false, false), (300, 310, 260, true, true),
      ]
      for (m, n, k, ta, tb) in cases {
        let a = randomTensor(ta ? [k, m] : [m, k], gen)
        let b = randomTensor(tb ? [n, k] : [k, n], gen)
        CKEngine.threadCount = 1
        let one = matmul(a, b, transposeA: ta, transposeB: tb)
        CKEngine.threadCount = 2
        let two = matmul(a, b, transposeA: ta, transposeB: tb)
        #expect(one.bitwiseEquals(two), "\(m)×\(n)×\(k)")
        let want = Self.naive(
          a.scalars, b.scalars, m: m, n: n, k: k, ta: ta, tb: tb, fused: CKEngine.useNativeKernel)
        #expect(two.scalars.map(\.bitPattern) == want.map(\.bitPattern), "\(m)×\(n)×\(k)")
      }
    }
  }
}
