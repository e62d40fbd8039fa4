import CKRemote
import CKStore
import CKTestSupport
import Foundation
import XCTest

/// The remote commands as a user runs them (the built binary, against SeaweedFS): the
/// workflow, two pushers racing (acceptance 2) and credential errors (acceptance 3).
final class RemoteCLITests: XCTestCase {
  func testRemoteWorkflowThroughTheBinary() throws {
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let store = try Store.create(at: dir + "/a")
    for step in 1...3 {
      try store.commit(
        RemoteTest.tensors(big: UInt64(step), small: 9), to: "main", step: Int64(step))
    }
    let (_, url) = try RemoteTest.remote(on: server)
    let add = try RemoteTest.ckstore(
      ["remote", "add", "origin", url, "--path-style", "--store", dir + "/a"], environment: env)
    XCTAssertEqual(add.status, 0, add.err)
    let list = try RemoteTest.ckstore(["remote", "-v", "--store", dir + "/a"], environment: env)
    XCTAssertTrue(list.out.contains("origin\t\(url)"), list.out)
    let push = try RemoteTest.ckstore(
      ["push", "--json", "--store", dir + "/a"], environment: env)
    XCTAssertEqual(push.status, 0, push.err)
    let pushed = try JSONSerialization.jsonObject(with: Data(push.out.utf8)) as! [String: Any]
    XCTAssertEqual((pushed["refUpdates"] as! [[String: Any]])[0]["old"] as? NSNull, NSNull())

    let clone = try RemoteTest.ckstore(
      ["clone", url, dir + "/b", "--latest", "--path-style"], environment: env)
    XCTAssertEqual(clone.status, 0, clone.err)
    let log = try RemoteTest.ckstore(["log", "--store", dir + "/b"], environment: env)
    XCTAssertEqual(log.status, 0, log.err)
    XCTAssertEqual(log.out.components(separatedBy: "step:").count - 1, 3, log.out)
    // step-1's data is not in the clone: export fetches it, and the file is the original's.
    for (store, file) in [
      (dir + "/a", dir + "/a.safetensors"), (dir + "/b", dir + "/b.safetensors"),
    ] {
      let export = try RemoteTest.ckstore(
        ["export", "origin/main:step-1", "-o", file, "--store", store], environment: env)
      XCTAssertEqual(export.status, 0, export.err)
    }
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: dir + "/a.safetensors")),
      try Data(contentsOf: URL(fileURLWithPath: dir + "/b.safetensors")))
    let fsck = try RemoteTest.ckstore(
      ["fsck", "--remote", "origin", "--store", dir + "/b"], environment: env)
    XCTAssertEqual(fsck.status, 0, fsck.out + fsck.err)
    let local = try RemoteTest.ckstore(["fsck", "--store", dir + "/b"], environment: env)
    XCTAssertEqual(local.status, 0, local.out + local.err)

    // pull brings a new commit pushed from elsewhere.
    try store.commit(RemoteTest.tensors(big: 4, small: 9), to: "main", step: 4)
    XCTAssertEqual(
      try RemoteTest.ckstore(["push", "origin", "main", "--store", dir + "/a"], environment: env)
        .status, 0)
    let pull = try RemoteTest.ckstore(["pull", "--store", dir + "/b"], environment: env)
    XCTAssertEqual(pull.status, 0, pull.err)
    let show = try RemoteTest.ckstore(
      ["show", "main", "--json", "--store", dir + "/b"], environment: env)
    let shown = try JSONSerialization.jsonObject(with: Data(show.out.utf8)) as? [String: Any]
    XCTAssertEqual((shown?["commit"] as? [String: Any])?["step"] as? Int, 4, show.out)
  }

  /// Acceptance 2: two processes push different commits to one branch at once; exactly one
  /// ref update wins, the other is refused naming the branch, and the remote stays sound.
  func testTwoProcessesPushingOneBranchExactlyOneWins() throws {
    let server = try SeaweedFS.shared()
    let env = RemoteTest.environment(server)
    let dir = RemoteTest.folder(self)
    let (remote, url) = try RemoteTest.remote(on: server)
    let base = try Store.create(at: dir + "/a")
    try base.commit(RemoteTest.tensors(big: 1, small: 1), to: "main", step: 1)
    _ = try Push.run(base, to: remote, refs: ["main"])
    let other = try Clone.run(
      RemoteTest.reconnect(remote), configuration: RemoteConfiguration(url: url, pathStyle: true),
      into: dir + "/b"
    ).store
    try base.addRemote("origin", RemoteConfiguration(url: url, pathStyle: true))
    let heads = [
      try base.commit(RemoteTest.tensors(big: 2, small: 2), to: "main", step: 2).id,
      try other.commit(RemoteTest.tensors(big: 3, small: 3), to: "main", step: 2).id,
    ]
    let processes = [dir + "/a", dir + "/b"].map { store -> (Process, Pipe) in
      let p = Process()
      p.executableURL = CkstoreBinary.url
      p.arguments = ["push", "--store", store]
      p.environment = env
      let err = Pipe()
      p.standardError = err
      p.standardOutput = FileHandle.nullDevice
      return (p, err)
    }
    for (p, _) in processes { try p.run() }
    var results: [(Int32, String)] = []
    for (p, err) in processes {
      let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      results.append((p.terminationStatus, text))
    }
    let winners = results.indices.filter { results[$0].0 == 0 }
    XCTAssertEqual(winners.count, 1, "\(results)")
    guard let winner = winners.first else { return }
    let loser = results[1 - winner]
    XCTAssertEqual(loser.0, 2)
    XCTAssertTrue(loser.1.contains("refs/heads/main"), loser.1)
    XCTAssertTrue(loser.1.contains("rejected"), loser.1)
    let check = RemoteTest.reconnect(remote)
    let ref = try check.bucket.get(check.prefix + "refs/heads/main").map {
      String(decoding: $0, as: UTF8.self)
    }
    XCTAssertEqual(ref, heads[winner].hex + "\n")
    XCTAssertTrue(try RemoteFsck.run(check).isClean)
  }

  /// Acceptance 3 (credentials): a wrong secret and an unknown bucket fail clearly, non-zero,
  /// and no secret appears in any output.
  func testWrongSecretAndUnknownBucketFailClearlyWithoutSecrets() throws {
    let server = try SeaweedFS.shared()
    let dir = RemoteTest.folder(self)
    let store = try Store.create(at: dir + "/a")
    try store.commit(RemoteTest.tensors(big: 1, small: 1), to: "main", step: 1)
    let (_, url) = try RemoteTest.remote(on: server)
    try store.addRemote("origin", RemoteConfiguration(url: url, pathStyle: true))
    let wrong = "WrongSecret/EXAMPLE+never-valid-0123456789"
    let push = try RemoteTest.ckstore(
      ["push", "--store", dir + "/a"], environment: RemoteTest.environment(server, secret: wrong))
    XCTAssertEqual(push.status, 2, push.out + push.err)
    XCTAssertTrue(push.err.contains(url) || push.err.contains("s3://"), push.err)
    XCTAssertTrue(
      push.err.lowercased().contains("denied") || push.err.lowercased().contains("signature"),
      push.err)
    let missing = try RemoteTest.ckstore(
      ["clone", "s3://no-such-bucket-ckstore/runs", dir + "/c", "--path-style"],
      environment: RemoteTest.environment(server))
    XCTAssertEqual(missing.status, 2, missing.out + missing.err)
    XCTAssertTrue(missing.err.contains("no-such-bucket-ckstore"), missing.err)
    XCTAssertFalse(
      FileManager.default.fileExists(atPath: dir + "/c"), "a failed clone leaves nothing")
    for output in [push.out, push.err, missing.out, missing.err] {
      XCTAssertFalse(output.contains(wrong), output)
      XCTAssertFalse(output.contains(SeaweedFS.admin.secretKey), output)
    }
  }
}
