import CKRemote
import CKTestSupport
import Foundation
import Testing

/// Refused credentials, missing buckets and dead servers give typed errors that name the remote
/// and never a credential.
@Suite struct S3ErrorTests {
  /// Every credential string the tests use, none of which may appear in any message.
  static let secrets = [
    SeaweedFS.admin.accessKey, SeaweedFS.admin.secretKey, SeaweedFS.readOnly.accessKey,
    SeaweedFS.readOnly.secretKey, "wrongSecretKeyEXAMPLE0123",
  ]

  static func expectNoSecret(_ error: RemoteError, _ bucket: S3Bucket) {
    for text in [
      error.message, String(describing: error), String(reflecting: error),
      String(describing: bucket), String(reflecting: bucket),
    ] {
      for secret in secrets { #expect(!text.contains(secret), "a credential leaked into: \(text)") }
    }
  }

  @Test func wrongSecretKeyIsAccessDenied() throws {
    let server = try SeaweedFS.shared()
    let good = try S3Test.bucket(on: server)
    _ = try good.put("k", body: Data("v".utf8), condition: .none)
    let wrong = SeaweedFS.KeyPair(
      accessKey: SeaweedFS.admin.accessKey, secretKey: "wrongSecretKeyEXAMPLE0123")
    let bad = try S3Test.bucket(on: server, name: good.name, keys: wrong, create: false)
    let calls: [(String, () throws -> Void)] = [
      ("get", { _ = try bad.get("k") }),
      ("put", { _ = try bad.put("k2", body: Data("x".utf8), condition: .absent) }),
      ("list", { _ = try bad.list(prefix: "") }),
      ("head", { _ = try bad.head("k") }),
      ("delete", { try bad.delete("k") }),
    ]
    for (name, call) in calls {
      let error = try #require(throws: RemoteError.self, "\(name)") { try call() }
      #expect(error.code == .accessDenied, "\(name): \(error)")
      #expect(error.message.contains(good.displayName))
      Self.expectNoSecret(error, bad)
    }
    #expect(try good.get("k") == Data("v".utf8))
    #expect(try good.head("k2") == nil)
  }

  @Test func unknownAccessKeyAndReadOnlyKeyAreAccessDenied() throws {
    let server = try SeaweedFS.shared()
    let good = try S3Test.bucket(on: server)
    let unknown = SeaweedFS.KeyPair(accessKey: "CKUNKNOWNEXAMPLEKEY", secretKey: "x")
    let stranger = try S3Test.bucket(on: server, name: good.name, keys: unknown, create: false)
    let e1 = try #require(throws: RemoteError.self) { _ = try stranger.get("k") }
    #expect(e1.code == .accessDenied)
    let reader = try S3Test.bucket(
      on: server, name: good.name, keys: SeaweedFS.readOnly, create: false)
    #expect(try reader.get("k") == nil)
    let e2 = try #require(throws: RemoteError.self) {
      _ = try reader.put("k", body: Data("x".utf8), condition: .absent)
    }
    #expect(e2.code == .accessDenied)
    Self.expectNoSecret(e2, reader)
    #expect(try good.head("k") == nil)
  }

  @Test func unknownBucketIsNoSuchBucket() throws {
    let missing = try S3Test.bucket(on: try SeaweedFS.shared(), create: false)
    let calls: [(String, () throws -> Void)] = [
      ("get", { _ = try missing.get("k") }),
      ("put", { _ = try missing.put("k", body: Data("x".utf8), condition: .absent) }),
      ("list", { _ = try missing.list(prefix: "") }),
    ]
    for (name, call) in calls {
      let error = try #require(throws: RemoteError.self, "\(name)") { try call() }
      #expect(error.code == .noSuchBucket, "\(name): \(error)")
      #expect(error.message.contains("'\(missing.name)'"))
      Self.expectNoSecret(error, missing)
    }
  }

  @Test func deadServerIsUnreachableAfterBoundedRetries() throws {
    let server = try SeaweedFS()
    defer { server.stop() }
    let retry = S3RetryPolicy(maxAttempts: 4, baseDelay: 0.2, maxDelay: 1)
    let bucket = try S3Test.bucket(
      on: server, options: S3ClientOptions(requestTimeout: 5, retry: retry))
    _ = try bucket.put("k", body: Data("v".utf8), condition: .absent)
    server.kill("server")
    let start = Date()
    let error = try #require(throws: RemoteError.self) { _ = try bucket.get("k") }
    let elapsed = Date().timeIntervalSince(start)
    #expect(error.code == .unreachable)
    #expect(error.message.contains(bucket.displayName) && error.message.contains("4 attempts"))
    // Three waits of at most 0.2, 0.4 and 0.8 s; refused connections fail at once.
    #expect(elapsed < 5, "took \(elapsed) s")
    Self.expectNoSecret(error, bucket)
  }
}
