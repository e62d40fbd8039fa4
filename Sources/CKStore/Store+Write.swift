import Foundation

extension Store {
  /// Threads that hash, compress and write chunks: eight per core, so that fsync waits (each
  /// object is fsynced before its rename) overlap with hashing and compression. Measured with
  /// `ckbench store --only commit` (128 MiB): 4 threads 103 MB/s, 8 → 167, 16 → 347 on 2 cores.
  public static let writeWidth = 8 * ProcessInfo.processInfo.activeProcessorCount

  /// The commit pipeline (callers hold the branch's writer lock).
  ///
  /// `reusing` lists tensors already in the store (entries of an earlier commit) that go into this
  /// commit as they are: neither hashed nor compressed again. Their chunks must still exist.
  func writeCommit(
    _ tensors: [TensorSource], reusing: [TensorInfo] = [], branch: String, step: Int64,
    message: String, metrics: [String: Double], metadata: [String: String],
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> Commit {
    var seen = Set<String>()
    for name in tensors.map(\.name) + reusing.map(\.name) where !seen.insert(name).inserted {
      throw StoreError(.invalidName, "tensor '\(name)' appears twice in one snapshot")
    }
    for info in reusing {
      try TensorName.validate(info.name)
      guard info.isConsistent else {
        throw StoreError(
          .invalidTensor,
          "cannot reuse tensor '\(info.name)': its entry is inconsistent (\(info.dtype) \(info.shape), "
            + "\(info.byteCount) bytes, \(info.chunks.count) chunks of \(info.chunkBytes))")
      }
    }
    // gc deletes only while holding this lock exclusively, so nothing this commit relies on
    // (new, deduplicated or reused) can vanish before the ref names it.
    let gcGuard = try FileLock.acquire(gcLockPath, .shared)
    defer { gcGuard.unlock() }

    for info in reusing {
      for chunk in info.chunks where !objects.contains(chunk) {
        throw StoreError(
          .objectNotFound,
          "cannot reuse tensor '\(info.name)': its chunk \(chunk.hex) is no longer in the store")
      }
    }
    let parent = try head(of: branch)
    let bases = try deltaBases(parent: parent)
    let (written, chunkBytesAdded) = try writeChunks(tensors, bases: bases, progress: progress)
    // A file that changed while it was read may have given bytes of two versions: refuse it
    // before anything names them.
    for file in Set(tensors.compactMap { $0.file.map(ObjectIdentifier.init) }) {
      try tensors.first { $0.file.map(ObjectIdentifier.init) == file }!.file!.checkUnchanged()
    }
    let (rootTree, treeBytesAdded) = try writeTrees(written + reusing)
    try objects.syncPending()

    var commit = Commit(
      id: rootTree, tree: rootTree, parents: parent.map { [$0] } ?? [], step: step,
      time: Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000),
      message: message, metrics: metrics, metadata: metadata,
      logicalBytes: Int64(
        tensors.reduce(0) { $0 + $1.byteCount } + reusing.reduce(0) { $0 + $1.byteCount }),
      addedBytes: Int64(chunkBytesAdded + treeBytesAdded))
    let stored = try objects.put(.commit, commit.encoded())
    commit.id = stored.id
    try objects.syncPending()
    try refs.update(
      RefStore.branchRef(branch), to: commit.id, expected: parent,
      message: "commit: step \(step)")
    return commit
  }

  /// The parent's tensor entries by name, when the store writes delta chunks and the parent still
  /// has its data; empty otherwise.
  private func deltaBases(parent: ObjectID?) throws -> [String: TensorInfo] {
    guard configuration.deltaAgainstParent, let parent, !isPruned(parent) else { return [:] }
    let entries = try tensors(in: commit(parent))
    return Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
  }

