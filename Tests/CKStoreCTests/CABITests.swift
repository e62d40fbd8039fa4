import CKStore
import CKStoreCABI
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The C ABI called through ckstore.h as a C program would (issue 11, acceptance 3).
@Suite struct CABITests {
  static let weights: [UInt8] = (0..<24).map { UInt8($0 * 7 % 251) }

  @Test func commitListReadLogDiffGcAndFsckRoundTrip() throws {
    #expect(ckstore_abi_version() == Int32(CKSTORE_ABI_VERSION))
    let s = try CStore(chunkSize: 64)
    let (first, id1) = s.commit(
      [
        ("model.w", 1, [2, 3], Self.weights), ("model.step", 8, [], [7, 0, 0, 0, 0, 0, 0, 0]),
        ("empty", 3, [0, 4], []),
      ], step: 1, metrics: [("loss", 0.5)], metadata: [("lr", "0.1")])
    #expect(first.status == 0 && first.message == nil)
    #expect(id1.count == 64)
    var changed = Self.weights
    changed[0] ^= 1
    let (second, id2) = s.commit([("model.w", 1, [2, 3], changed)], step: 2)
    #expect(second.status == 0)

    var resolved = [CChar](repeating: 0, count: Int(CKSTORE_ID_SIZE))
    #expect(call { ckstore_resolve(s.handle, "main~1", &resolved, $0) }.status == 0)
    #expect(String(cString: resolved) == id1)

    var list: UnsafeMutablePointer<ckstore_tensor_list>?
    #expect(call { ckstore_list_tensors(s.handle, id1, &list, $0) }.status == 0)
    let items = (0..<list!.pointee.count).map { list!.pointee.items[$0] }
    #expect(items.map { String(cString: $0.name) } == ["empty", "model.step", "model.w"])
    #expect(items.map(\.dtype) == [3, 8, 1])
    #expect(items.map(\.byte_count) == [0, 8, 24])
    #expect(items[2].rank == 2 && items[2].shape[0] == 2 && items[2].shape[1] == 3)
    #expect(items[1].rank == 0)
    ckstore_tensor_list_free(list)

    let (read, bytes) = readTensor(s, "step-1", "model.w", size: 24)
    #expect(read.status == 0 && bytes == Self.weights)
    let (readNew, newBytes) = readTensor(s, "HEAD", "model.w", size: 24)
    #expect(readNew.status == 0 && newBytes == changed)

    var a = [UInt8](repeating: 0, count: 24)
    var b = [UInt8](repeating: 0, count: 8)
    let many = a.withUnsafeMutableBytes { pa in
      b.withUnsafeMutableBytes { pb in
        withCStrings(["model.w", "model.step", "empty"]) { names in
          call {
            ckstore_read_many(
              s.handle, id1, names, [pa.baseAddress, pb.baseAddress, nil], [24, 8, 0], 3, $0)
          }
        }
      }
    }
    #expect(many.status == 0 && a == Self.weights && b == [7, 0, 0, 0, 0, 0, 0, 0])

    var log: UnsafeMutablePointer<ckstore_commit_list>?
    #expect(call { ckstore_log(s.handle, "main", 0, &log, $0) }.status == 0)
    #expect(log!.pointee.count == 2)
    let newest = log!.pointee.items[0]
    let oldest = log!.pointee.items[1]
    #expect(newest.step == 2 && newest.parent_count == 1 && oldest.parent_count == 0)
    #expect(
      withUnsafeBytes(of: newest.parent) { String(decoding: $0.prefix(64), as: UTF8.self) } == id1)
    #expect(String(cString: oldest.message) == "step 1")
    #expect(oldest.metric_count == 1 && String(cString: oldest.metric_names[0]!) == "loss")
    #expect(oldest.metric_values[0] == 0.5)
    #expect(oldest.metadata_count == 1 && String(cString: oldest.metadata_values[0]!) == "0.1")
    #expect(oldest.logical_bytes == 32 && oldest.pruned == 0)
    ckstore_commit_list_free(log)

