/// Merges the tensor entries of a sharded commit's parts into the commit's entries: an ordinary
/// tensor comes from one part (or from several holding the same data: replicated parameters), and
/// the slices of a tensor from all parts become one sliced entry, checked to tile it exactly.
enum ShardMerge {
  /// `parts[i]` are part i's entries. Throws `invalidTensor` naming the tensor and the ranks.
  static func merge(_ parts: [[TensorInfo]]) throws -> [TensorInfo] {
    var byName: [String: [(part: Int, info: TensorInfo)]] = [:]
    for (i, infos) in parts.enumerated() {
      for info in infos { byName[info.name, default: []].append((i, info)) }
    }
    var out: [TensorInfo] = []
    for (name, entries) in byName {
      let first = entries[0]
      let sliced = entries.filter { !$0.info.slices.isEmpty }
      if sliced.isEmpty {
        if let other = entries.first(where: { !$0.info.sameData(as: first.info) }) {
          throw StoreError(
            .invalidTensor,
            "tensor '\(name)' is written whole by rank \(first.part) and rank \(other.part) "
              + "with different data")
        }
        out.append(first.info)
        continue
      }
      if let plain = entries.first(where: { $0.info.slices.isEmpty }) {
        throw StoreError(
          .invalidTensor,
          "tensor '\(name)' is a slice in rank \(sliced[0].part) but whole in rank \(plain.part)")
      }
      if let other = entries.first(where: {
        $0.info.dtype != first.info.dtype || $0.info.shape != first.info.shape
      }) {
        throw StoreError(
          .invalidTensor,
          "tensor '\(name)': rank \(first.part) slices a \(first.info.dtype) \(first.info.shape), "
            + "rank \(other.part) a \(other.info.dtype) \(other.info.shape)")
      }
      let slices = entries.flatMap(\.info.slices).sorted {
        $0.region.offset.lexicographicallyPrecedes($1.region.offset)
      }
      try SliceCover.check(name, shape: first.info.shape, slices: slices)
      out.append(
        .sliced(name: name, dtype: first.info.dtype, shape: first.info.shape, slices: slices))
    }
    return out.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
  }
}
