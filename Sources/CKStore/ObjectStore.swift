import Foundation

/// The immutable object files under `objects/`: write once, read with verification, delete only
/// through gc.
final class ObjectStore: @unchecked Sendable {
  /// What a write did.
  struct PutResult {
    /// The object's id.
    var id: ObjectID
    /// Bytes of the object file written now; 0 when the object was already present.
    var storedBytes: Int
  }

  let objectsPath: String
  let compressionLevel: Int32
  let scratch: ScratchSpace
  private let lock = NSLock()
  private var directoriesToSync: Set<String> = []
  /// Where a missing object is fetched from, when the store has a remote (Store+Transfer.swift).
  let fallback = FallbackSlot()

  init(root: String, compressionLevel: Int32, scratch: ScratchSpace) {
    self.objectsPath = root + "/objects"
    self.compressionLevel = compressionLevel
    self.scratch = scratch
  }

  func path(for id: ObjectID) -> String {
    let hex = id.hex
    return "\(objectsPath)/\(hex.prefix(2))/\(hex.dropFirst(2))"
  }

  func contains(_ id: ObjectID) -> Bool { FileIO.exists(path(for: id)) }

  /// Stores `payload` as an object of `kind` unless an object with its id exists. `id`, when
  /// given, must be the payload's SHA-256 (callers that hashed already pass it to avoid rehashing).
  /// `elementWidth` above 1 regroups the bytes of elements of that width before zstd (floats).
  ///
  /// `base` (a non-delta chunk of the same length, with its bytes) lets a float chunk be stored
  /// as a delta against it when that is smaller.
  func put(
    _ kind: ObjectKind, _ payload: UnsafeRawBufferPointer, id known: ObjectID? = nil,
    elementWidth: Int = 1, base: (id: ObjectID, bytes: [UInt8])? = nil
  ) throws -> PutResult {
    let id = known ?? SHA256.hash(payload)
    let target = path(for: id)
    // Dedupe only against a file whose header is sound (one 32-byte read); a damaged file under
    // this id is replaced, since the payload in hand hashes to it.
    if FileIO.exists(target), let h = try? header(id), h.kind == kind,
      h.length == UInt64(payload.count)
    {
      return PutResult(id: id, storedBytes: 0)
    }
    let fanout = FileIO.parentFolder(target)
    if !FileIO.isDirectory(fanout) {
      try FileIO.makeDirectory(fanout)
      markForSync(objectsPath)
    }
    var encoded =
      kind == .chunk
      ? try ChunkCodec.encode(payload, width: elementWidth, level: compressionLevel)
      : ChunkCodec.Encoded(codec: .none, parameter: 0, bytes: [])
    if let base, kind == .chunk, elementWidth > 1, base.bytes.count == payload.count,
      let delta = try ChunkCodec.encodeDelta(
        payload, against: base, width: elementWidth, level: compressionLevel),
      delta.bytes.count < (encoded.codec == .none ? payload.count : encoded.bytes.count)
    {
      encoded = delta
    }
    let header = ObjectHeader(
      kind: kind, codec: encoded.codec, parameter: encoded.parameter,
      length: UInt64(payload.count)
    ).encoded()
    try header.withUnsafeBytes { h in
      try encoded.bytes.withUnsafeBytes { e in
        try FileIO.writeAtomically(
          [h, encoded.codec == .none ? payload : e], to: target,
          tempPath: try scratch.newTempPath())
      }
    }
    markForSync(fanout)
    let body = encoded.codec == .none ? payload.count : encoded.bytes.count
    return PutResult(id: id, storedBytes: header.count + body)
  }

  func put(_ kind: ObjectKind, _ payload: [UInt8]) throws -> PutResult {
    try payload.withUnsafeBytes { try put(kind, $0) }
  }

  /// Fsyncs every folder that received a new object since the last call, so that everything
  /// written so far is durable before something that refers to it is published.
  func syncPending() throws {
    let dirs: Set<String> = lock.withLock {
      defer { directoriesToSync.removeAll() }
      return directoriesToSync
    }
    for dir in dirs.sorted(by: >) { try FileIO.syncDirectory(dir) }
  }

  private func markForSync(_ dir: String) {
    lock.withLock { _ = directoriesToSync.insert(dir) }
  }

  /// Reads an object's header.
  func header(_ id: ObjectID) throws -> ObjectHeader {
    let prefix = try FileIO.read(path(for: id), limit: ObjectHeader.size)
    return try ObjectHeader.decode(prefix, object: id.hex)
  }

  /// Reads, decodes and verifies an object; throws `corruptObject` when its content does not hash
  /// to `id` and `objectNotFound` when it is missing.
  func get(_ id: ObjectID, as kind: ObjectKind? = nil) throws -> [UInt8] {
    let file = try readFile(id)
    let header = try ObjectHeader.decode(file, object: id.hex)
    if let kind, header.kind != kind {
      throw StoreError(
        .corruptObject, "object \(id.hex) is a \(header.kind), expected a \(kind)")
    }
    try checkLength(header, file: file, id: id)
    var payload = [UInt8].uninitialized(count: Int(header.length))
    try payload.withUnsafeMutableBytes { out in
      try decodeBody(file, header: header, into: out, id: id)
    }
    return payload
  }