    var diff: UnsafeMutablePointer<ckstore_diff_summary>?
    #expect(call { ckstore_diff(s.handle, id1, id2, 1, &diff, $0) }.status == 0)
    let entries = (0..<diff!.pointee.count).map { diff!.pointee.entries[$0] }
    let summary = entries.map { "\(String(cString: $0.name)):\($0.change)" }.sorted()
    #expect(summary == ["empty:2", "model.step:2", "model.w:3"])
    let w = entries.first { String(cString: $0.name) == "model.w" }!
    #expect(w.has_statistics == 1 && w.changed_elements == 1 && w.elements == 6)
    #expect(diff!.pointee.unchanged_count == 0)
    ckstore_diff_free(diff)

    var dry = ckstore_gc_report()
    #expect(call { ckstore_gc(s.handle, 1, 0, "main", 1, &dry, $0) }.status == 0)
    #expect(dry.pruned_commits == 1 && dry.objects_deleted > 0)
    let (stillThere, _) = readTensor(s, id1, "model.w", size: 24)
    #expect(stillThere.status == 0)
    var report = ckstore_gc_report()
    #expect(call { ckstore_gc(s.handle, 1, 0, nil, 0, &report, $0) }.status == 0)
    #expect(report.pruned_commits == 1 && report.bytes_freed > 0)
    let (pruned, _) = readTensor(s, id1, "model.w", size: 24)
    #expect(pruned.status == code(CKSTORE_E_PRUNED_COMMIT))
    #expect(pruned.message?.contains(String(id1.prefix(12))) == true)

    var fsck: UnsafeMutablePointer<ckstore_fsck_report>?
    #expect(call { ckstore_fsck(s.handle, &fsck, $0) }.status == 0)
    #expect(fsck!.pointee.problem_count == 0 && fsck!.pointee.commits_checked == 2)
    ckstore_fsck_report_free(fsck)
  }

  @Test func openFindsAStoreTheSwiftAPIWroteAndSwiftReadsWhatTheABIWrote() throws {
    let s = try CStore()
    #expect(s.commit([("w", 1, [6], Self.weights)], step: 3).0.status == 0)
    let swift = try Store.open(at: s.path)
    let head = try swift.resolve("HEAD")
    #expect(head.step == 3)
    #expect(try swift.readTensor(named: "w", in: head).bytes == Self.weights)
    try swift.commit(
      [try TensorData(name: "v", dtype: .int8, shape: [2], bytes: [1, 255])], to: "main", step: 4)
    var other: OpaquePointer?
    #expect(call { ckstore_open(s.path, &other, $0) }.status == 0)
    defer { ckstore_close(other) }
    var bytes: [UInt8] = [0, 0]
    let r = bytes.withUnsafeMutableBytes { b in
      call { ckstore_read(other, "HEAD", "v", b.baseAddress, 2, $0) }
    }
    #expect(r.status == 0 && bytes == [1, 255])
  }

  @Test func readersOnSeveralThreadsWhileCommitsLand() throws {
    let s = try CStore(chunkSize: 64)
    #expect(s.commit([("w", 1, [6], Self.weights)], step: 0).0.status == 0)
    let failures = Locked(0)
    DispatchQueue.concurrentPerform(iterations: 5) { worker in
      for step in 1...8 {
        if worker == 0 {
          var bytes = Self.weights
          bytes[step] ^= 0xFF
          if s.commit([("w", 1, [6], bytes)], step: Int64(step)).0.status != 0 {
            failures.withLock { $0 += 1 }
          }
        } else {
          // Every read sees one whole commit: the bytes of step 0, or of one later step.
          let (r, bytes) = readTensor(s, "HEAD", "w", size: 24)
          let differing = zip(bytes, Self.weights).filter { $0 != $1 }.count
          if r.status != 0 || differing > 1 { failures.withLock { $0 += 1 } }
        }
      }
    }
    #expect(failures.withLock { $0 } == 0)
    var log: UnsafeMutablePointer<ckstore_commit_list>?
    #expect(call { ckstore_log(s.handle, "HEAD", 0, &log, $0) }.status == 0)
    #expect(log!.pointee.count == 9)
    ckstore_commit_list_free(log)
  }
}

/// A value behind a lock, for counters shared by test threads.
final class Locked<Value>: @unchecked Sendable {
  private var value: Value
  private let lock = NSLock()
  init(_ value: Value) { self.value = value }
  func withLock<R>(_ body: (inout Value) -> R) -> R {
    lock.lock()
    defer { lock.unlock() }
    return body(&value)
  }
}
