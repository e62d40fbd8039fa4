import CKStore
import Foundation
import Testing

/// The experimental delta codec: float chunks stored as XOR against the parent's chunk.
@Suite struct DeltaCodecTests {
  /// Weights after `steps` small updates: consecutive versions share their high bytes.
  static func weights(_ steps: Int, count: Int = 4096) -> [Float] {
    var rng = TestRandom(state: 42)
    var w = rng.floats(count, scale: 0.1)
    for s in 0..<steps {
      for i in w.indices { w[i] += 1e-4 * Float((i * 7 + s * 13) % 11) - 5e-4 }
    }
    return w
  }

  static func deltaStore() throws -> TempStore {
    try TempStore(configuration: StoreConfiguration(chunkSize: 4096, deltaAgainstParent: true))
  }

  /// (codec byte, object id) of every chunk object file.
  static func codecs(_ t: TempStore) throws -> [ObjectID: UInt8] {
    var out: [ObjectID: UInt8] = [:]
    for path in t.objectFiles() {
      let parts = path.split(separator: "/").suffix(2).joined()
      let data = try Data(contentsOf: URL(fileURLWithPath: path))
      if data[5] == 1, let id = ObjectID(hex: parts) { out[id] = data[6] }
    }
    return out
  }

  @Test func deltaChunksReadBackAfterTheirBaseCommitIsPruned() throws {
    let t = try Self.deltaStore()
    var commits: [Commit] = []
    var written: [[TensorData]] = []
    for step in 0..<4 {
      let tensors = [
        try TensorData(name: "w", shape: [64, 64], float32: Self.weights(step)),
        try TensorData(
          name: "counts", dtype: .int32, shape: [4],
          bytes: [UInt8](repeating: UInt8(step), count: 16)),
      ]
      written.append(tensors)
      commits.append(try t.store.commit(tensors, to: "main", step: Int64(step)))
    }
    let codecs = try Self.codecs(t)
    let latest = try t.store.tensorInfo(named: "w", in: commits[3])
    // Every chunk of the later commits is a delta (codec 3), and it is smaller than a whole chunk.
    #expect(latest.chunks.allSatisfy { codecs[$0] == 3 })
    #expect(commits.dropFirst().allSatisfy { $0.addedBytes < commits[0].addedBytes })

    // Keep only the newest commit: the first commit's chunks are the deltas' bases and must stay.
    let report = try t.store.gc(policy: RetentionPolicy(keepLast: 1))
    #expect(report.prunedCommits.count == 3)
    #expect(report.objectsDeleted > 0)
    #expect(
      try t.store.readSnapshot(commits[3]).sorted { $0.name < $1.name }
        == written[3].sorted { $0.name < $1.name })
    #expect(try t.store.fsck().isClean)
    #expect(throws: StoreError.self) { try t.store.readSnapshot(commits[0]) }

    // A new commit after the pruning still deltas against the (kept) base, never a chain.
    let next = try t.store.commit(
      [try TensorData(name: "w", shape: [64, 64], float32: Self.weights(4))], to: "main", step: 4)
    let after = try Self.codecs(t)
    for chunk in try t.store.tensorInfo(named: "w", in: next).chunks {
      #expect(after[chunk] == 3)
    }
    #expect(try t.store.readTensor(named: "w", in: next).bytes.floats == Self.weights(4))
  }

  @Test func aDamagedBaseIsNamedByTheReadOfItsDelta() throws {
    let t = try Self.deltaStore()
    let first = try t.store.commit(
      [try TensorData(name: "w", shape: [64, 64], float32: Self.weights(0))], to: "main", step: 0)
    let second = try t.store.commit(
      [try TensorData(name: "w", shape: [64, 64], float32: Self.weights(1))], to: "main", step: 1)
    let base = try t.store.tensorInfo(named: "w", in: first).chunks[0]
    let hex = base.hex
    let path = t.path + "/objects/" + hex.prefix(2) + "/" + hex.dropFirst(2)
    var data = try Data(contentsOf: URL(fileURLWithPath: path))
    data[data.count - 1] ^= 0xFF
    try data.write(to: URL(fileURLWithPath: path))
    let error = #expect(throws: StoreError.self) {
      try t.store.readTensor(named: "w", in: second)
    }
    #expect(error?.code == .corruptObject)
    #expect(error?.message.contains(hex) == true)
    #expect(!(try t.store.fsck().isClean))
  }

  @Test func storesWithoutTheSettingNeverWriteDeltas() throws {
    let t = try TempStore(chunkSize: 4096)
    for step in 0..<3 {
      try t.store.commit(
        [try TensorData(name: "w", shape: [64, 64], float32: Self.weights(step))], to: "main",
        step: Int64(step))
    }
    #expect(try Self.codecs(t).values.allSatisfy { $0 != 3 })
    #expect(!t.store.configuration.deltaAgainstParent)
  }
}
