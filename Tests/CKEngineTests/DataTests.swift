import CKEngine
import Foundation
import Testing

extension EngineTests {
  @Suite struct DataTests {
    @Test func generatorStateRestoresTheStream() throws {
      let g = RandomGenerator(seed: 42)
      for _ in 0..<10 { _ = g.next() }
      let saved = g.state
      let expected = (0..<5).map { _ in g.next() } + [UInt64(g.nextNormal().bitPattern)]
      let r = try RandomGenerator(state: saved)
      #expect((0..<5).map { _ in r.next() } + [UInt64(r.nextNormal().bitPattern)] == expected)
      #expect(RandomGenerator(seed: 1).next() != RandomGenerator(seed: 2).next())
      let e = #expect(throws: EngineError.self) { try RandomGenerator(state: [0, 0, 0, 0]) }
      #expect(e?.code == .invalidArgument)
    }

    @Test func initialisersHaveTheirScale() {
      let g = RandomGenerator(seed: 3)
      let he = Initializer.heNormal.make(shape: [200, 100], generator: g).scalars
      let variance = he.map { Double($0 * $0) }.reduce(0, +) / Double(he.count)
      #expect(abs(variance - 2.0 / 200) < 0.1 * 2.0 / 200)
      let a = (6.0 / 300).squareRoot()
      let glorot = Initializer.glorotUniform.make(shape: [200, 100], generator: g).scalars
      #expect(
        glorot.allSatisfy { abs(Double($0)) <= a } && glorot.contains { abs(Double($0)) > 0.9 * a })
    }

    @Test func digitsLoadAndSplit() throws {
      let d = try DigitsDataset.load()
      #expect(d.count == 1797 && d.features.shape == [1797, 64])
      #expect(d.features.scalars.allSatisfy { (0...1).contains($0) })
      #expect(Set(d.labels.scalars) == Set(0...9))
      let (train, test) = d.split(seed: 0)
      #expect(train.count == 1438 && test.count == 359)
      let again = d.split(seed: 0)
      #expect(again.test.features.bitwiseEquals(test.features))
      #expect(!d.split(seed: 1).test.features.bitwiseEquals(test.features))
      let missing = #expect(throws: EngineError.self) {
        try DigitsDataset.load(path: "/nonexistent.csv")
      }
      #expect(missing?.code == .io)
      let bad = FileManager.default.temporaryDirectory.appendingPathComponent("ck-bad-digits.csv")
      try "1,2,3\n".write(to: bad, atomically: true, encoding: .utf8)
      let format = #expect(throws: EngineError.self) { try DigitsDataset.load(path: bad.path) }
      #expect(format?.code == .dataFormat && format!.message.contains("line 1"))
    }

    @Test func iteratorPositionRestoresTheNextBatch() throws {
      let it = try MinibatchIterator(count: 10, batchSize: 4, seed: 9)
      var seen: [Int] = []
      for _ in 0..<3 { seen += it.next() }  // one epoch: 4 + 4 + 2
      #expect(seen.sorted() == Array(0..<10))
      _ = it.next()
      let saved = it.position
      #expect(saved.epoch == 1 && saved.index == 4)
      let expected = (0..<5).map { _ in it.next() }
      let fresh = try MinibatchIterator(count: 10, batchSize: 4, seed: 9)
      try fresh.restore(saved)
      #expect((0..<5).map { _ in fresh.next() } == expected)
      #expect(it.permutation(epoch: 0) != it.permutation(epoch: 1))
      let drop = try MinibatchIterator(count: 10, batchSize: 4, seed: 9, dropLast: true)
      #expect((0..<4).map { _ in drop.next().count } == [4, 4, 4, 4] && drop.epoch == 1)
    }

    @Test func characterDataset() throws {
      let ds = try CharacterDataset(text: "abcabd", length: 2, stride: 1)
      #expect(ds.vocabulary == ["a", "b", "c", "d"])
      #expect(ds.windowCount == 4)
      let (x, y) = ds.batch([0, 3])
      #expect(x.scalars == [0, 1, 0, 1] && y.scalars == [1, 2, 1, 3])
      #expect(ds.decode(try ds.encode("dab")) == "dab")
      #expect(
        abs(ds.unigramEntropy - (-(2 * (1.0 / 3) * log(1.0 / 3) + 2 * (1.0 / 6) * log(1.0 / 6))))
          < 1e-12)
      #expect(throws: EngineError.self) { try ds.encode("z") }
    }
  }
}
