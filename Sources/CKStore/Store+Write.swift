import Foundation

extension Store {
  /// Threads that hash, compress and write chunks: eight per core, so that fsync waits (each
  /// object is fsynced before its rename) overlap with hashing and compression. Measured with
  /// `ckbench store --only commit` (128 MiB): 4 threads 103 MB/s, 8 → 167, 16 → 347 on 2 cores.
  static let writeWidth = 8 * ProcessInfo.processInfo.activeProcessorCount

  /// The commit pipeline (callers hold the branch's writer lock).
  ///
  /// `reusing` lists tensors already in the store (entries of an earlier commit) that go into this
  /// commit as they are: neither hashed nor compressed again. Their chunks must still exist.
  func writeCommit(
    _ tensors: [TensorData], reusing: [TensorInfo] = [], branch: String, step: Int64,
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
    let (rootTree, treeBytesAdded) = try writeTrees(written + reusing)
    try objects.syncPending()

    var commit = Commit(
      id: rootTree, tree: rootTree, parents: parent.map { [$0] } ?? [], step: step,
      time: Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000),
      message: message, metrics: metrics, metadata: metadata,
      logicalBytes: Int64(
        tensors.reduce(0) { $0 + $1.bytes.count } + reusing.reduce(0) { $0 + $1.byteCount }),
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

  /// Hashes, compresses and writes every chunk, on all cores.
  private func writeChunks(
    _ tensors: [TensorData], bases: [String: TensorInfo],
    progress: (@Sendable (Int, Int) -> Void)?
  ) throws -> ([TensorInfo], Int) {
    struct Job {
      let tensor: Int
      let range: Range<Int>
    }
    var infos: [TensorInfo] = []
    var jobs: [Job] = []
    var firstJob: [Int] = []
    for (i, t) in tensors.enumerated() {
      let chunkBytes = TensorInfo.chunkBytes(
        dtype: t.dtype, shape: t.shape, byteCount: t.bytes.count,
        target: configuration.chunkSize)
      let info = TensorInfo(
        name: t.name, dtype: t.dtype, shape: t.shape, byteCount: t.bytes.count,
        chunkBytes: chunkBytes, chunks: [])
      firstJob.append(jobs.count)
      for range in info.chunkRanges { jobs.append(Job(tensor: i, range: range)) }
      infos.append(info)
    }
    let counter = Counter()
    let results = try parallelMap(jobs.count, width: Self.writeWidth) {
      j -> ObjectStore.PutResult in
      let job = jobs[j]
      let info = infos[job.tensor]
      let width = ChunkCodec.groupingWidth(info.dtype)
      let base =
        width > 1
        ? deltaBase(
          for: info, index: (job.range.lowerBound / max(1, info.chunkBytes)),
          parent: bases[info.name]) : nil
      let result = try tensors[job.tensor].bytes.withUnsafeBytes { raw in
        try objects.put(
          .chunk, UnsafeRawBufferPointer(rebasing: raw[job.range]), elementWidth: width,
          base: base)
      }
      if let progress { progress(counter.increment(), jobs.count) }
      return result
    }
    for i in infos.indices {
      let count = infos[i].chunkRanges.count
      infos[i].chunks = results[firstJob[i]..<firstJob[i] + count].map(\.id)
    }
    return (infos, results.reduce(0) { $0 + $1.storedBytes })
  }

  /// Builds the hierarchical manifest bottom-up and writes each tree object.
  private func writeTrees(_ infos: [TensorInfo]) throws -> (ObjectID, Int) {
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

/// Runs `body` for 0..<count on `width` threads (default: one per core) and returns the results
/// in order; rethrows the first error (by index) after every iteration has finished.
///
/// A width above the core count suits work that blocks on fsync: while one thread waits for the
/// disk, another hashes or compresses.
func parallelMap<T>(_ count: Int, width: Int? = nil, _ body: (Int) throws -> T) throws -> [T] {
  try withoutActuallyEscaping(body) { body in
    let box = ParallelResults(count: count, body: body)
    let threads = min(count, width ?? ProcessInfo.processInfo.activeProcessorCount)
    if threads <= 1 {
      for i in 0..<count { box.run(i) }
    } else {
      // Plain threads, not concurrentPerform: libdispatch caps that at the core count, and
      // the point of a wider pool is to overlap fsync waits.
      let done = DispatchSemaphore(value: 0)
      for _ in 0..<threads {
        Thread {
          while let i = box.claim() { box.run(i) }
          done.signal()
        }.start()
      }
      for _ in 0..<threads { done.wait() }
      // Threads may outlive this call by a moment; they must not keep the non-escaping body.
      box.releaseBody()
    }
    return try box.results.map { try $0!.get() }
  }
}

/// The shared state of one `parallelMap`: each iteration writes only its own slot.
private final class ParallelResults<T>: @unchecked Sendable {
  var results: [Result<T, Error>?]
  private var body: ((Int) throws -> T)?
  private let lock = NSLock()
  private var next = 0

  init(count: Int, body: @escaping (Int) throws -> T) {
    self.results = Array(repeating: nil, count: count)
    self.body = body
  }

  func claim() -> Int? {
    lock.withLock {
      guard next < results.count else { return nil }
      defer { next += 1 }
      return next
    }
  }

  func releaseBody() { lock.withLock { body = nil } }

  func run(_ i: Int) {
    let r = Result { try body!(i) }
    lock.withLock { results[i] = r }
  }
}

/// A thread-safe counter for progress reports.
final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0

  /// Adds one and returns the new value.
  func increment() -> Int {
    lock.withLock {
      value += 1; return value
    }
  }
}
