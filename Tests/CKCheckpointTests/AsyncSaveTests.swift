import CKCheckpoint
import CKEngine
import CKStore
import Foundation
import Testing

/// `saveInBackground`: a consistent copy now, the commit later, failures never swallowed.
@Suite struct AsyncSaveTests {
  struct Fixture {
    let path: String
    let store: Store
    let model: Sequential
    let checkpoint: Checkpoint
    let manager: CheckpointManager

    init() throws {
      path = NSTemporaryDirectory() + "ckstore-async-" + UUID().uuidString
      store = try Store.create(at: path)
      let g = RandomGenerator(seed: 4)
      model = Sequential([
        Dense(inputSize: 16, outputSize: 16, generator: g),
        Dense(inputSize: 16, outputSize: 4, generator: g),
      ])
      checkpoint = Checkpoint()
      try checkpoint.track(model, as: "model")
      manager = try CheckpointManager(checkpoint, store: store, maxToKeep: nil)
    }

    func weights() -> [UInt8] {
      model.namedParameters()[1].parameter.value.withUnsafeBytes { [UInt8]($0) }
    }
  }

  @Test func theCommitHoldsTheValuesAtTheTimeOfTheCall() throws {
    let f = try Fixture()
    defer { try? FileManager.default.removeItem(atPath: f.path) }
    let name = "model/" + f.model.namedParameters()[1].name
    var expected: [[UInt8]] = []
    for step in 1...5 {
      f.checkpoint.step = Int64(step)
      expected.append(f.weights())
      #expect(try f.manager.saveInBackground())
      // Training goes on while the commit is written: change the weights right away.
      try f.model.namedParameters()[1].parameter.assign(
        Tensor(shape: [16, 16], repeating: Float(step)))
    }
    let last = try #require(try f.manager.wait())
    #expect(last.step == 5)
    let history = try f.store.history(from: last.commit.id)
    #expect(history.map(\.step) == [5, 4, 3, 2, 1])
    for (commit, bytes) in zip(history.reversed(), expected) {
      #expect(try f.store.readTensor(named: name, in: commit).bytes == bytes)
    }
  }

  @Test func aBackgroundFailureIsThrownByTheNextCallAndTheStepIsNotCountedSaved() throws {
    let f = try Fixture()
    defer { try? FileManager.default.removeItem(atPath: f.path) }
    f.checkpoint.step = 1
    try f.manager.save()
    // Take the objects away (a file where their folder was): the save cannot reuse or write any.
    let objects = f.path + "/objects"
    try FileManager.default.moveItem(atPath: objects, toPath: objects + ".away")
    #expect(FileManager.default.createFile(atPath: objects, contents: Data()))
    f.checkpoint.step = 2
    try f.model.namedParameters()[0].parameter.assign(Tensor(shape: [16], repeating: 2))
    #expect(try f.manager.saveInBackground())
    let error = #expect(throws: StoreError.self) { try f.manager.wait() }
    #expect(error?.code == .objectNotFound || error?.code == .io)
    // The failure is reported once; once the cause is gone the same step saves.
    #expect(try f.manager.wait() == nil)
    try FileManager.default.removeItem(atPath: objects)
    try FileManager.default.moveItem(atPath: objects + ".away", toPath: objects)
    #expect(try f.store.resolve("main").step == 1)
    let saved = try #require(try f.manager.save())
    #expect(saved.step == 2)
    #expect(try f.store.fsck().isClean)
  }

  @Test func aFailureSurfacesAtTheNextSaveToo() throws {
    let f = try Fixture()
    defer { try? FileManager.default.removeItem(atPath: f.path) }
    let objects = f.path + "/objects"
    try FileManager.default.removeItem(atPath: objects)
    #expect(FileManager.default.createFile(atPath: objects, contents: Data()))
    f.checkpoint.step = 1
    #expect(try f.manager.saveInBackground())
    f.checkpoint.step = 2
    #expect(throws: StoreError.self) { try f.manager.save() }
  }
}

/// Arguments a manager refuses with a typed error.
@Suite struct ManagerArgumentTests {
  @Test func maxToKeepBelowOneIsRefused() throws {
    let path = NSTemporaryDirectory() + "ckstore-args-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: path) }
    let store = try Store.create(at: path)
    let error = #expect(throws: CheckpointError.self) {
      try CheckpointManager(Checkpoint(), store: store, maxToKeep: 0)
    }
    #expect(error?.code == .invalidValue)
    #expect(error?.message.contains("maxToKeep") == true)
    // The refused manager took no lock: a valid one can be made at once.
    #expect(throws: Never.self) { try CheckpointManager(Checkpoint(), store: store, maxToKeep: 1) }
  }
}
