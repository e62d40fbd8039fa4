/// What a region read decoded: tests assert that a rank reads only the chunks overlapping its
/// region, and callers can report it.
public struct RegionReadCount: Equatable, Sendable {
  /// Chunks read, decompressed and verified.
  public var chunks: Int
  /// Canonical (decoded) bytes of those chunks.
  public var bytes: Int
}

extension Store {
  /// Reads the elements of `region` of a tensor (ordinary or sliced) into `buffer`, row-major
  /// over the region (exactly `region.elementCount × dtype size` bytes), decoding only the chunks
  /// that hold some of its elements, on `readWidth` threads. Returns what it decoded.
  ///
  /// Throws `invalidArgument` if the region does not fit the tensor or the buffer has the wrong
  /// size, or for a packed sub-byte dtype (which cannot be cut at element boundaries).
  @discardableResult
  public func read(
    _ info: TensorInfo, region: TensorRegion, into buffer: UnsafeMutableRawBufferPointer
  ) throws -> RegionReadCount {
    guard region.fits(info.shape) else {
      throw StoreError(
        .invalidArgument,
        "region \(region) does not fit tensor '\(info.name)' of shape \(info.shape)")
    }
    guard !info.dtype.isSubByte || region == TensorRegion(whole: info.shape) else {
      throw StoreError(
        .invalidArgument, "tensor '\(info.name)' is \(info.dtype): a region read needs whole bytes")
    }
    let expected = info.dtype.isSubByte ? info.byteCount : region.elementCount * info.dtype.size
    guard buffer.count == expected else {
      throw StoreError(
        .invalidArgument,
        "region \(region) of tensor '\(info.name)' has \(expected) bytes; the buffer given holds "
          + "\(buffer.count)")
    }
    if info.slices.isEmpty && region == TensorRegion(whole: info.shape) {
      try read(into: [(info, buffer)])
      return RegionReadCount(chunks: info.chunks.count, bytes: info.byteCount)
    }
    let slices =
      info.slices.isEmpty
      ? [
        TensorSlice(
          region: TensorRegion(whole: info.shape), part: 0, chunkBytes: info.chunkBytes,
          chunks: info.chunks)
      ] : info.slices
    struct Job {
      let slice: Int
      let chunk: Int
      let common: TensorRegion
    }
    var jobs: [Job] = []
    for (s, slice) in slices.enumerated() {
      guard let common = slice.region.intersection(region) else { continue }
      let layout = RegionCopy(source: slice.region, target: region, common: common, info.dtype.size)
      let plain = slice.asTensor(named: info.name, dtype: info.dtype)
      for (c, range) in plain.chunkRanges.enumerated() where layout.touches(range) {
        jobs.append(Job(slice: s, chunk: c, common: common))
      }
    }
    let output = SendableBuffer(buffer)
    let all = jobs
    let decoded = try parallelMap(all.count, width: Self.readWidth) { j -> Int in
      let job = all[j]
      let slice = slices[job.slice]
      let plain = slice.asTensor(named: info.name, dtype: info.dtype)
      let range = plain.chunkRanges[job.chunk]
      var bytes = [UInt8].uninitialized(count: range.count)
      try bytes.withUnsafeMutableBytes { try readChunk(job.chunk, of: plain, into: $0) }
      let layout = RegionCopy(
        source: slice.region, target: region, common: job.common, info.dtype.size)
      bytes.withUnsafeBytes { layout.copy(chunk: $0, at: range, into: output.base) }
      return range.count
    }
    return RegionReadCount(chunks: decoded.count, bytes: decoded.reduce(0, +))
  }

  /// Reads `region` of a tensor into a new array; see `read(_:region:into:)`.
  public func read(_ info: TensorInfo, region: TensorRegion) throws -> (
    bytes: [UInt8], count: RegionReadCount
  ) {
    let size = region.fits(info.shape) ? region.elementCount * info.dtype.size : 0
    var count = RegionReadCount(chunks: 0, bytes: 0)
    let bytes = try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
      count = try read(info, region: region, into: UnsafeMutableRawBufferPointer(buffer))
      initialized = size
    }
    return (bytes, count)
  }
}

