import CKCheckpoint
import CKEngine
import CKStore
import Foundation
import Testing

/// Dirty tracking: a save reuses the stored entries of parameters whose version did not change,
/// and never skips one that did, whatever public path changed it.
@Suite struct DirtyTrackingTests {
  final class ThreeLayers: Module {
    let a: Dense
    let b: Dense
    let c: Dense

    init(_ g: RandomGenerator) {
      a = Dense(inputSize: 8, outputSize: 8, generator: g)
      b = Dense(inputSize: 8, outputSize: 8, generator: g)
      c = Dense(inputSize: 8, outputSize: 2, generator: g)
    }
  }

  struct Fixture {
    let path: String
    let store: Store
    let model: ThreeLayers
    let checkpoint: Checkpoint
    let manager: CheckpointManager

    init() throws {
      path = NSTemporaryDirectory() + "ckstore-dirty-" + UUID().uuidString
      store = try Store.create(at: path)
      model = ThreeLayers(RandomGenerator(seed: 3))
      checkpoint = Checkpoint()
      try checkpoint.track(model, as: "model")
      manager = try CheckpointManager(checkpoint, store: store, maxToKeep: nil)
    }

    /// Saves at the next step and checks every stored parameter equals the live one; returns the
    /// names whose entries were reused from the previous commit (same chunk ids).
    func saveAndCheck() throws -> Set<String> {
      let previous = try manager.latest().map { try store.tensors(in: $0.commit) } ?? []
      checkpoint.step += 1
      let saved = try #require(try manager.save())
      let live = Dictionary(
        uniqueKeysWithValues: model.namedParameters().map { ("model/" + $0.name, $0.parameter) })
      var reused = Set<String>()
      for info in try store.tensors(in: saved.commit) where info.name.hasPrefix("model/") {
        let stored = try store.read(info)
        let expected = try #require(live[info.name]).value.withUnsafeBytes { [UInt8]($0) }
        #expect(stored == expected, "\(info.name) is stale in the checkpoint")
        if previous.contains(where: { $0.name == info.name && $0.chunks == info.chunks }) {
          reused.insert(info.name)
        }
      }
      return reused
    }
  }

  @Test func everyPublicMutationPathIsSeen() throws {
    let f = try Fixture()
    defer { try? FileManager.default.removeItem(atPath: f.path) }
    _ = try f.saveAndCheck()
    let all = Set(f.model.namedParameters().map { "model/" + $0.name })

    // Nothing changed: everything is reused.
    #expect(try f.saveAndCheck() == all)

    // assign
    try f.model.a.weight.assign(Tensor(shape: [8, 8], repeating: 0.5))
    #expect(try f.saveAndCheck() == all.subtracting(["model/a.weight"]))

    // load(bytes:)
    let ones = [Float](repeating: 1, count: 8)
    try ones.withUnsafeBytes { try f.model.b.bias!.load(bytes: $0) }
    #expect(try f.saveAndCheck() == all.subtracting(["model/b.bias"]))

    // An optimizer step through each optimizer kind, on one layer's parameters only.
    for optimizer in [SGD(learningRate: .constant(0.1)), Adam(learningRate: .constant(0.1))]
      as [any Optimizer]
    {
      let gradient = Tensor(shape: [8, 2], repeating: 1)
      try optimizer.update(
        [("c.weight", f.model.c.weight)], gradients: ["c.weight": gradient])
      #expect(try f.saveAndCheck() == all.subtracting(["model/c.weight"]))
    }

    // Writing through a copy of the value copies the storage first: the parameter is unchanged.
    var copy = f.model.a.bias!.value
    copy.withUnsafeMutableBufferPointer { $0[0] = 42 }
    #expect(f.model.a.bias!.value.scalars[0] != 42)
    #expect(try f.saveAndCheck() == all)
  }

  @Test func aFrozenBaseCostsOnlyTheChangedBytes() throws {
    let f = try Fixture()
    defer { try? FileManager.default.removeItem(atPath: f.path) }
    f.model.a.freeze()
    f.model.b.freeze()
    let optimizer = Adam(learningRate: .constant(0.01))
    try f.checkpoint.track(optimizer, as: "optimizer", updating: f.model)
    var added: [Int64] = []
    for _ in 0..<5 {
      try optimizer.update(
        f.model.trainableParameters(),
        gradients: ["c.weight": Tensor(shape: [8, 2], repeating: 0.1)])
      f.checkpoint.step += 1
      added.append(try #require(try f.manager.save()).commit.addedBytes)
    }
    let reused = try f.saveAndCheck()
    #expect(
      reused.isSuperset(of: ["model/a.weight", "model/a.bias", "model/b.weight", "model/b.bias"]))
    #expect(added.dropFirst().allSatisfy { $0 < added[0] })
  }
}