  /// Refuses a header length the file does not back before anything is allocated for it: a
  /// damaged length is a `corruptObject`, not a huge allocation.
  private func checkLength(_ header: ObjectHeader, file: [UInt8], id: ObjectID) throws {
    let declared = file.withUnsafeBytes {
      ChunkCodec.declaredLength(
        UnsafeRawBufferPointer(rebasing: $0[ObjectHeader.size...]), header: header)
    }
    guard declared == header.length else {
      throw StoreError(
        .corruptObject,
        "object \(id.hex): header says \(header.length) bytes, the stored data holds "
          + (declared.map { "\($0)" } ?? "an unknown size"))
    }
  }

  /// Reads a chunk straight into `output`, which must be exactly the chunk's length.
  func read(chunk id: ObjectID, into output: UnsafeMutableRawBufferPointer) throws {
    let file = try readFile(id)
    let header = try ObjectHeader.decode(file, object: id.hex)
    guard header.kind == .chunk, header.length == UInt64(output.count) else {
      throw StoreError(
        .corruptObject,
        "object \(id.hex): expected a chunk of \(output.count) bytes, found a \(header.kind) of \(header.length)"
      )
    }
    try checkLength(header, file: file, id: id)
    try decodeBody(file, header: header, into: output, id: id)
  }

  private func decodeBody(
    _ file: [UInt8], header: ObjectHeader, into out: UnsafeMutableRawBufferPointer, id: ObjectID
  ) throws {
    try file.withUnsafeBytes { raw in
      try ChunkCodec.decode(
        UnsafeRawBufferPointer(rebasing: raw[ObjectHeader.size...]), header: header, into: out,
        object: id.hex
      ) { base, into in
        guard try contains(base) || fetchFromFallback(base) != nil else {
          throw StoreError(
            .objectNotFound,
            "object \(id.hex) is a delta against \(base.hex), and its base is missing")
        }
        guard try deltaBase(of: base) == nil else {
          throw StoreError(
            .corruptObject, "object \(id.hex): its delta base \(base.hex) is a delta too")
        }
        do {
          try read(chunk: base, into: into)
        } catch let error as StoreError {
          throw StoreError(
            error.code, "object \(id.hex) (delta against \(base.short)): \(error.message)")
        }
      }
    }
    let actual = SHA256.hash(UnsafeRawBufferPointer(out))
    guard actual == id else {
      throw StoreError(.corruptObject, "object \(id.hex): content hashes to \(actual.hex)")
    }
  }

  private func readFile(_ id: ObjectID) throws -> [UInt8] {
    let p = path(for: id)
    do {
      let file = try FileIO.read(p)
      guard file.count >= ObjectHeader.size else {
        throw StoreError(
          .corruptObject, "object \(id.hex): file is \(file.count) bytes, shorter than a header")
      }
      return file
    } catch let error as StoreError where error.code == .io && !FileIO.exists(p) {
      if let fetched = try fetchFromFallback(id) { return fetched }
      throw StoreError(.objectNotFound, "object \(id.hex) is missing")
    }
  }

  /// The base of a delta chunk, or nil for any other object (reads 48 bytes).
  func deltaBase(of id: ObjectID) throws -> ObjectID? {
    let prefix = try FileIO.read(path(for: id), limit: ObjectHeader.size + 32)
    let header = try ObjectHeader.decode(prefix, object: id.hex)
    guard header.codec == .deltaGroupedZstd else { return nil }
    guard prefix.count == ObjectHeader.size + 32 else {
      throw StoreError(.corruptObject, "object \(id.hex): delta chunk shorter than its base id")
    }
    return ObjectID(bytes: Array(prefix[ObjectHeader.size...]))
  }

  /// Every object id in the store, with its file size.
  func all() -> [(id: ObjectID, size: Int)] {
    var out: [(ObjectID, Int)] = []
    for fan in FileIO.list(objectsPath) where fan.utf8.count == 2 {
      let dir = objectsPath + "/" + fan
      for rest in FileIO.list(dir) {
        guard let id = ObjectID(hex: fan + rest) else { continue }
        out.append((id, FileIO.fileSize(dir + "/" + rest) ?? 0))
      }
    }
    return out
  }

  /// Ids whose hex form starts with `prefix` (lowercase hex, at least 2 digits).
  func ids(withPrefix prefix: String) -> [ObjectID] {
    let fan = String(prefix.prefix(2))
    let rest = prefix.dropFirst(2)
    return FileIO.list(objectsPath + "/" + fan).filter { $0.hasPrefix(rest) }
      .compactMap { ObjectID(hex: fan + $0) }
  }

  func delete(_ id: ObjectID) throws {
    try FileIO.remove(path(for: id))
  }
}