  /// The base for chunk `index` of a tensor laid out as `info`: the parent's chunk at the same
  /// place — or that chunk's own base if it is a delta, so that no delta chain is longer than one —
  /// with its bytes. Nil when there is none or it cannot be read (the chunk is then stored whole).
  private func deltaBase(for info: TensorInfo, index: Int, parent: TensorInfo?) -> (
    id: ObjectID, bytes: [UInt8]
  )? {
    guard let parent, parent.dtype == info.dtype, parent.shape == info.shape,
      parent.chunkBytes == info.chunkBytes, index < parent.chunks.count
    else { return nil }
    var id = parent.chunks[index]
    if let keyframe = try? objects.deltaBase(of: id) { id = keyframe }
    var bytes = [UInt8].uninitialized(count: info.chunkRanges[index].count)
    do {
      try bytes.withUnsafeMutableBytes { try objects.read(chunk: id, into: $0) }
    } catch {
      return nil
    }
    return (id, bytes)
  }

  /// Hashes, compresses and writes every chunk, on `writeWidth` threads: each thread holds one
  /// chunk at a time, so at most `writeWidth` chunks are in flight (`chunksInFlight` counts them).
  func writeChunks(
    _ tensors: [TensorSource], bases: [String: TensorInfo],
    progress: (@Sendable (Int, Int) -> Void)?
  ) throws -> ([TensorInfo], Int) {
    struct Job {
      let tensor: Int
      let index: Int
      let range: Range<Int>
    }
    var infos: [TensorInfo] = []
    var jobs: [Job] = []
    for (i, t) in tensors.enumerated() {
      let chunkBytes = TensorInfo.chunkBytes(
        dtype: t.dtype, shape: t.shape, byteCount: t.byteCount, target: configuration.chunkSize)
      let info = TensorInfo(
        name: t.name, dtype: t.dtype, shape: t.shape, byteCount: t.byteCount,
        chunkBytes: chunkBytes, chunks: [])
      for (c, range) in info.chunkRanges.enumerated() {
        jobs.append(Job(tensor: i, index: c, range: range))
      }
      infos.append(info)
    }
    let counter = Counter()
    let layouts = infos
    let allJobs = jobs
    let results = try parallelMap(allJobs.count, width: Self.writeWidth) {
      j -> ObjectStore.PutResult in
      let job = allJobs[j]
      let info = layouts[job.tensor]
      let width = ChunkCodec.groupingWidth(info.dtype)
      chunksInFlight.enter()
      defer { chunksInFlight.leave() }
      let base =
        width > 1 ? deltaBase(for: info, index: job.index, parent: bases[info.name]) : nil
      let result = try tensors[job.tensor].withBytes(job.range) {
        try objects.put(.chunk, $0, elementWidth: width, base: base)
      }
      if let progress { progress(counter.increment(), allJobs.count) }
      return result
    }
    var next = 0
    for i in infos.indices {
      let count = infos[i].chunkRanges.count
      infos[i].chunks = results[next..<next + count].map(\.id)
      next += count
    }
    return (infos, results.reduce(0) { $0 + $1.storedBytes })
  }

  /// Builds the hierarchical manifest bottom-up and writes each tree object.
  func writeTrees(_ infos: [TensorInfo]) throws -> (ObjectID, Int) {
    final class Folder {
      var folders: [String: Folder] = [:]
      var tensors: [String: TensorInfo] = [:]
    }
    let root = Folder()
    for info in infos {
      let keys = TensorName.keys(of: info.name)
      var folder = root
      for key in keys.dropLast() {
        if let next = folder.folders[key] {
          folder = next
        } else {
          let next = Folder()
          folder.folders[key] = next
          folder = next
        }
      }
      folder.tensors[keys.last!] = info
    }
    var added = 0
    func write(_ folder: Folder) throws -> ObjectID {
      var entries: [(key: String, entry: TreeEntry)] = []
      for (key, sub) in folder.folders { entries.append((key, .tree(try write(sub)))) }
      for (key, info) in folder.tensors { entries.append((key, .tensor(info))) }
      entries.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
      let result = try objects.put(.tree, Tree(entries: entries).encoded())
      added += result.storedBytes
      return result.id
    }
    return (try write(root), added)
  }
}
