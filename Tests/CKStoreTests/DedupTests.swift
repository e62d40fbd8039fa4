import CKStore
import Foundation
import Testing

@Suite struct DedupTests {
  @Test func sameTensorsTwiceAddNoTensorObjects() throws {
    let t = try TempStore(chunkSize: 4096)
    let tensors = try [
      Make.float32("model.encoder.weight", [64, 32], seed: 1),
      Make.float32("model.encoder.bias", [32], seed: 2),
      Make.random("model.head.ids", .int64, [300], seed: 3),
      Make.random("optimizer/model.encoder.weight/adam.m", .float16, [64, 32], seed: 4),
    ]
    let first = try t.store.commit(tensors, to: "main", step: 1)
    let before = try t.store.stats()
    let filesBefore = t.objectIDs()
    #expect(before.chunkObjects > tensors.count)  // the big tensors were split

    // Same tensors, given in another order, on the same branch and on another branch.
    let second = try t.store.commit(tensors.reversed(), to: "main", step: 2)
    let third = try t.store.commit(tensors, to: "other", step: 2)
    let after = try t.store.stats()
    let filesAfter = t.objectIDs()

    #expect(after.chunkObjects == before.chunkObjects)
    #expect(after.treeObjects == before.treeObjects)
    #expect(after.commitObjects == before.commitObjects + 2)
    #expect(filesAfter.subtracting(filesBefore) == [second.id, third.id])
    #expect(second.tree == first.tree && third.tree == first.tree)
    #expect(second.addedBytes == 0 && third.addedBytes == 0)
    #expect(first.addedBytes > 0)
    #expect(after.uniqueBytes == before.uniqueBytes)
    #expect(after.logicalBytes == 3 * before.logicalBytes)
  }

  /// The acceptance case: one changed row of a 64 MiB float32 table [16384, 1024] stores one new
  /// chunk (default 1 MiB chunks hold 256 rows), the trees on its path, and the commit.
  @Test func oneChangedRowOfA64MiBTableAddsOneChunk() throws {
    let t = try TempStore()
    #expect(t.store.configuration.chunkSize == 1 << 20)
    let rows = 16384
    let cols = 1024
    var rng = TestRandom(state: 64)
    var values = rng.floats(rows * cols, scale: 4)
    let table = try TensorData(name: "model.embed.weight", shape: [rows, cols], float32: values)
    let other = try Make.float32("model.norm.scale", [cols], seed: 5)
    let c1 = try t.store.commit([table, other], to: "main", step: 1)
    let s1 = try t.store.stats()
    let files1 = t.objectIDs()
    #expect(s1.chunkObjects == 64 + 1)

    let row = 5000
    for j in 0..<cols { values[row * cols + j] += 1 }
    let changed = try TensorData(name: "model.embed.weight", shape: [rows, cols], float32: values)
    let c2 = try t.store.commit([changed, other], to: "main", step: 2)
    let s2 = try t.store.stats()
    let added = t.objectIDs().subtracting(files1)

    // One chunk, three trees (root, `model.`, `embed.`), one commit.
    #expect(s2.chunkObjects == s1.chunkObjects + 1)
    #expect(s2.treeObjects == s1.treeObjects + 3)
    #expect(s2.commitObjects == s1.commitObjects + 1)
    #expect(added.count == 5)

    let old = try t.store.tensorInfo(named: "model.embed.weight", in: c1)
    let new = try t.store.tensorInfo(named: "model.embed.weight", in: c2)
    #expect(old.chunks.count == 64 && new.chunks.count == 64)
    let differing = old.chunks.indices.filter { old.chunks[$0] != new.chunks[$0] }
    #expect(differing == [row / 256])
    #expect(added.contains(new.chunks[row / 256]))
    #expect(added.contains(c2.id) && added.contains(c2.tree))
    #expect(c2.addedBytes < 1_100_000)

    let diff = try t.store.diff(c1, c2, statistics: true)
    #expect(diff.tensors.map(\.name) == ["model.embed.weight"])
    #expect(diff.tensors.first?.statistics?.changedElements == cols)
    #expect(diff.unchangedSubtrees == ["model.norm."])

    let back = try t.reopen().readTensor(named: "model.embed.weight", in: c2)
    #expect(back == changed)
  }

  /// A sub-module whose tensors did not change is one shared subtree id: diff recognises it as a
  /// whole and does not descend into it.
  @Test func unchangedSubtreeIsOneSharedTree() throws {
    let t = try TempStore(chunkSize: 4096)
    let encoder = try [
      Make.float32("model.encoder.layers.0.weight", [16, 16], seed: 10),
      Make.float32("model.encoder.layers.1.weight", [16, 16], seed: 11),
      Make.float32("model.encoder.norm", [16], seed: 12),
    ]
    let head1 = try Make.float32("model.head.weight", [16, 4], seed: 13)
    let head2 = try Make.float32("model.head.weight", [16, 4], seed: 14)
    let c1 = try t.store.commit(encoder + [head1], to: "main", step: 1)
    let files1 = t.objectIDs()
    let c2 = try t.store.commit(encoder + [head2], to: "main", step: 2)

    let diff = try t.store.diff(c1, c2)
    #expect(diff.unchangedSubtrees == ["model.encoder."])
    // Listed from the shared subtree's tree objects (its chunks are never read).
    #expect(
      diff.unchangedTensors == [
        "model.encoder.layers.0.weight", "model.encoder.layers.1.weight", "model.encoder.norm",
      ])
    #expect(diff.tensors.map(\.name) == ["model.head.weight"])

    // Exactly the head's chunk, the trees `head.`, `model.` and the root, and the commit are new;
    // the `model.encoder.` subtree and everything under it are shared.
    let added = t.objectIDs().subtracting(files1)
    #expect(added.count == 1 + 3 + 1)

    // The encoder subtree's id equals the root tree of a commit holding only its contents.
    let probe = try TempStore(chunkSize: 4096)
    let subtree = try probe.store.commit(
      try encoder.map {
        try TensorData(
          name: String($0.name.dropFirst("model.encoder.".count)), dtype: $0.dtype,
          shape: $0.shape, bytes: $0.bytes)
      }, to: "main", step: 1
    ).tree
    #expect(files1.contains(subtree))
    #expect(!added.contains(subtree))
  }
}