/// Copies the elements of `common` (a box inside both `source` and `target`) from a chunk of the
/// source's row-major bytes to the target's row-major buffer, in runs as long as the layouts allow.
struct RegionCopy {
  let source: TensorRegion
  let target: TensorRegion
  let common: TensorRegion
  let elementSize: Int
  /// Dimensions before `split` are walked one index at a time; from `split` on, a run is
  /// contiguous in both layouts (every later dimension is whole in source, target and common).
  let split: Int
  let sourceStrides: [Int]
  let targetStrides: [Int]

  init(source: TensorRegion, target: TensorRegion, common: TensorRegion, _ elementSize: Int) {
    self.source = source
    self.target = target
    self.common = common
    self.elementSize = elementSize
    let rank = common.extent.count
    var split = rank == 0 ? 0 : rank - 1
    while split > 0, source.extent[split] == common.extent[split],
      target.extent[split] == common.extent[split]
    {
      split -= 1
    }
    self.split = split
    sourceStrides = Self.strides(source.extent, elementSize)
    targetStrides = Self.strides(target.extent, elementSize)
  }

  private static func strides(_ extent: [Int], _ size: Int) -> [Int] {
    var out = [Int](repeating: size, count: extent.count)
    for d in extent.indices.reversed().dropFirst() { out[d] = out[d + 1] * extent[d + 1] }
    return out
  }

  private var runBytes: Int {
    common.extent.isEmpty ? elementSize : common.extent[split...].reduce(elementSize, *)
  }

  /// Byte offsets of element `index` in the source and in the target layout.
  private func offsets(_ index: [Int]) -> (source: Int, target: Int) {
    var s = 0
    var t = 0
    for d in index.indices {
      s += (index[d] - source.offset[d]) * sourceStrides[d]
      t += (index[d] - target.offset[d]) * targetStrides[d]
    }
    return (s, t)
  }

  /// Whether the source bytes `range` hold any element of `common` (by its bounding range).
  func touches(_ range: Range<Int>) -> Bool {
    guard !common.extent.isEmpty else { return true }
    let first = offsets(common.offset).source
    let last = offsets(zip(common.offset, common.extent).map { $0 + $1 - 1 }).source + elementSize
    return range.lowerBound < last && first < range.upperBound
  }

  /// Copies the parts of `common`'s runs that lie in `chunk` (source bytes `range`) to `output`.
  func copy(
    chunk: UnsafeRawBufferPointer, at range: Range<Int>, into output: UnsafeMutableRawBufferPointer
  ) {
    if common.extent.isEmpty {
      output.copyMemory(from: chunk)
      return
    }
    // Walk only the indices of dimension 0 whose source rows meet the chunk.
    var lo0 = common.offset[0]
    var hi0 = common.offset[0] + common.extent[0]
    if split > 0 {
      let row = sourceStrides[0]
      lo0 = max(lo0, source.offset[0] + range.lowerBound / row)
      hi0 = min(hi0, source.offset[0] + (range.upperBound + row - 1) / row)
    }
    guard lo0 < hi0 else { return }
    var index = common.offset
    index[0] = lo0
    let run = runBytes
    while true {
      let (s, t) = offsets(index)
      let a = max(s, range.lowerBound)
      let b = min(s + run, range.upperBound)
      if a < b {
        let from = UnsafeRawBufferPointer(
          rebasing: chunk[(a - range.lowerBound)..<(b - range.lowerBound)])
        UnsafeMutableRawBufferPointer(rebasing: output[(t + a - s)..<(t + b - s)]).copyMemory(
          from: from)
      }
      // Odometer over dimensions 0..<split; dimension 0 stops at hi0.
      var d = split - 1
      while d >= 0 {
        index[d] += 1
        let end = d == 0 ? hi0 : common.offset[d] + common.extent[d]
        if index[d] < end { break }
        if d == 0 { return }
        index[d] = common.offset[d]
        d -= 1
      }
      if d < 0 { return }
    }
  }
}
