import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

/// Acceptance 3 (faults): the S3 gateway of a five-process cluster is killed mid-push.
final class RemoteFaultTests: XCTestCase {
  func testGatewayKilledMidPushFailsClearlyAndARerunCompletes() throws {
    let cluster = try SeaweedFS(topology: .cluster)
    defer { cluster.stop() }
    let env = RemoteTest.environment(cluster)
    let dir = RemoteTest.folder(self)
    let (remote, url) = try RemoteTest.remote(on: cluster)
    let store = try Store.create(at: dir + "/a")
    let first = try store.commit(RemoteTest.tensors(big: 1, small: 1), to: "main", step: 1)
    _ = try Push.run(store, to: remote, refs: ["main"])
    try store.addRemote("origin", RemoteConfiguration(url: url, pathStyle: true))

    // 256 distinct, incompressible 1 MiB chunks: long enough to be cut in the middle (96 were
    // pushed before the watcher saw 12 objects once the client ran over libcurl directly).
    var block = RemoteTest.bytes(1 << 20, seed: 42)
    var big = [UInt8]()
    big.reserveCapacity(256 << 20)
    for i in 0..<256 {
      block[0] = UInt8(i)
      big += block
    }
    let second = try store.commit(
      [try TensorData(name: "huge", dtype: .uint8, shape: [big.count], bytes: big)], to: "main",
      step: 2)

    let push = Process()
    push.executableURL = CkstoreBinary.url
    push.arguments = ["push", "--store", dir + "/a"]
    push.environment = env
    let err = Pipe()
    push.standardError = err
    push.standardOutput = FileHandle.nullDevice
    try push.run()
    // Kill the gateway once some chunks of the new commit are on the remote.
    let watcher = RemoteTest.reconnect(remote)
    let deadline = Date().addingTimeInterval(60)
    while push.isRunning, Date() < deadline,
      (try? watcher.bucket.list(prefix: remote.prefix + "objects/").count) ?? 0 < 12
    {
      usleep(20_000)
    }
    XCTAssertTrue(push.isRunning, "the push finished before the gateway could be killed")
    cluster.kill("s3")
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    push.waitUntilExit()
    XCTAssertEqual(push.terminationStatus, 2, message)
    XCTAssertTrue(message.contains("s3://"), message)
    XCTAssertFalse(message.contains(SeaweedFS.admin.secretKey), message)

    try cluster.restart("s3")
    let check = RemoteTest.reconnect(remote)
    let ref = try check.bucket.get(check.prefix + "refs/heads/main").map {
      String(decoding: $0, as: UTF8.self)
    }
    XCTAssertEqual(ref, first.id.hex + "\n", "the ref still names the complete commit")
    XCTAssertTrue(try RemoteFsck.run(check).isClean)

    let rerun = try RemoteTest.ckstore(["push", "--store", dir + "/a"], environment: env)
    XCTAssertEqual(rerun.status, 0, rerun.err)
    let after = RemoteTest.reconnect(remote)
    XCTAssertTrue(try RemoteFsck.run(after).isClean)
    let clone = try Clone.run(
      after, configuration: RemoteConfiguration(url: url), into: dir + "/b", depth: .newest(1)
    ).store
    XCTAssertEqual(try RemoteTest.contents(clone, second), try RemoteTest.contents(store, second))
  }
}
