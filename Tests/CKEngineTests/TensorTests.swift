import CKEngine
import Testing

extension EngineTests {
  @Suite struct TensorTests {
    @Test func constructionChecksSizes() throws {
      let t = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
      #expect(t.shape == [2, 3] && t.count == 6 && t.rank == 2)
      #expect(throws: EngineError(.sizeMismatch, "5 scalars cannot fill shape [2, 3] (6)")) {
        try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
      }
      let e = #expect(throws: EngineError.self) { try IntTensor(shape: [4], scalars: [1]) }
      #expect(e?.code == .sizeMismatch)
    }

    @Test func bytesRoundTripWithoutCopyingSemanticsLeaks() throws {
      let t = try Tensor(shape: [2, 2], scalars: [1.5, -2, 0, 3.25])
      let u = try t.withUnsafeBytes { try Tensor(shape: [2, 2], bytes: $0) }
      #expect(u.bitwiseEquals(t))
      let bad = #expect(throws: EngineError.self) {
        try t.withUnsafeBytes { try Tensor(shape: [3], bytes: $0) }
      }
      #expect(bad?.code == .sizeMismatch)
      var v = t
      v.withUnsafeMutableBufferPointer { $0[0] = 9 }
      #expect(t.scalars[0] == 1.5 && v.scalars[0] == 9)  // copy-on-write
    }

    @Test func zeroSizeTensors() throws {
      let empty = try Tensor(shape: [0, 3], scalars: [])
      #expect(empty.count == 0 && empty.shape == [0, 3])
      let fromBytes = try empty.withUnsafeBytes { try Tensor(shape: [3, 0], bytes: $0) }
      #expect(fromBytes.count == 0)
      let ints = try IntTensor(shape: [0], scalars: [])
      #expect(try ints.withUnsafeBytes { try IntTensor(shape: [0], bytes: $0) }.count == 0)
      #expect((empty + 1).shape == [0, 3] && empty.sum().item == 0)
      #expect(matmul(empty, Tensor(shape: [3, 2])).shape == [0, 2])
      #expect(
        matmul(Tensor(shape: [2, 0]), Tensor(shape: [0, 4])).scalars
          == [Float](repeating: 0, count: 8))
    }

    @Test func broadcastingArithmetic() throws {
      let a = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
      let row = try Tensor(shape: [3], scalars: [10, 20, 30])
      let col = try Tensor(shape: [2, 1], scalars: [100, 200])
      #expect((a + row).scalars == [11, 22, 33, 14, 25, 36])
      #expect((a * col).scalars == [100, 200, 300, 800, 1000, 1200])
      #expect((col - row).shape == [2, 3])
      #expect((col - row).scalars == [90, 80, 70, 190, 180, 170])
      #expect((a / 2).scalars == [0.5, 1, 1.5, 2, 2.5, 3])
      let b3 = try Tensor(shape: [2, 1, 3], scalars: [1, 1, 1, 2, 2, 2])
      #expect((b3 * col).shape == [2, 2, 3])
    }

    @Test func reductionsAndShapes() throws {
      let a = try Tensor(shape: [2, 3], scalars: [1, 5, 3, 4, 2, 6])
      #expect(a.sum().item == 21)
      #expect(a.sum(axes: [0]).scalars == [5, 7, 9])
      #expect(a.mean(axes: [1], keepDims: true).shape == [2, 1])
      #expect(a.max(axes: [1]).scalars == [5, 6])
      #expect(a.argmaxLastAxis().scalars == [1, 2])
      #expect(a.transposed([1, 0]).scalars == [1, 4, 5, 2, 3, 6])
      #expect(a.slice(axis: 1, 1..<3).scalars == [5, 3, 2, 6])
      #expect(
        Tensor.concat([a, a.slice(axis: 1, 0..<1)], axis: 1).scalars == [1, 5, 3, 1, 4, 2, 6, 4])
      #expect(a.reshaped([3, -1]).shape == [3, 2])
    }

    @Test func softmaxIsStableForHugeLogits() throws {
      let x = try Tensor(shape: [1, 3], scalars: [1000, 1001, 1002])
      let s = softmax(x).scalars
      #expect(s.allSatisfy { $0.isFinite })
      #expect(abs(s.reduce(0, +) - 1) < 1e-6)
      let l = logSoftmax(x).scalars
      #expect(abs(l[2] - (-0.40760596)) < 1e-5)
    }
  }
}
