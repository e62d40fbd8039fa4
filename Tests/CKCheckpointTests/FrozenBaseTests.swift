import CKCheckpoint
import CKEngine
import CKStore
import Testing

/// Acceptance 4: with a frozen base (only the head trains), 10 saves store the base's data once,
/// as the store's stats and the commits' added bytes show; frozen parameters are saved too.
@Suite struct FrozenBaseTests {
  @Test func tenSavesStoreTheFrozenBaseOnce() throws {
    let dir = try TempDir()
    // 64 KiB chunks, so the base is several chunks and "stored once" is about chunk objects.
    let store = try dir.store(chunkSize: 64 << 10)
    let g = RandomGenerator(seed: 8)
    let base = Sequential([
      Dense(inputSize: 64, outputSize: 256, activation: .relu, generator: g),
      Dense(inputSize: 256, outputSize: 256, activation: .relu, generator: g),
    ])
    let head = Dense(inputSize: 256, outputSize: 10, generator: g)
    base.freeze()
    let model = Sequential([base, head])
    let initialBase = base.namedParameters().map { ($0.name, $0.parameter.value.scalars) }
    let optimizer = Adam(learningRate: .constant(1e-3))
    let batches = try MinibatchIterator(count: digitsTrain.count, batchSize: 32, seed: 1)
    let checkpoint = Checkpoint()
    try checkpoint.track(model, as: "model")
    try checkpoint.track(optimizer, as: "optimizer", updating: model)
    try checkpoint.track(batches, as: "data")
    let manager = try CheckpointManager(checkpoint, store: store, maxToKeep: nil)

    let baseBytes = Int64(base.parameterCount * 4)
    let headBytes = Int64(head.parameterCount * 4)
    var commits: [Commit] = []
    var stats: [StoreStats] = []
    for _ in 0..<10 {
      for _ in 0..<5 {
        let (x, y) = digitsTrain.batch(batches.next())
        try trainStep(model, optimizer, x, y)
        checkpoint.step += 1
      }
      commits.append(try #require(try manager.save()).commit)
      stats.append(try store.stats())
    }

    // The base never changed, and it is saved (frozen parameters are part of the checkpoint).
    for (name, values) in initialBase {
      #expect(base.parameter(named: name)!.value.scalars == values)
    }
    let baseNames = base.namedParameters().map { "model/layers.0." + $0.name }
    #expect(baseNames.count == 4)
    var baseChunks: [Set<ObjectID>] = []
    for commit in commits {
      let infos = try store.tensors(in: commit)
      let names = Set(infos.map(\.name))
      #expect(names.isSuperset(of: baseNames), "frozen parameters are in the tree")
      #expect(!names.contains { $0.hasPrefix("optimizer/layers.0.") }, "no state for frozen ones")
      baseChunks.append(Set(infos.filter { baseNames.contains($0.name) }.flatMap(\.chunks)))
    }
    let base0 = baseChunks[0]
    #expect(base0.count >= 5, "the base spans several chunks (\(base0.count))")
    #expect(baseChunks.allSatisfy { $0 == base0 }, "every save names the same base chunks")
    let saved = try store.readTensor(named: "model/layers.0.layers.1.weight", in: commits[9])
    #expect(
      saved.bytes == base.parameter(named: "layers.1.weight")!.value.withUnsafeBytes { [UInt8]($0) }
    )

    // Stats: the base's bytes are counted once in uniqueBytes, however many saves.
    let perSave = (1..<10).map { stats[$0].uniqueBytes - stats[$0 - 1].uniqueBytes }
    let added = commits.dropFirst().map(\.addedBytes)
    print(
      "frozen base: base \(baseBytes) B, head \(headBytes) B; first commit added "
        + "\(commits[0].addedBytes) B; later commits added \(added) B; uniqueBytes grows by "
        + "\(perSave) B per save; after 10 saves uniqueBytes \(stats[9].uniqueBytes), "
        + "logicalBytes \(stats[9].logicalBytes), chunk objects \(stats.map(\.chunkObjects))")
    // The first save stores the base (addedBytes is compressed bytes on disk, uniqueBytes is raw).
    #expect(stats[0].uniqueBytes > baseBytes)
    #expect(commits[0].addedBytes > 5 * added.max()!)
    for bytes in perSave + added {
      // Head + its Adam m and v + counters and position: about 3 × head, far below the base.
      #expect(bytes < 4 * headBytes)
      #expect(bytes < baseBytes / 8)
      #expect(bytes > headBytes, "the head changed, so it was stored again")
    }
    #expect(stats[9].uniqueBytes < baseBytes + 10 * 4 * headBytes)
    #expect(stats[9].logicalBytes > 10 * baseBytes, "every commit holds the whole base")
    #expect(stats[9].dedupRatio > 5)
    // Chunk objects: one file per distinct chunk, so the base's chunks exist once, and each
    // save adds only chunks of what changed.
    var allChunks = Set<ObjectID>()
    var otherTensors = 0
    for commit in commits {
      let infos = try store.tensors(in: commit)
      allChunks.formUnion(infos.flatMap(\.chunks))
      otherTensors = infos.count - baseNames.count
    }
    #expect(stats[9].chunkObjects == allChunks.count)
    #expect(allChunks.count <= base0.count + 10 * otherTensors)
    let newChunks = (1..<10).map { stats[$0].chunkObjects - stats[$0 - 1].chunkObjects }
    for n in newChunks { #expect(n > 0 && n <= otherTensors) }
  }
}
