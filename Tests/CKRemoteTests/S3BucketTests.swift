import CKRemote
import CKTestSupport
import Foundation
import Testing

/// The S3 client's requests against a real SeaweedFS with authentication on.
@Suite struct S3BucketTests {
  @Test func putGetHeadDeleteRoundTrip() throws {
    let bucket = try S3Test.bucket(on: try SeaweedFS.shared())
    let body = S3Test.bytes(100_000)
    let key = "objects/ab/cd ef+ü=1"
    guard case .written(let etag) = try bucket.put(key, body: body, condition: .none) else {
      Issue.record("unconditional put was refused")
      return
    }
    #expect(!etag.isEmpty)
    #expect(try bucket.get(key) == body)
    let head = try #require(try bucket.head(key))
    #expect(head.size == body.count)
    #expect(head.etag == etag)
    #expect(abs(head.lastModified.timeIntervalSinceNow) < 300)
    try bucket.delete(key)
    #expect(try bucket.get(key) == nil)
    #expect(try bucket.head(key) == nil)
    try bucket.delete(key)  // deleting what is gone succeeds
  }

  @Test func absentTwiceKeepsTheFirstBody() throws {
    let bucket = try S3Test.bucket(on: try SeaweedFS.shared())
    let first = S3Test.bytes(1000, seed: 1)
    guard case .written = try bucket.put("k", body: first, condition: .absent) else {
      Issue.record("first absent put was refused")
      return
    }
    #expect(
      try bucket.put("k", body: S3Test.bytes(1000, seed: 2), condition: .absent)
        == .conditionFailed)
    #expect(try bucket.get("k") == first)
  }

  @Test func compareAndSwapRefusesAStaleEtag() throws {
    let bucket = try S3Test.bucket(on: try SeaweedFS.shared())
    guard
      case .written(let v1) = try bucket.put("refs/main", body: Data("a".utf8), condition: .absent),
      case .written(let v2) = try bucket.put(
        "refs/main", body: Data("b".utf8), condition: .matches(etag: v1))
    else {
      Issue.record("writes with the current etag were refused")
      return
    }
    #expect(v1 != v2)
    #expect(
      try bucket.put("refs/main", body: Data("c".utf8), condition: .matches(etag: v1))
        == .conditionFailed)
    #expect(try bucket.get("refs/main") == Data("b".utf8))
    #expect(
      try bucket.put("refs/other", body: Data("x".utf8), condition: .matches(etag: v2))
        == .conditionFailed)
    #expect(try bucket.head("refs/other") == nil)
  }

  @Test func rangedGet() throws {
    let bucket = try S3Test.bucket(on: try SeaweedFS.shared())
    let body = S3Test.bytes(10_000)
    _ = try bucket.put("blob", body: body, condition: .none)
    #expect(try bucket.get("blob", offset: 0, length: 10) == body.prefix(10))
    #expect(try bucket.get("blob", offset: 1234, length: 4321) == body[1234..<5555])
    #expect(try bucket.get("blob", offset: 9_990, length: 100) == body.suffix(10))
    #expect(try bucket.get("blob", offset: 20_000, length: 10) == Data())
    #expect(try bucket.get("missing", offset: 0, length: 10) == nil)
  }

  @Test func listFollowsPagesAndPrefixes() throws {
    let bucket = try S3Test.bucket(
      on: try SeaweedFS.shared(), options: S3ClientOptions(listPageSize: 3))
    var expected: [String] = []
    for i in 0..<11 {
      let key = "objects/\(String(format: "%02x", i * 7))/x\(i)"
      expected.append(key)
      _ = try bucket.put(key, body: Data(count: i), condition: .absent)
    }
    _ = try bucket.put("refs/heads/main", body: Data("m".utf8), condition: .absent)
    _ = try bucket.put("objectsX", body: Data(), condition: .absent)
    let listed = try bucket.list(prefix: "objects/")
    #expect(listed.map(\.key) == expected.sorted())
    #expect(
      listed.map(\.size) == expected.sorted().map { k in Int(k.split(separator: "x").last!)! })
    #expect(listed.allSatisfy { !$0.etag.isEmpty })
    #expect(try bucket.list(prefix: "refs/").map(\.key) == ["refs/heads/main"])
    #expect(try bucket.list(prefix: "nothing/").isEmpty)
    #expect(try bucket.list(prefix: "").count == 13)
  }

  @Test func multipartUploadRoundTripsExactly() throws {
    // SeaweedFS refuses parts below S3's 5 MiB minimum (EntityTooSmall) as AWS does, so the
    // smallest legal parts: three of them, the last one short.
    let options = S3ClientOptions(multipartThreshold: 1 << 20, partSize: 5 << 20, partsInFlight: 3)
    let bucket = try S3Test.bucket(on: try SeaweedFS.shared(), options: options)
    let body = S3Test.bytes((10 << 20) + 12_345, seed: 7)
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("ck-mp-\(UUID().uuidString)").path
    try body.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    guard case .written(let etag) = try bucket.put("big", file: path, condition: .absent) else {
      Issue.record("multipart upload was refused")
      return
    }
    #expect(try bucket.get("big") == body)
    #expect(try bucket.head("big")?.etag == etag)
    #expect(try bucket.head("big")?.size == body.count)
    #expect(try bucket.put("big", file: path, condition: .absent) == .conditionFailed)
    // Below the threshold the same call is one PUT.
    let small = S3Test.bytes(1000)
    try small.write(to: URL(fileURLWithPath: path))
    #expect(
      try bucket.put("big", file: path, condition: .matches(etag: "\"stale\"")) == .conditionFailed)
    guard case .written = try bucket.put("big", file: path, condition: .matches(etag: etag)) else {
      Issue.record("put with the current etag was refused")
      return
    }
    #expect(try bucket.get("big") == small)
  }
}
