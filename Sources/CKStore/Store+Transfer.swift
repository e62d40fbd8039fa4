import Foundation

/// A source of object files this store lacks: the remote a store was cloned or fetched from.
///
/// The store calls it when an object it reads is missing locally; the file it returns is verified
/// exactly as a local read is (header, length, SHA-256 against the id) before it is stored, so a
/// fallback can never make the store hold a damaged object. Implemented in CKRemote: the store
/// does not depend on the remote module.
public protocol ObjectFallback: Sendable {
  /// The bytes of the object file named `id`, exactly as a store holds it, or nil when the
  /// source lacks it too.
  func objectFile(_ id: ObjectID) throws -> [UInt8]?
}

/// The store's fallback, settable while the store is in use.
final class FallbackSlot: @unchecked Sendable {
  private let lock = NSLock()
  private var source: ObjectFallback?

  var current: ObjectFallback? {
    get { lock.withLock { source } }
    set { lock.withLock { source = newValue } }
  }
}

extension ObjectStore {
  /// Fetches a missing object from the fallback, verifies it, stores it and returns its file;
  /// nil when there is no fallback or it lacks the object too.
  func fetchFromFallback(_ id: ObjectID) throws -> [UInt8]? {
    guard let source = fallback.current, let file = try source.objectFile(id) else { return nil }
    try receive(id, file: file)
    return file
  }

  /// Verifies an object file received from elsewhere and stores it under `id` (atomically, so a
  /// reader sees all of it or nothing). A delta's base must be readable (locally or through the
  /// fallback) since the delta is verified by decoding it.
  func receive(_ id: ObjectID, file: [UInt8]) throws {
    try verify(file, id: id)
    let target = path(for: id)
    if FileIO.exists(target) { return }
    let fanout = FileIO.parentFolder(target)
    if !FileIO.isDirectory(fanout) { try FileIO.makeDirectories(fanout) }
    try FileIO.writeAtomically(file, to: target, tempPath: try scratch.newTempPath())
    try FileIO.syncDirectory(fanout)
  }

  /// Decodes an object file and checks its hash, reading a delta's base through this store.
  func verify(_ file: [UInt8], id: ObjectID) throws {
    try Store.verifyObjectFile(file, id: id) { base, into in
      try self.read(chunk: base, into: into)
    }
  }
}

extension Store {
  /// Where missing objects are fetched from; nil (the default) means a missing object is an
  /// error. A remote-backed reader (the CLI on a store with remotes) sets it.
  package var objectFallback: ObjectFallback? {
    get { objects.fallback.current }
    set { objects.fallback.current = newValue }
  }

  /// Whether the object file is present locally (no fallback is asked).
  package func hasObject(_ id: ObjectID) -> Bool { objects.contains(id) }

  /// The path of an object's file, for streaming it elsewhere unchanged.
  package func objectFilePath(_ id: ObjectID) -> String { objects.path(for: id) }

  /// The object's file exactly as stored (header and encoded body), not decoded.
  package func objectFile(_ id: ObjectID) throws -> [UInt8] {
    let p = objects.path(for: id)
    guard FileIO.exists(p) else {
      throw StoreError(.objectNotFound, "object \(id.hex) is missing")
    }
    return try FileIO.read(p)
  }

  /// Verifies an object file received from a remote and stores it: the same checks as a local
  /// read (header, declared length, decoding, SHA-256 against `id`), so nothing unverified ever
  /// lands in `objects/`. A delta chunk's base must already be here.
  package func receiveObject(_ id: ObjectID, file: [UInt8]) throws {
    try objects.receive(id, file: file)
  }

  /// Checks an object file: header, declared length, decoding and SHA-256 against `id`; `base`
  /// reads a delta's base chunk into the buffer given. Returns the object's kind.
  @discardableResult
  package static func verifyObjectFile(
    _ file: [UInt8], id: ObjectID,
    base: (ObjectID, UnsafeMutableRawBufferPointer) throws -> Void
  ) throws -> ObjectKind {
    try decodeObjectFile(file, id: id, base: base).kind
  }

