import CKStore
import CKStoreCABI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Commits caller buffers in place (`TensorSource(borrowing:)`): nothing is copied up front.
@_cdecl("ckstore_commit")
public func ckstore_commit(
  _ handle: OpaquePointer?, _ branch: UnsafePointer<CChar>?, _ step: Int64,
  _ message: UnsafePointer<CChar>?, _ tensors: UnsafePointer<ckstore_tensor>?, _ count: Int,
  _ metricNames: UnsafePointer<UnsafePointer<CChar>?>?, _ metricValues: UnsafePointer<Double>?,
  _ metricCount: Int, _ metadataKeys: UnsafePointer<UnsafePointer<CChar>?>?,
  _ metadataValues: UnsafePointer<UnsafePointer<CChar>?>?, _ metadataCount: Int,
  _ commitID: UnsafeMutablePointer<CChar>?, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let store = try store(handle)
    let branch = try argument(branch, "branch")
    let text = message == nil ? "" : try argument(message, "message")
    let sources = try tensorSources(tensors, count)
    let (metrics, metadata) = try descriptions(
      metricNames, metricValues, metricCount, metadataKeys, metadataValues, metadataCount)
    let commit = try store.commit(
      sources, to: branch, step: step, message: text, metrics: metrics, metadata: metadata)
    if let commitID { writeID(commit.id, to: commitID) }
  }
}

/// A commit's metrics and metadata from the C arrays (names with values, keys with values).
func descriptions(
  _ metricNames: UnsafePointer<UnsafePointer<CChar>?>?, _ metricValues: UnsafePointer<Double>?,
  _ metricCount: Int, _ metadataKeys: UnsafePointer<UnsafePointer<CChar>?>?,
  _ metadataValues: UnsafePointer<UnsafePointer<CChar>?>?, _ metadataCount: Int
) throws -> (metrics: [String: Double], metadata: [String: String]) {
  var metrics: [String: Double] = [:]
  for i in 0..<metricCount {
    guard let metricNames, let metricValues else {
      throw StoreError(.invalidArgument, "\(metricCount) metrics but no name or value array")
    }
    let name = try argument(metricNames[i], "metric name \(i)")
    guard metrics.updateValue(metricValues[i], forKey: name) == nil else {
      throw StoreError(.invalidArgument, "metric '\(name)' is given twice")
    }
  }
  var metadata: [String: String] = [:]
  for i in 0..<metadataCount {
    guard let metadataKeys, let metadataValues else {
      throw StoreError(
        .invalidArgument, "\(metadataCount) metadata entries but no key or value array")
    }
    let key = try argument(metadataKeys[i], "metadata key \(i)")
    let value = try argument(metadataValues[i], "metadata value of '\(key)'")
    guard metadata.updateValue(value, forKey: key) == nil else {
      throw StoreError(.invalidArgument, "metadata key '\(key)' is given twice")
    }
  }
  return (metrics, metadata)
}

/// The C tensor descriptions as sources borrowing their memory.
func tensorSources(_ tensors: UnsafePointer<ckstore_tensor>?, _ count: Int) throws
  -> [TensorSource]
{
  guard count >= 0 else { throw StoreError(.invalidArgument, "tensor count \(count) is negative") }
  if count == 0 { return [] }
  guard let tensors else {
    throw StoreError(.invalidArgument, "\(count) tensors but the array is NULL")
  }
  var names = Set<String>()
  return try (0..<count).map { i in
    let t = tensors[i]
    let name = try argument(t.name, "name of tensor \(i)")
    guard names.insert(name).inserted else {
      throw StoreError(.invalidArgument, "tensor '\(name)' is given twice")
    }
    guard let dtype = DType(rawValue: t.dtype) else {
      throw StoreError(.unsupportedDtype, "tensor '\(name)': dtype code \(t.dtype) is unknown")
    }
    guard (0...255).contains(t.rank) else {
      throw StoreError(.invalidArgument, "tensor '\(name)': rank \(t.rank) is out of 0...255")
    }
    guard t.rank == 0 || t.shape != nil else {
      throw StoreError(.invalidArgument, "tensor '\(name)': rank \(t.rank) but shape is NULL")
    }
    let shape = (0..<Int(t.rank)).map { Int(t.shape![$0]) }
    guard let byteCount = Int(exactly: t.byte_count), t.data != nil || byteCount == 0 else {
      throw StoreError(.invalidArgument, "tensor '\(name)': \(t.byte_count) bytes at NULL")
    }
    return try TensorSource(
      name: name, dtype: dtype, shape: shape,
      borrowing: UnsafeRawBufferPointer(start: t.data, count: byteCount))
  }
}

