import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

/// Acceptance 5: `gc --remote` run in a loop against a concurrent pusher loses nothing.
final class RemoteGCTests: XCTestCase {
  func testGCInALoopAgainstAConcurrentPusherLosesNothing() throws {
    let server = try SeaweedFS.shared()
    let dir = RemoteTest.folder(self)
    let store = try Store.create(at: dir + "/a")
    let (remote, url) = try RemoteTest.remote(on: server)
    try store.commit(RemoteTest.tensors(big: 1, small: 1), to: "main", step: 1)
    _ = try Push.run(store, to: remote, refs: ["main"])

    let pushes = 10
    let failure = LockedError()
    let done = DispatchSemaphore(value: 0)
    Thread {
      defer { done.signal() }
      do {
        for step in 2...pushes {
          // Half the tensors change each time, so that gc has shared and unshared data to sort.
          try store.commit(
            RemoteTest.tensors(big: UInt64(step / 2), small: UInt64(step)), to: "main",
            step: Int64(step))
          _ = try Push.run(store, to: RemoteTest.reconnect(remote), refs: ["main"])
        }
      } catch {
        failure.set(error)
      }
    }.start()

    // Grace 0: only the leases stand between gc and the pusher.
    var runs = 0
    var backedOff = 0
    var pruned = 0
    // A successful poll consumes the pusher's signal: only a loop ended by `runs` waits again.
    var pusherDone = false
    while runs < 200 {
      if done.wait(timeout: .now()) == .success {
        pusherDone = true
        break
      }
      runs += 1
      do {
        let report = try RemoteGC.run(
          RemoteTest.reconnect(remote), policy: RetentionPolicy(keepLast: 2), grace: 0)
        pruned += report.prunedCommits.count
      } catch let error as RemoteError where error.code == .leaseHeld {
        backedOff += 1
      }
    }
    if !pusherDone { done.wait() }
    XCTAssertNil(failure.error, "the pusher failed: \(failure.error.map { "\($0)" } ?? "")")
    XCTAssertGreaterThan(runs, 1)
    // A last gc with nothing running, then everything the remote keeps must be whole.
    pruned += try RemoteGC.run(
      RemoteTest.reconnect(remote), policy: RetentionPolicy(keepLast: 2), grace: 0
    ).prunedCommits.count
    XCTAssertEqual(pruned, pushes - 2, "every commit but the newest two was pruned once")
    let fsck = try RemoteFsck.run(RemoteTest.reconnect(remote))
    XCTAssertTrue(fsck.isClean, "\(fsck.problems) after \(runs) gc runs, \(backedOff) backed off")
    let clone = try Clone.run(
      RemoteTest.reconnect(remote), configuration: RemoteConfiguration(url: url),
      into: dir + "/b"
    ).store
    let head = try XCTUnwrap(try store.head(of: "main"))
    XCTAssertEqual(try clone.head(of: "main"), head)
    for c in try clone.history(from: head).prefix(2) {
      XCTAssertEqual(try RemoteTest.contents(clone, c), try RemoteTest.contents(store, c))
    }
    XCTAssertEqual(try clone.history(from: head).count, pushes)
  }

  /// A gc refuses to start while a push holds its lease, and a push waits for a gc's lease.
  func testLeasesExcludeGCAndPush() throws {
    let server = try SeaweedFS.shared()
    let store = try Store.create(at: RemoteTest.folder(self) + "/a")
    let (remote, _) = try RemoteTest.remote(on: server)
    try store.commit(RemoteTest.tensors(big: 1, small: 1), to: "main", step: 1)
    _ = try Push.run(store, to: remote, refs: ["main"])
    let lease = remote.prefix + "leases/push-test"
    let body = "{\"host\":\"trainer-3\",\"pid\":4242,\"time\":0}\n"
    _ = try remote.bucket.put(lease, body: Data(body.utf8), condition: .none)
    XCTAssertThrowsError(try RemoteGC.run(remote, policy: RetentionPolicy(keepLast: 1))) {
      XCTAssertEqual(($0 as? RemoteError)?.code, .leaseHeld, "\($0)")
      // Which lease holds gc off, whose it is and when it expires if its pusher is dead.
      let message = "\($0)"
      XCTAssertTrue(
        message.contains("1 push(es) in progress")
          && message.contains("leases/push-test (host trainer-3, pid 4242, written 20")
          && message.contains("expires 10 minutes after it was written"), message)
    }
    XCTAssertNil(try remote.bucket.head(remote.prefix + "leases/gc"), "gc released its lease")
    try remote.bucket.delete(lease)
    XCTAssertNoThrow(try RemoteGC.run(remote, policy: RetentionPolicy(keepLast: 1)))
  }
}

/// An error set by one thread and read by another.
final class LockedError: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Error?
  var error: Error? { lock.withLock { value } }
  func set(_ error: Error) { lock.withLock { value = error } }
}
