import CKCheckpoint
import CKEngine
import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Training against a remote (acceptance 4): background pushes, failures reported and retried,
/// and resuming on a fresh machine from the remote alone.
final class RemoteTrainingTests: XCTestCase {
  /// A model and a generator whose state each "step" advances, tracked in a checkpoint.
  final class Run {
    let generator: RandomGenerator
    let model: Sequential
    let checkpoint = Checkpoint()

    init(seed: UInt64) throws {
      generator = RandomGenerator(seed: seed)
      model = Sequential([Dense(inputSize: 256, outputSize: 256, generator: generator)])
      try checkpoint.track(model, as: "model")
      try checkpoint.track(generator, as: "rng")
    }

    func step() {
      _ = generator.next()
      checkpoint.step += 1
    }

    func state() throws -> [String: [UInt8]] {
      Dictionary(uniqueKeysWithValues: try checkpoint.tensors().map { ($0.name, $0.bytes) })
    }
  }

  func testManagerPushesReportsFailuresRetriesAndResumesOnAFreshMachine() throws {
    let server = try SeaweedFS()
    defer { server.stop() }
    let dir = RemoteTest.folder(self)
    let (remote, _) = try RemoteTest.remote(on: server)
    let store = try Store.create(at: dir + "/a")
    let warnings = WarningLog()
    store.onWarning { warnings.append($0.message) }
    let run = try Run(seed: 1)
    let manager = try CheckpointManager(
      run.checkpoint, store: store, maxToKeep: 2, remote: remote)
    XCTAssertNil(try manager.restoreOrInitialize(), "an empty remote has nothing to resume")
    for _ in 0..<3 {
      run.step()
      try manager.save()
    }
    try manager.finishPushing()
    XCTAssertEqual(store.remoteTrackingRefs("origin").first?.id, try store.head(of: "main"))
    XCTAssertTrue(warnings.messages.isEmpty, "\(warnings.messages)")

    // The remote goes away: the save succeeds here, the push fails and says so.
    server.kill("server")
    run.step()
    try manager.save()
    let deadline = Date().addingTimeInterval(60)
    while warnings.messages.isEmpty, Date() < deadline { usleep(100_000) }
    XCTAssertTrue(
      warnings.messages.first?.contains("pushing 'main' to remote 'origin'") ?? false,
      "\(warnings.messages)")
    XCTAssertNotEqual(store.remoteTrackingRefs("origin").first?.id, try store.head(of: "main"))

    // Back again: the next save's push sends both checkpoints.
    try server.restart("server")
    run.step()
    try manager.save()
    try manager.finishPushing()
    let head = try XCTUnwrap(try store.head(of: "main"))
    XCTAssertEqual(store.remoteTrackingRefs("origin").first?.id, head)
    XCTAssertEqual(try store.commit(head).step, 5)

    // A fresh machine: an empty store resumes from the remote's newest checkpoint, bit-exact.
    let fresh = try Store.create(at: dir + "/b")
    let other = try Run(seed: 99)
    let resumed = try CheckpointManager(
      other.checkpoint, store: fresh, maxToKeep: 2, remote: RemoteTest.reconnect(remote))
    let restored = try XCTUnwrap(try resumed.restoreOrInitialize())
    XCTAssertEqual(restored.commit.id, head)
    XCTAssertEqual(other.checkpoint.step, 5)
    XCTAssertEqual(try other.state(), try run.state())
    XCTAssertEqual(try fresh.history(from: head).count, 5, "the whole history came along")
  }

  /// `ckstore train --push`, killed, its store deleted, run again: it resumes from the remote
  /// and ends bit-identical to a run that was never interrupted.
  func testTrainPushKilledAndResumedFromTheRemoteIsBitIdentical() throws {
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let (_, url) = try RemoteTest.remote(on: server)
    let args = [
      "train", "--data", "digits", "--model", "mlp", "--save-every", "20", "--seed", "3",
      "--steps", "200",
    ]
    XCTAssertEqual(try RemoteTest.ckstore(["init", dir + "/a"], environment: env).status, 0)
    let straight = try RemoteTest.ckstore(args + ["--store", dir + "/a"], environment: env)
    XCTAssertEqual(straight.status, 0, straight.err)

    func freshStore() throws {
      try? FileManager.default.removeItem(atPath: dir + "/b")
      XCTAssertEqual(try RemoteTest.ckstore(["init", dir + "/b"], environment: env).status, 0)
      let add = try RemoteTest.ckstore(
        ["remote", "add", "origin", url, "--path-style", "--store", dir + "/b"], environment: env)
      XCTAssertEqual(add.status, 0, add.err)
    }
    try freshStore()
    let training = Process()
    training.executableURL = CkstoreBinary.url
    training.arguments = args + ["--push", "origin", "--store", dir + "/b"]
    training.environment = env
    training.standardOutput = FileHandle.nullDevice
    training.standardError = FileHandle.nullDevice
    try training.run()
    // Kill it once a checkpoint past step 40 is on the remote.
    let tracking = dir + "/b/refs/remotes/origin/main"
    let deadline = Date().addingTimeInterval(120)
    var pushedStep: Int64 = 0
    while training.isRunning, Date() < deadline, pushedStep < 40 {
      usleep(20_000)
      if let text = try? String(contentsOfFile: tracking, encoding: .utf8),
        let id = ObjectID(hex: text.trimmingCharacters(in: .whitespacesAndNewlines)),
        let c = try? Store.open(at: dir + "/b").commit(id)
      {
        pushedStep = c.step
      }
    }
    XCTAssertTrue(training.isRunning, "training finished before it could be killed")
    kill(training.processIdentifier, SIGKILL)
    training.waitUntilExit()
    XCTAssertGreaterThanOrEqual(pushedStep, 40)

    try freshStore()
    let again = try RemoteTest.ckstore(
      args + ["--push", "origin", "--store", dir + "/b"], environment: env)
    XCTAssertEqual(again.status, 0, again.err)
    XCTAssertTrue(again.out.contains("resuming main from step "), again.out)
    XCTAssertFalse(again.out.contains("resuming main from step 0 "), again.out)
    let a = try Store.open(at: dir + "/a")
    let b = try Store.open(at: dir + "/b")
    let finalA = try a.resolve("main")
    let finalB = try b.resolve("main")
    XCTAssertEqual(finalB.step, 200)
    XCTAssertEqual(try RemoteTest.contents(b, finalB), try RemoteTest.contents(a, finalA))
    XCTAssertEqual(b.remoteTrackingRefs("origin").first?.id, finalB.id, "the last push landed")
  }
}

/// Warnings collected from a store's handler, on any thread.
final class WarningLog: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [String] = []
  var messages: [String] { lock.withLock { list } }
  func append(_ message: String) { lock.withLock { list.append(message) } }
}
