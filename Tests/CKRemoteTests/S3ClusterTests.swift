import CKRemote
import CKTestSupport
import Foundation
import Testing

/// A SeaweedFS of separate processes (master, two volume servers, filer, S3 gateway).
@Suite struct S3ClusterTests {
  @Test func clusterServesAndSurvivesALostVolumeServerCleanly() throws {
    let cluster = try SeaweedFS(topology: .cluster)
    defer { cluster.stop() }
    #expect(cluster.processNames == ["master", "volume0", "volume1", "filer", "s3"])
    let retry = S3RetryPolicy(maxAttempts: 4, baseDelay: 0.2, maxDelay: 1)
    let bucket = try S3Test.bucket(
      on: cluster, options: S3ClientOptions(requestTimeout: 10, retry: retry))
    var written: [String: Data] = [:]
    for i in 0..<8 {
      let body = S3Test.bytes(50_000 + i, seed: UInt64(i))
      guard case .written = try bucket.put("before/\(i)", body: body, condition: .absent) else {
        Issue.record("put before/\(i) refused")
        return
      }
      written["before/\(i)"] = body
    }
    for (key, body) in written { #expect(try bucket.get(key) == body) }

    cluster.kill("volume0")
    // Each request either succeeds (retried onto the live volume server, or data on it) or
    // fails with a typed error; none hangs and none returns wrong bytes.
    let start = Date()
    var failures: [RemoteError.Code] = []
    for i in 0..<8 {
      let body = S3Test.bytes(60_000 + i, seed: UInt64(100 + i))
      do {
        if case .written = try bucket.put("after/\(i)", body: body, condition: .absent) {
          #expect(try bucket.get("after/\(i)") == body)
        }
      } catch let error as RemoteError {
        failures.append(error.code)
      }
    }
    for (key, body) in written {
      do {
        if let got = try bucket.get(key) { #expect(got == body, "\(key) read back wrong bytes") }
      } catch let error as RemoteError {
        failures.append(error.code)
      }
    }
    #expect(failures.allSatisfy { $0 == .serverError || $0 == .unreachable }, "\(failures)")
    #expect(Date().timeIntervalSince(start) < 240)
  }
}
