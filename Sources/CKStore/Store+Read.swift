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

  /// Reads and verifies a tensor's bytes, decompressing its chunks in parallel.
  ///
  /// A damaged chunk throws `corruptObject` naming the object and the tensor.
  public func read(_ info: TensorInfo) throws -> [UInt8] {
    try read([info])[0]
  }

  /// Reads several tensors, decompressing and verifying all their chunks on all cores at once
  /// (so many small tensors keep both cores busy, not one tensor at a time).
  public func read(_ infos: [TensorInfo]) throws -> [[UInt8]] {
    var buffers = infos.map { [UInt8].uninitialized(count: $0.byteCount) }
    let jobs = infos.indices.flatMap { t in infos[t].chunkRanges.indices.map { (t, $0) } }
    // The buffers are uniquely referenced and neither resized nor copied until the reads are
    // done, so their element storage stays where these pointers say.
    var targets: [UnsafeMutableRawBufferPointer] = []
    for t in buffers.indices { targets.append(buffers[t].withUnsafeMutableBytes { $0 }) }
    _ = try parallelMap(jobs.count) { j in
      let (t, c) = jobs[j]
      let info = infos[t]
      do {
        try objects.read(
          chunk: info.chunks[c],
          into: UnsafeMutableRawBufferPointer(rebasing: targets[t][info.chunkRanges[c]]))
      } catch let error as StoreError {
        throw StoreError(error.code, "tensor '\(info.name)': \(error.message)")
      }
    }
    return buffers
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
