import CKStore
import Foundation
import Testing

@Suite struct CommitReadTests {
  /// One tensor of every dtype at ranks 0 through 4, plus zero-size tensors.
  static func everyDtypeAndRank() throws -> [TensorData] {
    var rng = TestRandom(state: 7)
    var out: [TensorData] = []
    let shapes: [[Int]] = [[], [5], [3, 4], [2, 3, 4], [2, 1, 3, 2], [0], [3, 0], [8], [4, 6]]
    for dtype in DType.allCases {
      for (i, shape) in shapes.enumerated() {
        // Packed sub-byte dtypes take only the shapes whose elements fill whole bytes.
        let bits = shape.reduce(1, *) * dtype.bitWidth
        guard bits % 8 == 0 else { continue }
        var bytes = rng.bytes(bits / 8)
        if dtype == .bool { bytes = bytes.map { $0 & 1 } }
        out.append(
          try TensorData(name: "t.\(dtype.name).r\(i)", dtype: dtype, shape: shape, bytes: bytes))
      }
    }
    return out
  }

  @Test func everyDtypeAndRankRoundTrips() throws {
    let t = try TempStore(chunkSize: 64)
    let tensors = try Self.everyDtypeAndRank()
    let commit = try t.store.commit(tensors, to: "main", step: 1, message: "all dtypes")
    let back = try t.store.readSnapshot(try t.store.resolve("main"))
    #expect(back.count == tensors.count)
    let byName = Dictionary(uniqueKeysWithValues: back.map { ($0.name, $0) })
    for tensor in tensors { #expect(byName[tensor.name] == tensor) }
    #expect(commit.logicalBytes == Int64(tensors.reduce(0) { $0 + $1.bytes.count }))
  }

  @Test func commitRecordsMetadataAndParents() throws {
    let t = try TempStore()
    let a = try TensorData(name: "w", shape: [2], float32: [1, 2])
    let first = try t.store.commit(
      [a], to: "main", step: 10, message: "first", metrics: ["loss": 0.5],
      metadata: ["lr": "0.001"])
    let second = try t.store.commit([a], to: "main", step: 20, message: "second")
    let readBack = try t.store.resolve("main")
    #expect(readBack == second)
    #expect(readBack.parents == [first.id])
    let f = try t.store.resolve("step-10")
    #expect(f.metrics == ["loss": 0.5])
    #expect(f.metadata == ["lr": "0.001"])
    #expect(f.message == "first")
    #expect(try t.store.resolve("main~1") == f)
    #expect(try t.store.resolve("main:step-20") == second)
    #expect(try t.store.resolve(String(second.id.hex.prefix(10))) == second)
  }

  @Test func readsOneTensorByName() throws {
    let t = try TempStore()
    let tensors = try [
      TensorData(name: "model.dense1.weight", shape: [2, 2], float32: [1, 2, 3, 4]),
      TensorData(name: "model.dense1.bias", shape: [2], float32: [5, 6]),
      TensorData(
        name: "optimizer/model.dense1.weight/adam.m", shape: [2, 2], float32: [0, 0, 0, 1]),
    ]
    let c = try t.store.commit(tensors, to: "main", step: 1)
    let m = try t.store.readTensor(named: "optimizer/model.dense1.weight/adam.m", in: c)
    #expect(m == tensors[2])
    #expect(throws: StoreError.self) { try t.store.readTensor(named: "model.dense1", in: c) }
  }

  @Test func invalidNamesAreRefusedWithTheName() throws {
    for bad in ["", "a..b", "a/./b", ".a", "a.", "a//b", "a\u{0}b", "a\nb", "../x"] {
      let error = #expect(throws: StoreError.self) {
        try TensorData(name: bad, shape: [1], float32: [1])
      }
      #expect(error?.code == .invalidName)
      #expect(error?.message.contains("invalid tensor name") == true)
    }
    #expect(throws: Never.self) { try TensorData(name: "a.b/c_d-e.0", shape: [1], float32: [1]) }
  }
}
