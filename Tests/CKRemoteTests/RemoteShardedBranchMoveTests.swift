import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// A remote branch that another writer moves during a sharded save (docs/FORMAT.md, "Sharded
/// commits", remote variant): before the last part lands, the commit is built on the new head;
/// while the builder is between its read of the head and its `If-Match` swap, the swap fails and
/// the save is `rejected`, and a re-run builds it on the new head.
final class RemoteShardedBranchMoveTests: XCTestCase {
  /// Part `i` of a checkpoint of `folders` × 4 tensors `f<k>.r<i>` (float32 [4]): every part
  /// has one tensor in every folder, so the merged tree has `folders` subtrees that no part tree
  /// has, and the builder uploads them one by one after it has read the head.
  private func writePart(_ i: Int, folders: Int, seed: UInt64, in dir: String) throws -> String {
    let tensors = try (0..<folders).map { k in
      try TensorData(
        name: "f\(k).r\(i)", dtype: .float32, shape: [4],
        bytes: RemoteTest.bytes(16, seed: seed &* 100_000 &+ UInt64(k * 4 + i)))
    }
    let path = dir + "/s\(seed)-part\(i).safetensors"
    try Data(Safetensors.encode(tensors, metadata: [:])).write(to: URL(fileURLWithPath: path))
    return path
  }

  private func importPart(
    _ file: String, _ i: Int, step: Int, store: String, remote: Bool = true,
    env: [String: String]
  ) throws -> (status: Int32, out: String, err: String) {
    try RemoteTest.ckstore(
      ["import", file, "--part", "\(i)/4", "--step", "\(step)", "--store", store]
        + (remote ? ["--remote", "origin"] : []), environment: env)
  }

  /// A store that writes the remote's `main` as a plain pusher, its first commit already pushed.
  private func otherWriter(_ dir: String, _ remote: RemoteStore) throws -> (Store, Commit) {
    let store = try Store.create(at: dir + "/other")
    let first = try store.commit(
      RemoteTest.tensors(big: 1, small: 1), to: "main", step: 0, message: "plain")
    _ = try Push.run(store, to: RemoteTest.reconnect(remote), refs: ["main"])
    return (store, first)
  }

  /// The remote commit `id`, fetched (with every commit the remote's refs reach) into `store`.
  private func remoteCommit(_ id: ObjectID, _ remote: RemoteStore, into store: Store) throws
    -> Commit
  {
    _ = try Fetch.run(store, from: RemoteTest.reconnect(remote))
    return try store.commit(id)
  }

  private func recordCount(_ remote: RemoteStore) throws -> Int {
    try remote.bucket.list(prefix: remote.prefix + "parts/").count
  }

  private func assertClean(_ remote: RemoteStore, _ context: String) throws {
    let report = try RemoteFsck.run(RemoteTest.reconnect(remote))
    XCTAssertTrue(report.isClean, "\(context): \(report.problems.map(\.message))")
  }

  func testACommitPushedBeforeTheLastPartIsTheShardedCommitsParent() throws {
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let (remote, url) = try RemoteTest.remote(on: server)
    let stores = try RemoteTest.rankStores(dir, url: url, env: env)
    let (other, _) = try otherWriter(dir, remote)
    let files = try (0..<4).map { try writePart($0, folders: 4, seed: 1, in: dir) }
    for i in 0..<3 {
      let r = try importPart(files[i], i, step: 1, store: stores[i], env: env)
      XCTAssertEqual(r.status, 0, r.err)
      XCTAssertTrue(r.out.contains("the commit waits for the others"), r.out)
    }
    let moved = try other.commit(
      RemoteTest.tensors(big: 1, small: 2), to: "main", step: 50, message: "plain")
    _ = try Push.run(other, to: RemoteTest.reconnect(remote), refs: ["main"])
    let last = try importPart(files[3], 3, step: 1, store: stores[3], env: env)
    XCTAssertEqual(last.status, 0, last.err)
    XCTAssertTrue(last.out.contains("sharded commit of 4 parts"), last.out)
    let head = try XCTUnwrap(try RemoteTest.head(remote))
    let commit = try remoteCommit(head, remote, into: try Store.create(at: dir + "/verify"))
    XCTAssertEqual(commit.step, 1)
    XCTAssertEqual(commit.parents, [moved.id])
    XCTAssertEqual(try recordCount(remote), 0)
    try assertClean(remote, "after the sharded commit")
  }

