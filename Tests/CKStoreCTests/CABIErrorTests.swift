import CKStore
import CKStoreCABI
import Foundation
import Testing

/// Every error path of the C ABI comes back as the documented code and a message naming the
/// thing at fault; nothing crashes or unwinds (issue 11, acceptance 3).
@Suite struct CABIErrorTests {
  static let w: [UInt8] = Array(repeating: 1, count: 16)

  @Test func openAndCreate() throws {
    var out: OpaquePointer?
    let missing = freshPath()
    let notFound = call { ckstore_open(missing, &out, $0) }
    #expect(notFound.status == code(CKSTORE_E_STORE_NOT_FOUND))
    #expect(notFound.message?.contains(missing) == true)
    #expect(out == nil)
    #expect(call { ckstore_open(nil, &out, $0) }.status == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(call { ckstore_open(missing, nil, $0) }.status == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(
      call { ckstore_create(missing, -1, 0, &out, $0) }.status == code(CKSTORE_E_INVALID_ARGUMENT))
    let s = try CStore()
    let twice = call { ckstore_create(s.path, 0, 0, &out, $0) }
    #expect(twice.status == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(twice.message?.contains("already exists") == true)
    // A NULL error out-parameter is allowed: the code alone comes back.
    #expect(ckstore_open(missing, &out, nil) == code(CKSTORE_E_STORE_NOT_FOUND))
    // Invalid UTF-8 is refused, not misread.
    let bad: [CChar] = [CChar(bitPattern: 0xFF), CChar(bitPattern: 0xFE), 0]
    #expect(call { ckstore_open(bad, &out, $0) }.status == code(CKSTORE_E_INVALID_ARGUMENT))
    let config = s.path + "/config"
    try Data("{\"formatVersion\": 99, \"chunkSize\": 1024, \"compressionLevel\": 1}".utf8)
      .write(to: URL(fileURLWithPath: config))
    #expect(call { ckstore_open(s.path, &out, $0) }.status == code(CKSTORE_E_UNSUPPORTED_FORMAT))
  }

  @Test func everyFunctionRefusesANullHandle() {
    var id = [CChar](repeating: 0, count: Int(CKSTORE_ID_SIZE))
    var list: UnsafeMutablePointer<ckstore_tensor_list>?
    var log: UnsafeMutablePointer<ckstore_commit_list>?
    var diff: UnsafeMutablePointer<ckstore_diff_summary>?
    var fsck: UnsafeMutablePointer<ckstore_fsck_report>?
    var byte: UInt8 = 0
    let invalid = code(CKSTORE_E_INVALID_ARGUMENT)
    #expect(
      call { ckstore_commit(nil, "main", 1, nil, nil, 0, nil, nil, 0, nil, nil, 0, &id, $0) }.status
        == invalid)
    #expect(call { ckstore_resolve(nil, "HEAD", &id, $0) }.status == invalid)
    #expect(call { ckstore_list_tensors(nil, "HEAD", &list, $0) }.status == invalid)
    #expect(call { ckstore_read(nil, "HEAD", "w", &byte, 1, $0) }.status == invalid)
    #expect(call { ckstore_log(nil, "HEAD", 0, &log, $0) }.status == invalid)
    #expect(call { ckstore_diff(nil, "a", "b", 0, &diff, $0) }.status == invalid)
    #expect(call { ckstore_gc(nil, 0, 0, nil, 1, nil, $0) }.status == invalid)
    #expect(call { ckstore_fsck(nil, &fsck, $0) }.status == invalid)
    // Free functions and close accept NULL.
    ckstore_close(nil)
    ckstore_string_free(nil)
    ckstore_tensor_list_free(nil)
    ckstore_commit_list_free(nil)
    ckstore_diff_free(nil)
    ckstore_fsck_report_free(nil)
  }

  @Test func commitRefusesBadTensorsAndChangesNothing() throws {
    let s = try CStore()
    func expectRefused(
      _ tensors: [(String, UInt8, [Int64], [UInt8])], _ status: Int, _ naming: String
    ) {
      let (r, _) = s.commit(tensors, step: 1)
      #expect(r.status == code(status), "\(tensors.map(\.0))")
      #expect(r.message?.contains(naming) == true, "\(r.message ?? "nil")")
    }
    expectRefused([("w", 99, [4], Self.w)], CKSTORE_E_UNSUPPORTED_DTYPE, "'w'")
    expectRefused([("bad..name", 1, [4], Self.w)], CKSTORE_E_INVALID_NAME, "bad..name")
    expectRefused([("short", 1, [5], Self.w)], CKSTORE_E_INVALID_TENSOR, "'short'")
    expectRefused([("neg", 1, [-4], Self.w)], CKSTORE_E_INVALID_TENSOR, "'neg'")
    expectRefused(
      [("w", 1, [4], Self.w), ("w", 1, [4], Self.w)], CKSTORE_E_INVALID_ARGUMENT, "'w'")
    let badBranch = withCTensors([("w", 1, [4], Self.w)]) { ts in
      call {
        ckstore_commit(s.handle, "no..branch", 1, nil, ts, 1, nil, nil, 0, nil, nil, 0, nil, $0)
      }
    }
    #expect(badBranch.status == code(CKSTORE_E_INVALID_NAME))
    let noBranch = call {
      ckstore_commit(s.handle, nil, 1, nil, nil, 0, nil, nil, 0, nil, nil, 0, nil, $0)
    }
    #expect(noBranch.status == code(CKSTORE_E_INVALID_ARGUMENT))
    // Bad shapes and NULLs in the descriptions.
    var t = ckstore_tensor(
      name: strdup("x"), dtype: 1, rank: -1, shape: nil, data: nil, byte_count: 0)
    defer { free(UnsafeMutablePointer(mutating: t.name)) }
    let negativeRank = call {
      ckstore_commit(s.handle, "main", 1, nil, &t, 1, nil, nil, 0, nil, nil, 0, nil, $0)
    }
    #expect(negativeRank.status == code(CKSTORE_E_INVALID_ARGUMENT))
    t.rank = 1
    let nullShape = call {
      ckstore_commit(s.handle, "main", 1, nil, &t, 1, nil, nil, 0, nil, nil, 0, nil, $0)
    }
    #expect(nullShape.status == code(CKSTORE_E_INVALID_ARGUMENT))
    t.rank = 0
    t.byte_count = 4
    let nullData = call {
      ckstore_commit(s.handle, "main", 1, nil, &t, 1, nil, nil, 0, nil, nil, 0, nil, $0)
    }
    #expect(nullData.status == code(CKSTORE_E_INVALID_ARGUMENT))
    let nullArray = call {
      ckstore_commit(s.handle, "main", 1, nil, nil, 2, nil, nil, 0, nil, nil, 0, nil, $0)
    }
    #expect(nullArray.status == code(CKSTORE_E_INVALID_ARGUMENT))
    let twiceMetric = s.commit(
      [("w", 1, [4], Self.w)], step: 1, metrics: [("loss", 1), ("loss", 2)])
    #expect(twiceMetric.0.status == code(CKSTORE_E_INVALID_ARGUMENT))
    let twiceKey = s.commit([("w", 1, [4], Self.w)], step: 1, metadata: [("k", "a"), ("k", "b")])
    #expect(twiceKey.0.status == code(CKSTORE_E_INVALID_ARGUMENT))
    let noMetricArrays = withCTensors([("w", 1, [4], Self.w)]) { ts in
      call { ckstore_commit(s.handle, "main", 1, nil, ts, 1, nil, nil, 3, nil, nil, 0, nil, $0) }
    }
    #expect(noMetricArrays.status == code(CKSTORE_E_INVALID_ARGUMENT))
    // Nothing a user can see changed: the branch has no commit.
    var id = [CChar](repeating: 0, count: Int(CKSTORE_ID_SIZE))
    #expect(
      call { ckstore_resolve(s.handle, "HEAD", &id, $0) }.status == code(CKSTORE_E_UNKNOWN_REVISION)
    )
  }

  @Test func aBranchWithAWriterIsLocked() throws {
    let s = try CStore()
    let writer = try Store.open(at: s.path).writer(branch: "main")
    let (r, _) = s.commit([("w", 1, [4], Self.w)], step: 1)
    #expect(r.status == code(CKSTORE_E_LOCKED))
    #expect(r.message?.contains("main") == true)
    writer.close()
    #expect(s.commit([("w", 1, [4], Self.w)], step: 1).0.status == 0)
  }

  @Test func revisionsAndReads() throws {
    let s = try CStore()
    let (c1, id1) = s.commit([("w", 1, [4], Self.w)], step: 1)
    #expect(c1.status == 0)
    var id = [CChar](repeating: 0, count: Int(CKSTORE_ID_SIZE))
    let unknown = call { ckstore_resolve(s.handle, "nosuch", &id, $0) }
    #expect(unknown.status == code(CKSTORE_E_UNKNOWN_REVISION))
    #expect(unknown.message?.contains("nosuch") == true)
    #expect(
      call { ckstore_resolve(s.handle, "HEAD", nil, $0) }.status == code(CKSTORE_E_INVALID_ARGUMENT)
    )
    let (wrongSize, _) = readTensor(s, id1, "w", size: 15)
    #expect(wrongSize.status == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(wrongSize.message?.contains("'w'") == true)
    let (missing, _) = readTensor(s, id1, "v", size: 16)
    #expect(missing.status == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(missing.message?.contains("'v'") == true)
    let nullBuffer = call { ckstore_read(s.handle, id1, "w", nil, 16, $0) }
    #expect(nullBuffer.status == code(CKSTORE_E_INVALID_ARGUMENT))
    let nullArrays = call { ckstore_read_many(s.handle, id1, nil, nil, nil, 1, $0) }
    #expect(nullArrays.status == code(CKSTORE_E_INVALID_ARGUMENT))
    var list: UnsafeMutablePointer<ckstore_tensor_list>?
    #expect(
      call { ckstore_list_tensors(s.handle, "nosuch", &list, $0) }.status
        == code(CKSTORE_E_UNKNOWN_REVISION))
    #expect(
      call { ckstore_list_tensors(s.handle, "HEAD", nil, $0) }.status
        == code(CKSTORE_E_INVALID_ARGUMENT))
    var log: UnsafeMutablePointer<ckstore_commit_list>?
    #expect(
      call { ckstore_log(s.handle, "nosuch", 0, &log, $0) }.status
        == code(CKSTORE_E_UNKNOWN_REVISION))
    var diff: UnsafeMutablePointer<ckstore_diff_summary>?
    #expect(
      call { ckstore_diff(s.handle, "HEAD", "nosuch", 0, &diff, $0) }.status
        == code(CKSTORE_E_UNKNOWN_REVISION))
  }

  @Test func corruptObjectsAreReportedByReadAndFsck() throws {
    let s = try CStore()
    let (c, id) = s.commit([("w", 1, [4], Self.w)], step: 1)
    #expect(c.status == 0)
    let objects = try FileManager.default.subpathsOfDirectory(atPath: s.path + "/objects")
      .map { s.path + "/objects/" + $0 }
      .filter { path in
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
          && !isDirectory.boolValue
      }
    // Flip the last byte of every object but the commit and trees: the chunk of 'w'.
    let commitObject = objects.first {
      $0.replacingOccurrences(of: "/", with: "").hasSuffix(String(id.dropFirst(2)))
    }!
    for path in objects where path != commitObject {
      var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
      bytes[bytes.count - 1] ^= 0xFF
      try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
      try bytes.write(to: URL(fileURLWithPath: path))
    }
    var out: OpaquePointer?
    #expect(call { ckstore_open(s.path, &out, $0) }.status == 0)
    defer { ckstore_close(out) }
    var buffer = [UInt8](repeating: 0, count: 16)
    let r = buffer.withUnsafeMutableBytes { b in
      call { ckstore_read(out, id, "w", b.baseAddress, 16, $0) }
    }
    #expect(r.status == code(CKSTORE_E_CORRUPT_OBJECT) || r.status == code(CKSTORE_E_COMPRESSION))
    var fsck: UnsafeMutablePointer<ckstore_fsck_report>?
    #expect(call { ckstore_fsck(out, &fsck, $0) }.status == 0)
    #expect(fsck!.pointee.problem_count > 0)
    #expect(String(cString: fsck!.pointee.problems[0].message).isEmpty == false)
    ckstore_fsck_report_free(fsck)
    #expect(call { ckstore_fsck(out, nil, $0) }.status == code(CKSTORE_E_INVALID_ARGUMENT))
  }

  @Test func gcRefusesBadPoliciesAndUnknownBranches() throws {
    let s = try CStore()
    #expect(s.commit([("w", 1, [4], Self.w)], step: 1).0.status == 0)
    let negative = call { ckstore_gc(s.handle, -1, 0, nil, 1, nil, $0) }
    #expect(negative.status == code(CKSTORE_E_INVALID_ARGUMENT))
    let unknown = call { ckstore_gc(s.handle, 1, 0, "nosuch", 0, nil, $0) }
    #expect(unknown.status == code(CKSTORE_E_UNKNOWN_REVISION))
    #expect(unknown.message?.contains("nosuch") == true)
    var diff: UnsafeMutablePointer<ckstore_diff_summary>?
    #expect(
      call { ckstore_diff(s.handle, "HEAD", "HEAD", 0, nil, $0) }.status
        == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(call { ckstore_diff(s.handle, "HEAD", "HEAD", 0, &diff, $0) }.status == 0)
    #expect(diff!.pointee.count == 0 && diff!.pointee.unchanged_count == 1)
    ckstore_diff_free(diff)
  }
}
