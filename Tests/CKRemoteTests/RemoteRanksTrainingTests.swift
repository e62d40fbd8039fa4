import CKStore
import CKTestSupport
import Foundation
import XCTest

/// `ckstore train --ranks N --push`: sharded commits pushed as they land, and a fresh machine
/// resuming from the remote alone under another number of ranks, bit-identical to one process.
final class RemoteRanksTrainingTests: XCTestCase {
  func testShardedTrainingPushesAndAFreshMachineResumesWithOtherRanks() throws {
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let (_, url) = try RemoteTest.remote(on: server)
    let args = ["train", "--seed", "9", "--save-every", "20", "--keep-last", "100"]
    let first = try RemoteTest.ckstore(
      args + ["--steps", "60", "--ranks", "3", "--push", url, "--store", dir + "/a"],
      environment: env)
    XCTAssertEqual(first.status, 0, first.err)
    // A fresh machine: no local history, 2 ranks, the same remote.
    let second = try RemoteTest.ckstore(
      args + ["--steps", "100", "--ranks", "2", "--push", url, "--store", dir + "/b"],
      environment: env)
    XCTAssertEqual(second.status, 0, second.err)
    XCTAssertTrue(second.out.contains("resuming main from step 60"), second.out)
    // One process, no remote, straight to 100: the reference.
    let straight = try RemoteTest.ckstore(
      args + ["--steps", "100", "--store", dir + "/c"], environment: env)
    XCTAssertEqual(straight.status, 0, straight.err)
    let clone = try RemoteTest.ckstore(["clone", url, dir + "/d"], environment: env)
    XCTAssertEqual(clone.status, 0, clone.err)

    let reference = try Store.open(at: dir + "/c")
    let cloned = try Store.open(at: dir + "/d")
    let head = try cloned.resolve("main")
    XCTAssertEqual(head.step, 100)
    XCTAssertEqual(head.id, try Store.open(at: dir + "/b").resolve("main").id)
    let history = try cloned.history(from: head.id)
    XCTAssertEqual(history.map(\.step), [100, 80, 60, 40, 20])
    XCTAssertEqual(
      history.map { $0.metadata[ShardedMetadataKeys.parts] }, ["2", "2", "3", "3", "3"])
    XCTAssertEqual(
      try RemoteTest.contents(cloned, head),
      try RemoteTest.contents(reference, try reference.resolve("main")))
    let fsck = try RemoteTest.ckstore(
      ["fsck", "--remote", "origin", "--store", dir + "/d"], environment: env)
    XCTAssertEqual(fsck.status, 0, fsck.out + fsck.err)
  }
}