  /// Decodes and verifies an object file as `verifyObjectFile` does; returns its kind and
  /// payload.
  package static func decodeObjectFile(
    _ file: [UInt8], id: ObjectID,
    base: (ObjectID, UnsafeMutableRawBufferPointer) throws -> Void
  ) throws -> (kind: ObjectKind, payload: [UInt8]) {
    guard file.count >= ObjectHeader.size else {
      throw StoreError(
        .corruptObject, "object \(id.hex): file is \(file.count) bytes, shorter than a header")
    }
    let header = try ObjectHeader.decode(file, object: id.hex)
    let declared = file.withUnsafeBytes {
      ChunkCodec.declaredLength(
        UnsafeRawBufferPointer(rebasing: $0[ObjectHeader.size...]), header: header)
    }
    guard declared == header.length else {
      throw StoreError(
        .corruptObject, "object \(id.hex): header says \(header.length) bytes, the data does not")
    }
    var payload = [UInt8].uninitialized(count: Int(header.length))
    try payload.withUnsafeMutableBytes { out in
      try file.withUnsafeBytes { raw in
        try ChunkCodec.decode(
          UnsafeRawBufferPointer(rebasing: raw[ObjectHeader.size...]), header: header, into: out,
          object: id.hex, base: base)
      }
    }
    let actual = SHA256.hash(payload)
    guard actual == id else {
      throw StoreError(.corruptObject, "object \(id.hex): content hashes to \(actual.hex)")
    }
    return (header.kind, payload)
  }

  /// The base a delta chunk's file names, or nil for any other object file.
  package static func deltaBase(ofFile file: [UInt8]) -> ObjectID? {
    guard file.count >= ObjectHeader.size + 32,
      let header = try? ObjectHeader.decode(file, object: ""),
      header.codec == .deltaGroupedZstd
    else { return nil }
    return ObjectID(bytes: Array(file[ObjectHeader.size..<ObjectHeader.size + 32]))
  }

  /// Decodes a commit object's file after verifying it.
  package static func decodeCommitFile(_ file: [UInt8], id: ObjectID) throws -> Commit {
    let kind = try verifyObjectFile(file, id: id) { base, _ in
      throw StoreError(.corruptObject, "object \(id.hex) is a delta, expected a commit")
    }
    guard kind == .commit else {
      throw StoreError(.corruptObject, "object \(id.hex) is a \(kind), expected a commit")
    }
    return try Commit.decode(Array(file[ObjectHeader.size...]), id: id)
  }

  /// The entries of a tree object's file, after verifying it: subtrees and chunk ids.
  package static func treeReferences(ofFile file: [UInt8], id: ObjectID) throws -> (
    trees: [ObjectID], chunks: [ObjectID]
  ) {
    let kind = try verifyObjectFile(file, id: id) { _, _ in
      throw StoreError(.corruptObject, "object \(id.hex) is a delta, expected a tree")
    }
    guard kind == .tree else {
      throw StoreError(.corruptObject, "object \(id.hex) is a \(kind), expected a tree")
    }
    var trees: [ObjectID] = []
    var chunks: [ObjectID] = []
    for (_, entry) in try Tree.decode(Array(file[ObjectHeader.size...]), id: id).entries {
      switch entry {
      case .tree(let sub): trees.append(sub)
      case .tensor(let info): chunks.append(contentsOf: info.chunks)
      }
    }
    return (trees, chunks)
  }

  /// Every object a commit's data needs, read from local trees: its trees, its chunks and the
  /// bases of its delta chunks; bases come before the deltas that need them. Throws when a
  /// tree or chunk is missing here.
  package func dataObjects(of commit: Commit) throws -> [ObjectID] {
    var out: [ObjectID] = []
    var seen = Set<ObjectID>()
    var chunks: [ObjectID] = []
    var stack = [commit.tree]
    while let id = stack.popLast() {
      guard seen.insert(id).inserted else { continue }
      out.append(id)
      for (_, entry) in try tree(id).entries {
        switch entry {
        case .tree(let sub): stack.append(sub)
        case .tensor(let info): chunks.append(contentsOf: info.chunks)
        }
      }
    }
    for id in chunks where seen.insert(id).inserted {
      guard objects.contains(id) else {
        throw StoreError(
          .objectNotFound, "object \(id.hex) of commit \(commit.id.short) is missing")
      }
      if configuration.deltaAgainstParent, let base = try objects.deltaBase(of: id),
        seen.insert(base).inserted
      {
        out.append(base)
      }
      out.append(id)
    }
    return out
  }
}
