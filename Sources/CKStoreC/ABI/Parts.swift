import CKStore
import CKStoreCABI

/// Saves one part of a sharded checkpoint (`Store.commitPart`): the tensors read in place, those
/// with a global shape placed as slices of a larger tensor.
@_cdecl("ckstore_commit_part")
public func ckstore_commit_part(
  _ handle: OpaquePointer?, _ branch: UnsafePointer<CChar>?, _ step: Int64, _ part: Int32,
  _ parts: Int32, _ message: UnsafePointer<CChar>?, _ tensors: UnsafePointer<ckstore_tensor>?,
  _ count: Int, _ globalShapes: UnsafePointer<UnsafePointer<Int64>?>?,
  _ offsets: UnsafePointer<UnsafePointer<Int64>?>?,
  _ metricNames: UnsafePointer<UnsafePointer<CChar>?>?, _ metricValues: UnsafePointer<Double>?,
  _ metricCount: Int, _ metadataKeys: UnsafePointer<UnsafePointer<CChar>?>?,
  _ metadataValues: UnsafePointer<UnsafePointer<CChar>?>?, _ metadataCount: Int,
  _ committed: UnsafeMutablePointer<Int32>?, _ commitID: UnsafeMutablePointer<CChar>?,
  _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let store = try store(handle)
    let branch = try argument(branch, "branch")
    let text = message == nil ? "" : try argument(message, "message")
    let sources = try tensorSources(tensors, count)
    var slices: [String: SlicePlacement] = [:]
    for (i, source) in sources.enumerated() {
      guard let global = globalShapes?[i] else { continue }
      guard let offset = offsets?[i] else {
        throw StoreError(.invalidArgument, "tensor '\(source.name)': a global shape but no offset")
      }
      let rank = source.shape.count
      slices[source.name] = SlicePlacement(
        globalShape: (0..<rank).map { Int(global[$0]) }, offset: (0..<rank).map { Int(offset[$0]) })
    }
    let (metrics, metadata) = try descriptions(
      metricNames, metricValues, metricCount, metadataKeys, metadataValues, metadataCount)
    let outcome = try store.commitPart(
      sources, slices: slices, part: Int(part), of: Int(parts), branch: branch, step: step,
      message: text, metrics: metrics, metadata: metadata)
    if case .committed(let commit) = outcome {
      committed?.pointee = 1
      if let commitID { writeID(commit.id, to: commitID) }
    } else {
      committed?.pointee = 0
      commitID?.pointee = 0
    }
  }
}

/// Reads a box of a tensor (`Store.read(_:region:into:)`): only the chunks that overlap it are
/// decoded, and how many chunks and bytes that took is reported.
@_cdecl("ckstore_read_region")
public func ckstore_read_region(
  _ handle: OpaquePointer?, _ revision: UnsafePointer<CChar>?, _ name: UnsafePointer<CChar>?,
  _ rank: Int32, _ offset: UnsafePointer<Int64>?, _ extent: UnsafePointer<Int64>?,
  _ buffer: UnsafeMutableRawPointer?, _ size: UInt64,
  _ chunksDecoded: UnsafeMutablePointer<UInt64>?,
  _ bytesDecoded: UnsafeMutablePointer<UInt64>?, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let store = try store(handle)
    let commit = try store.resolve(try argument(revision, "revision"))
    let name = try argument(name, "tensor name")
    let info = try store.tensorInfo(named: name, in: commit)
    guard Int(rank) == info.shape.count, rank == 0 || (offset != nil && extent != nil) else {
      throw StoreError(
        .invalidArgument,
        "tensor '\(name)' has \(info.shape.count) dimensions; the region gives \(rank)")
    }
    let region = TensorRegion(
      offset: (0..<Int(rank)).map { Int(offset![$0]) },
      extent: (0..<Int(rank)).map { Int(extent![$0]) })
    guard let bytes = Int(exactly: size), buffer != nil || bytes == 0 else {
      throw StoreError(.invalidArgument, "tensor '\(name)': \(size) bytes at NULL")
    }
    let count = try store.read(
      info, region: region, into: UnsafeMutableRawBufferPointer(start: buffer, count: bytes))
    chunksDecoded?.pointee = UInt64(count.chunks)
    bytesDecoded?.pointee = UInt64(count.bytes)
  }
}
