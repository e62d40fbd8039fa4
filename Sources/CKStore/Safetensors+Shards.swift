import Foundation

/// Checkpoints split over several safetensors files, as Hugging Face writes them
/// (`model-00001-of-00003.safetensors` … plus `model.safetensors.index.json`, whose `weight_map`
/// names each tensor's file): read as one set of tensors, written as shards plus an index.
extension Safetensors {
  /// The name of the index file a sharded export writes.
  public static let indexName = "model.safetensors.index.json"

  /// Opens safetensors files, or one `….index.json` naming them, as one checkpoint: every
  /// tensor as a source read in place, and the files' `__metadata__` merged. A tensor in two
  /// files, or metadata keys with different values in two files, is an `invalidArgument` naming
  /// both files; an index that disagrees with its files names the tensor and the file.
  public static func openCheckpoint(paths: [String]) throws -> (
    sources: [TensorSource], metadata: [String: String]
  ) {
    var files: [(path: String, open: OpenFile)] = []
    var expected: [String: String]? = nil
    if paths.count == 1, paths[0].hasSuffix(".json") {
      let (shards, map) = try readIndex(paths[0])
      expected = map
      for shard in shards { files.append((shard, try open(path: shard))) }
    } else {
      for path in paths { files.append((path, try open(path: path))) }
    }
    var owner: [String: String] = [:]
    var metadataOwner: [String: (value: String, file: String)] = [:]
    var sources: [TensorSource] = []
    for (path, file) in files {
      for entry in file.header.entries {
        if let other = owner.updateValue(path, forKey: entry.name) {
          throw StoreError(
            .invalidArgument, "tensor '\(entry.name)' is in both '\(other)' and '\(path)'")
        }
        if let expected, expected[entry.name] != path {
          throw StoreError(
            .invalidArgument,
            "tensor '\(entry.name)' is in '\(path)' but the index "
              + (expected[entry.name].map { "puts it in '\($0)'" } ?? "does not list it"))
        }
      }
      for (key, value) in file.header.metadata {
        if let seen = metadataOwner[key], seen.value != value {
          throw StoreError(
            .invalidArgument,
            "__metadata__ '\(key)' is '\(seen.value)' in '\(seen.file)' but '\(value)' in '\(path)'"
          )
        }
        metadataOwner[key] = (value, path)
      }
      sources += try file.sources()
    }
    if let expected, let missing = expected.keys.sorted().first(where: { owner[$0] == nil }) {
      throw StoreError(
        .invalidArgument,
        "the index puts tensor '\(missing)' in '\(expected[missing]!)', which has no such tensor")
    }
    return (sources, metadataOwner.mapValues(\.value))
  }

  /// Reads an index: the shard paths (relative to the index's folder, in first-use order) and
  /// each tensor's shard path.
  private static func readIndex(_ path: String) throws -> (shards: [String], map: [String: String])
  {
    let bytes: [UInt8]
    do {
      bytes = try FileIO.read(path)
    } catch let error as StoreError {
      throw StoreError(error.code, "safetensors index: \(error.message)")
    }
    func fail(_ why: String) -> StoreError {
      StoreError(.malformedSafetensors, "malformed safetensors index '\(path)': \(why)")
    }
    let document: StrictJSON
    do {
      document = try bytes.withUnsafeBytes { try StrictJSON.parse($0) }
    } catch let error as StrictJSON.ParseError {
      throw fail("not valid JSON (\(error))")
    }
    guard let weightMap = document.members?.first(where: { $0.key == "weight_map" })?.value.members
    else { throw fail("no weight_map object") }
    let folder = FileIO.parentFolder(path)
    var shards: [String] = []
    var map: [String: String] = [:]
    for (name, value) in weightMap {
      guard let file = value.text, !file.isEmpty, !file.contains("/"), file != "..", file != "."
      else { throw fail("weight_map entry '\(name)' does not name a file in the index's folder") }
      let shard = folder.isEmpty ? file : folder + "/" + file
      if !shards.contains(shard) { shards.append(shard) }
      map[name] = shard
    }
    return (shards, map)
  }
}

extension Store {
  /// Writes `tensors` as Hugging Face style shards of at most `maxShardSize` bytes of tensor data
  /// each (a larger tensor gets a shard of its own) plus `model.safetensors.index.json`, into
  /// `folder` (created if missing). Every shard is written and made durable under a temporary
  /// name before any is renamed into place, and the index comes last. Returns the shard names.
  @discardableResult
  public func writeShards(
    _ tensors: [ExportedTensor], metadata: [String: String], folder: String, maxShardSize: Int,
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> [String] {
    guard maxShardSize > 0 else {
      throw StoreError(.invalidArgument, "the maximum shard size must be positive")
    }
    try FileIO.makeDirectories(folder)
    var groups: [[ExportedTensor]] = []
    var size = 0
    for t in tensors {
      if groups.isEmpty || (size > 0 && size + t.info.byteCount > maxShardSize) {
        groups.append([])
        size = 0
      }
      groups[groups.count - 1].append(t)
      size += t.info.byteCount
    }
    if groups.isEmpty { groups = [[]] }
    let names = groups.indices.map {
      String(format: "model-%05d-of-%05d.safetensors", $0 + 1, groups.count)
    }
    var files: [ExportFile] = []
    for (group, name) in zip(groups, names) {
      files.append(
        try writeSafetensorsFile(
          group, header: Self.header(group, metadata: metadata), to: folder + "/" + name,
          progress: progress))
    }
    for file in files { try file.sync() }
    for file in files { if let warning = try file.publish() { warnings.report(warning) } }
    var map: [String] = []
    for (group, name) in zip(groups, names) {
      for t in group { map.append("\(Safetensors.quote(t.name)):\(Safetensors.quote(name))") }
    }
    let total = tensors.reduce(0) { $0 + $1.info.byteCount }
    let index = Array(
      "{\"metadata\":{\"total_size\":\(total)},\"weight_map\":{\(map.joined(separator: ","))}}\n"
        .utf8)
    let indexFile = try ExportFile(target: folder + "/" + Safetensors.indexName, size: index.count)
    try index.withUnsafeBytes { try indexFile.write($0, at: 0) }
    if let warning = try indexFile.commit() { warnings.report(warning) }
    return names
  }
}
