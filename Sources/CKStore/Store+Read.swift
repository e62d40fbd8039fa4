import Foundation

extension Store {
  /// Every tensor entry of a commit's tree, sorted by name, without reading any tensor data.
  ///
  /// Throws `prunedCommit` if retention freed the commit's data.
  public func tensors(in commit: Commit) throws -> [TensorInfo] {
    try requireData(commit)
    var out: [TensorInfo] = []
    try walk(commit.tree, prefix: "") { out.append($0) }
    return out.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
  }

  func walk(_ treeID: ObjectID, prefix: String, _ visit: (TensorInfo) throws -> Void) throws {
    for (key, entry) in try tree(treeID).entries {
      switch entry {
      case .tree(let sub): try walk(sub, prefix: prefix + key, visit)
      case .tensor(var info):
        info.name = prefix + key
        try visit(info)
      }
    }
  }

  /// One tensor's entry, found by walking only the trees on its path.
  public func tensorInfo(named name: String, in commit: Commit) throws -> TensorInfo {
    try requireData(commit)
    let keys = TensorName.keys(of: name)
    var treeID = commit.tree
    for (depth, key) in keys.enumerated() {
      let entry = try tree(treeID).entries.first { $0.key == key }?.entry
      switch (entry, depth == keys.count - 1) {
      case (.tree(let sub)?, false): treeID = sub
      case (.tensor(var info)?, true):
        info.name = name
        return info
      default:
        throw StoreError(
          .invalidArgument, "commit \(commit.id.short) has no tensor named '\(name)'")
      }
    }
    throw StoreError(.invalidArgument, "commit \(commit.id.short) has no tensor named '\(name)'")
  }

  /// Threads that read, decompress and verify chunks: two per core, so that a read waiting for
  /// the disk overlaps another's decompression. At most this many chunks are in flight.
  public static let readWidth = 2 * ProcessInfo.processInfo.activeProcessorCount

  /// Reads and verifies a tensor's bytes, decompressing its chunks in parallel.
  ///
  /// A damaged chunk throws `corruptObject` naming the object and the tensor.
  public func read(_ info: TensorInfo) throws -> [UInt8] {
    try read([info])[0]
  }

  /// Reads a tensor's canonical bytes straight into `buffer` (exactly `info.byteCount` bytes),
  /// decompressing and verifying its chunks on all cores.
  public func read(_ info: TensorInfo, into buffer: UnsafeMutableRawBufferPointer) throws {
    try read(into: [(info, buffer)])
  }

  /// Reads several tensors straight into caller buffers, all their chunks on all cores at once
  /// (so many small tensors keep every core busy). Each buffer must be exactly its tensor's
  /// `byteCount` bytes and stay valid until this returns; at most `readWidth` chunks are in
  /// flight, whatever the tensors' sizes.
  public func read(into targets: [(info: TensorInfo, buffer: UnsafeMutableRawBufferPointer)])
    throws
  {
    for (info, buffer) in targets where buffer.count != info.byteCount {
      throw StoreError(
        .invalidArgument,
        "tensor '\(info.name)' has \(info.byteCount) bytes; the buffer given holds \(buffer.count)")
    }
    // Sliced tensors are assembled slice by slice; ordinary ones chunk by chunk below.
    for (info, buffer) in targets where !info.slices.isEmpty {
      try read(info, region: TensorRegion(whole: info.shape), into: buffer)
    }
    let targets = targets.filter { $0.info.slices.isEmpty }
    let jobs = targets.indices.flatMap { t in targets[t].info.chunkRanges.indices.map { (t, $0) } }
    let outputs = targets.map { SendableBuffer($0.buffer) }
    let infos = targets.map(\.info)
    _ = try parallelMap(jobs.count, width: Self.readWidth) { j in
      let (t, c) = jobs[j]
      try readChunk(c, of: infos[t], into: outputs[t].slice(infos[t].chunkRanges[c]))
    }
  }

  /// Reads chunk `index` of a tensor into `output`, naming the tensor in any error.
  func readChunk(_ index: Int, of info: TensorInfo, into output: UnsafeMutableRawBufferPointer)
    throws
  {
    chunksInFlight.enter()
    defer { chunksInFlight.leave() }
    do {
      try objects.read(chunk: info.chunks[index], into: output)
    } catch let error as StoreError {
      throw StoreError(error.code, "tensor '\(info.name)': \(error.message)")
    }
  }

  /// Reads several tensors into arrays of their own, on all cores: single-chunk tensors in one
  /// batch (each job fills its own array), larger ones each straight into its array.
  public func read(_ infos: [TensorInfo]) throws -> [[UInt8]] {
    let small = infos.indices.filter { infos[$0].chunks.count <= 1 && infos[$0].slices.isEmpty }
    let smallBytes = try parallelMap(small.count, width: Self.readWidth) { k in
      let info = infos[small[k]]
      return try [UInt8](unsafeUninitializedCapacity: info.byteCount) { buffer, initialized in
        if info.byteCount > 0 {
          try readChunk(0, of: info, into: UnsafeMutableRawBufferPointer(buffer))
        }
        initialized = info.byteCount
      }
    }
    var out = [[UInt8]](repeating: [], count: infos.count)
    for (k, i) in small.enumerated() { out[i] = smallBytes[k] }
    for i in infos.indices where infos[i].chunks.count > 1 || !infos[i].slices.isEmpty {
      out[i] = try [UInt8](unsafeUninitializedCapacity: infos[i].byteCount) { buffer, initialized in
        try read(infos[i], into: UnsafeMutableRawBufferPointer(buffer))
        initialized = infos[i].byteCount
      }
    }
    return out
  }

  /// Reads one tensor of a commit without reading the others.
  public func readTensor(named name: String, in commit: Commit) throws -> TensorData {
    let info = try tensorInfo(named: name, in: commit)
    return try TensorData(name: name, dtype: info.dtype, shape: info.shape, bytes: read(info))
  }

  /// Reads every tensor of a commit.
  public func readSnapshot(_ commit: Commit) throws -> [TensorData] {
    let infos = try tensors(in: commit)
    return try zip(infos, read(infos)).map {
      try TensorData(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: $1)
    }
  }

  /// First-parent history from `start` back, newest first; at most `limit` commits.
  public func history(from start: ObjectID, limit: Int = .max) throws -> [Commit] {
    var out: [Commit] = []
    var next: ObjectID? = start
    while let id = next, out.count < limit {
      let c = try commit(id)
      out.append(c)
      next = c.parents.first
    }
    return out
  }
}

/// A caller's output buffer, handed to reader threads that each write a disjoint part of it.
struct SendableBuffer: @unchecked Sendable {
  let base: UnsafeMutableRawBufferPointer

  init(_ base: UnsafeMutableRawBufferPointer) { self.base = base }

  func slice(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(rebasing: base[range])
  }
}