  /// The builder is SIGSTOPped once the merged root tree is on the remote (so it has read the
  /// head), another writer pushes, and the builder is resumed: its swap must fail.
  func testABranchMovedDuringTheBuildIsRejectedAndARerunBuildsOnTheNewHead() throws {
    let folders = 256
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let (remote, url) = try RemoteTest.remote(on: server)
    let stores = try RemoteTest.rankStores(dir, url: url, env: env)
    let (other, first) = try otherWriter(dir, remote)
    let files = try (0..<4).map { try writePart($0, folders: folders, seed: 2, in: dir) }
    // The merged tree's id, from the same parts saved to a local store.
    let local = dir + "/local"
    _ = try Store.create(at: local)
    for i in 0..<4 {
      let r = try importPart(files[i], i, step: 1, store: local, remote: false, env: env)
      XCTAssertEqual(r.status, 0, r.err)
    }
    let reference = try Store.open(at: local)
    let merged = try reference.commit(try XCTUnwrap(try reference.head(of: "main"))).tree
    let rootKey =
      remote.prefix + "objects/\(merged.hex.prefix(2))/\(merged.hex.dropFirst(2))"

    for i in 0..<3 {
      let r = try importPart(files[i], i, step: 1, store: stores[i], env: env)
      XCTAssertEqual(r.status, 0, r.err)
    }
    let moved = try other.commit(
      RemoteTest.tensors(big: 1, small: 3), to: "main", step: 50, message: "plain")
    let builder = Process()
    builder.executableURL = CkstoreBinary.url
    builder.arguments = [
      "import", files[3], "--part", "3/4", "--step", "1", "--remote", "origin", "--store",
      stores[3],
    ]
    builder.environment = env
    let err = Pipe()
    builder.standardError = err
    builder.standardOutput = FileHandle.nullDevice
    try builder.run()
    let deadline = Date().addingTimeInterval(120)
    while builder.isRunning, Date() < deadline, try remote.bucket.head(rootKey) == nil {
      usleep(500)
    }
    guard builder.isRunning else {
      builder.waitUntilExit()
      let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      return XCTFail("the builder ended before its merged tree was seen: \(message)")
    }
    kill(builder.processIdentifier, SIGSTOP)
    let push = Result { try Push.run(other, to: RemoteTest.reconnect(remote), refs: ["main"]) }
    kill(builder.processIdentifier, SIGCONT)
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    builder.waitUntilExit()
    if case .failure(let error) = push {
      return XCTFail("the builder moved the branch before it was stopped: \(error)")
    }

    // Rejected, naming the remote and the ref; the other writer's commit stays the head.
    XCTAssertEqual(builder.terminationStatus, 2, message)
    XCTAssertTrue(
      message.contains("rejected") && message.contains(url) && message.contains("refs/heads/main")
        && message.contains("step 1"), message)
    XCTAssertEqual(try RemoteTest.head(remote), moved.id)
    XCTAssertEqual(
      try remote.bucket.list(prefix: remote.prefix + "refs/").map(\.key),
      [remote.prefix + "refs/heads/main"])
    // Nothing partial is a checkpoint: main's history is the two plain commits; the records
    // stay, so that a re-run of any part completes the save.
    let verify = try Store.create(at: dir + "/verify")
    let now = try remoteCommit(moved.id, remote, into: verify)
    XCTAssertEqual(try verify.history(from: now.id).map(\.id), [moved.id, first.id])
    XCTAssertEqual(try recordCount(remote), 4)
    try assertClean(remote, "after the rejected build")

    let rerun = try importPart(files[1], 1, step: 1, store: stores[1], env: env)
    XCTAssertEqual(rerun.status, 0, rerun.err)
    XCTAssertTrue(rerun.out.contains("sharded commit of 4 parts"), rerun.out)
    let head = try XCTUnwrap(try RemoteTest.head(remote))
    let commit = try remoteCommit(head, remote, into: verify)
    XCTAssertEqual(commit.step, 1)
    XCTAssertEqual(commit.parents, [moved.id])
    XCTAssertEqual(commit.tree, merged, "the commit holds every part's tensors")
    XCTAssertEqual(try recordCount(remote), 0)
    try assertClean(remote, "after the re-run")
    let gc = try RemoteTest.ckstore(
      ["gc", "--remote", "origin", "--grace", "0", "--store", stores[0]], environment: env)
    XCTAssertEqual(gc.status, 0, gc.err)
    try assertClean(remote, "after gc")
  }
}
