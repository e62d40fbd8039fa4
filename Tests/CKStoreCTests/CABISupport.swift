import CKStoreCABI
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The outcome of one ABI call: its status and the message it returned (freed here).
struct Outcome {
  let status: Int32
  let message: String?
}

/// Calls `body` with an error out-parameter and takes the message back, freeing it as a C caller
/// must.
func call(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32) -> Outcome {
  var error: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(bitPattern: 0x1)
  let status = body(&error)
  let message = error.map { String(cString: $0) }
  ckstore_string_free(error)
  return Outcome(status: status, message: message)
}

/// A status code from the header's anonymous enum.
func code(_ value: Int) -> Int32 { Int32(value) }

/// A fresh store directory path under the temp dir (not created).
func freshPath() -> String {
  NSTemporaryDirectory() + "ckstore-cabi-" + UUID().uuidString
}

/// A created store handle and its path; closes the handle and removes the folder on deinit.
/// Sendable because the C ABI is documented thread-safe (the threads test relies on it).
final class CStore: @unchecked Sendable {
  let path: String
  let handle: OpaquePointer

  init(chunkSize: Int64 = 0) throws {
    let path = freshPath()
    var out: OpaquePointer?
    let r = call { ckstore_create(path, chunkSize, 0, &out, $0) }
    self.path = path
    guard r.status == 0, let out else { throw CABIFailure(r.message ?? "create failed") }
    handle = out
  }

  deinit {
    ckstore_close(handle)
    try? FileManager.default.removeItem(atPath: path)
  }

  /// Commits `tensors` (name, dtype, shape, bytes) to `branch` through the C ABI.
  func commit(
    _ tensors: [(String, UInt8, [Int64], [UInt8])], branch: String = "main", step: Int64,
    metrics: [(String, Double)] = [], metadata: [(String, String)] = []
  ) -> (Outcome, String) {
    var id = [CChar](repeating: 0, count: Int(CKSTORE_ID_SIZE))
    let outcome = withCTensors(tensors) { ts in
      withCStrings(metrics.map(\.0)) { names in
        withCStrings(metadata.map(\.0)) { keys in
          withCStrings(metadata.map(\.1)) { values in
            call {
              ckstore_commit(
                handle, branch, step, "step \(step)", ts, ts.count, names, metrics.map(\.1),
                metrics.count, keys, values, metadata.count, &id, $0)
            }
          }
        }
      }
    }
    return (outcome, String(cString: id))
  }
}

/// A test failure outside an expectation.
struct CABIFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// Calls `body` with C strings for `strings`, valid for the call.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
  let copies = strings.map { strdup($0) }
  defer { copies.forEach { free($0) } }
  return body(copies.map { UnsafePointer($0) })
}

/// Calls `body` with C tensor descriptions borrowing the given bytes.
func withCTensors<R>(
  _ tensors: [(String, UInt8, [Int64], [UInt8])], _ body: ([ckstore_tensor]) -> R
) -> R {
  let names = tensors.map { strdup($0.0) }
  let shapes = tensors.map { t -> UnsafeMutablePointer<Int64> in
    let p = UnsafeMutablePointer<Int64>.allocate(capacity: max(1, t.2.count))
    for (i, d) in t.2.enumerated() { p[i] = d }
    return p
  }
  let datas = tensors.map { t -> UnsafeMutableRawPointer in
    let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, t.3.count), alignment: 16)
    t.3.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: t.3.count) }
    return p
  }
  defer {
    names.forEach { free($0) }
    shapes.forEach { $0.deallocate() }
    datas.forEach { $0.deallocate() }
  }
  let cs = tensors.indices.map { i in
    ckstore_tensor(
      name: names[i], dtype: tensors[i].1, rank: Int32(tensors[i].2.count), shape: shapes[i],
      data: datas[i], byte_count: UInt64(tensors[i].3.count))
  }
  return body(cs)
}

/// Reads one tensor through `ckstore_read`.
func readTensor(_ s: CStore, _ rev: String, _ name: String, size: Int) -> (Outcome, [UInt8]) {
  var bytes = [UInt8](repeating: 0xAA, count: size)
  let outcome = bytes.withUnsafeMutableBytes { b in
    call { ckstore_read(s.handle, rev, name, b.baseAddress, UInt64(size), $0) }
  }
  return (outcome, bytes)
}
