import CKEngine
import Testing

extension EngineTests {
  @Suite struct GEMMTests {
    /// Shapes around the 6×16 micro-tile and the 256-deep k block, with every transpose combination.
    static let shapes: [(Int, Int, Int)] = [
      (1, 1, 1), (5, 17, 3), (6, 16, 256), (7, 15, 257), (33, 70, 40), (130, 47, 300),
    ]

    @Test(arguments: [true, false])
    func matchesDoubleReference(native: Bool) {
      CKEngine.useNativeKernel = native
      defer { CKEngine.useNativeKernel = true }
      let gen = RandomGenerator(seed: 7)
      for (m, n, k) in Self.shapes {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
          let a = randomTensor(ta ? [k, m] : [m, k], gen)
          let b = randomTensor(tb ? [n, k] : [k, n], gen)
          let c = matmul(a, b, transposeA: ta, transposeB: tb)
          #expect(c.shape == [m, n])
          let ref = referenceMatmul(a, b, m: m, n: n, k: k, ta: ta, tb: tb)
          // Float32 accumulation over k terms of size ≤ 1: error ≲ k·2⁻²⁴ ≈ 2e-5 for k = 300.
          #expect(maxRelativeError(c.scalars, ref) < 1e-4, "\(m)×\(n)×\(k) ta=\(ta) tb=\(tb)")
        }
      }
    }

    /// Large enough to use threads: a tall C (rows split, shared packed B), a transposed pair and
    /// a wide C (columns split); each must match the reference and be identical with 1 and 2
    /// threads.
    @Test func oneAndTwoThreadsGiveIdenticalBits() {
      let gen = RandomGenerator(seed: 3)
      let cases: [(Int, Int, Int, Bool, Bool)] = [
        (300, 310, 260, false, false), (200, 310, 260, true, true), (40, 700, 300, false, false),
      ]
      for (m, n, k, ta, tb) in cases {
        let a = randomTensor(ta ? [k, m] : [m, k], gen)
        let b = randomTensor(tb ? [n, k] : [k, n], gen)
        CKEngine.threadCount = 1
        let one = matmul(a, b, transposeA: ta, transposeB: tb)
        CKEngine.threadCount = 2
        let two = matmul(a, b, transposeA: ta, transposeB: tb)
        #expect(one.bitwiseEquals(two), "\(m)×\(n)×\(k)")
        let ref = referenceMatmul(a, b, m: m, n: n, k: k, ta: ta, tb: tb)
        #expect(maxRelativeError(two.scalars, ref) < 1e-4)
      }
    }

    @Test func batchedAndFlattenedProducts() {
      let gen = RandomGenerator(seed: 5)
      let a = randomTensor([3, 4, 5, 6], gen)
      let b = randomTensor([3, 4, 7, 6], gen)
      let c = matmul(a, b, transposeB: true)
      #expect(c.shape == [3, 4, 5, 7])
      for batch in [0, 5, 11] {
        let a2 = a.reshaped([12, 5, 6]).slice(axis: 0, batch..<(batch + 1)).reshaped([5, 6])
        let b2 = b.reshaped([12, 7, 6]).slice(axis: 0, batch..<(batch + 1)).reshaped([7, 6])
        let ref = referenceMatmul(a2, b2, m: 5, n: 7, k: 6, ta: false, tb: true)
        let got = c.reshaped([12, 5, 7]).slice(axis: 0, batch..<(batch + 1)).scalars
        #expect(maxRelativeError(got, ref) < 1e-5)
      }
      let w = randomTensor([6, 3], gen)
      let flat = matmul(a, w)
      #expect(flat.shape == [3, 4, 5, 3])
      #expect(flat.bitwiseEquals(matmul(a.reshaped([-1, 6]), w).reshaped([3, 4, 5, 3])))
    }
  }
}