/// Lists a commit's tensors.
@_cdecl("ckstore_list_tensors")
public func ckstore_list_tensors(
  _ handle: OpaquePointer?, _ revision: UnsafePointer<CChar>?,
  _ out: UnsafeMutablePointer<UnsafeMutablePointer<ckstore_tensor_list>?>?, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let out = try required(out, "list out-parameter")
    let store = try store(handle)
    let infos = try store.tensors(in: try store.resolve(try argument(revision, "revision")))
    let items = allocate(ckstore_tensor_info.self, infos.count)
    for (i, info) in infos.enumerated() {
      let shape = allocate(Int64.self, info.shape.count)
      for (d, n) in info.shape.enumerated() { shape[d] = Int64(n) }
      items[i] = ckstore_tensor_info(
        name: duplicate(info.name), dtype: info.dtype.rawValue, rank: Int32(info.shape.count),
        shape: shape, byte_count: UInt64(info.byteCount))
    }
    let list = allocate(ckstore_tensor_list.self, 1)
    list.pointee = ckstore_tensor_list(count: infos.count, items: items)
    out.pointee = list
  }
}

/// Frees a tensor list and everything it points to.
@_cdecl("ckstore_tensor_list_free")
public func ckstore_tensor_list_free(_ list: UnsafeMutablePointer<ckstore_tensor_list>?) {
  guard let list else { return }
  for i in 0..<list.pointee.count {
    free(list.pointee.items[i].name)
    free(list.pointee.items[i].shape)
  }
  free(list.pointee.items)
  free(list)
}

/// Reads one tensor into a caller buffer.
@_cdecl("ckstore_read")
public func ckstore_read(
  _ handle: OpaquePointer?, _ revision: UnsafePointer<CChar>?, _ name: UnsafePointer<CChar>?,
  _ buffer: UnsafeMutableRawPointer?, _ size: UInt64, _ error: ErrorOut
) -> Int32 {
  var pointer = buffer
  var bufferSize = size
  return ckstore_read_many(handle, revision, [name], &pointer, &bufferSize, 1, error)
}

/// Reads several tensors of one commit into caller buffers, all chunks in one parallel batch.
@_cdecl("ckstore_read_many")
public func ckstore_read_many(
  _ handle: OpaquePointer?, _ revision: UnsafePointer<CChar>?,
  _ names: UnsafePointer<UnsafePointer<CChar>?>?,
  _ buffers: UnsafePointer<UnsafeMutableRawPointer?>?, _ sizes: UnsafePointer<UInt64>?,
  _ count: Int, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let store = try store(handle)
    let commit = try store.resolve(try argument(revision, "revision"))
    guard count >= 0 else { throw StoreError(.invalidArgument, "count \(count) is negative") }
    if count == 0 { return }
    guard let names, let buffers, let sizes else {
      throw StoreError(.invalidArgument, "\(count) tensors but a names/buffers/sizes array is NULL")
    }
    let targets = try (0..<count).map { i in
      let name = try argument(names[i], "tensor name \(i)")
      let info = try store.tensorInfo(named: name, in: commit)
      guard let size = Int(exactly: sizes[i]), buffers[i] != nil || size == 0 else {
        throw StoreError(.invalidArgument, "tensor '\(name)': \(sizes[i]) bytes at NULL")
      }
      return (info: info, buffer: UnsafeMutableRawBufferPointer(start: buffers[i], count: size))
    }
    try store.read(into: targets)
  }
}
