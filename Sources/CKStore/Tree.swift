/// One entry of a manifest tree: a named subtree or a tensor.
enum TreeEntry: Equatable {
  case tree(ObjectID)
  case tensor(TensorInfo)
}

/// A manifest tree object: entries sorted by key bytes, encoded deterministically
/// (docs/FORMAT.md, "Tree").
struct Tree: Equatable {
  static let magic: [UInt8] = Array("CKTR".utf8)

  /// Entries sorted by the UTF-8 bytes of their key.
  var entries: [(key: String, entry: TreeEntry)]

  static func == (a: Tree, b: Tree) -> Bool {
    a.entries.count == b.entries.count
      && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.entry == $1.entry }
  }

  func encoded() -> [UInt8] {
    var w = ByteWriter()
    w.raw(Self.magic)
    w.u32(UInt32(entries.count))
    for (key, entry) in entries {
      let utf8 = Array(key.utf8)
      switch entry {
      case .tree(let id):
        w.u8(1)
        w.u16(UInt16(utf8.count))
        w.raw(utf8)
        w.id(id)
      case .tensor(let t) where !t.slices.isEmpty:
        w.u8(3)
        w.u16(UInt16(utf8.count))
        w.raw(utf8)
        Self.encodeSliced(t, into: &w)
      case .tensor(let t):
        w.u8(2)
        w.u16(UInt16(utf8.count))
        w.raw(utf8)
        w.u8(t.dtype.rawValue)
        w.u8(UInt8(t.shape.count))
        for d in t.shape { w.u64(UInt64(d)) }
        w.u64(UInt64(t.byteCount))
        w.u64(UInt64(t.chunkBytes))
        w.u32(UInt32(t.chunks.count))
        for c in t.chunks { w.id(c) }
      }
    }
    return w.bytes
  }

  /// Decodes a tree; tensor names in it are the bare keys.
  static func decode(_ bytes: [UInt8], id: ObjectID) throws -> Tree {
    var r = ByteReader(bytes, object: id.hex)
    func corrupt(_ why: String) -> StoreError {
      StoreError(.corruptObject, "tree \(id.hex): \(why)")
    }
    guard try r.raw(4) == magic else { throw corrupt("bad magic") }
    let count = Int(try r.u32())
    var entries: [(String, TreeEntry)] = []
    var previous: [UInt8]? = nil
    for _ in 0..<count {
      let kind = try r.u8()
      let keyBytes = try r.raw(Int(try r.u16()))
      guard let key = String(validating: keyBytes, as: UTF8.self) else {
        throw corrupt("key is not UTF-8")
      }
      if let previous, !previous.lexicographicallyPrecedes(keyBytes) {
        throw corrupt("keys out of order at '\(key)'")
      }
      previous = keyBytes
      switch kind {
      case 1:
        entries.append((key, .tree(try r.id())))
      case 2:
        guard let dtype = DType(rawValue: try r.u8()) else { throw corrupt("unknown dtype") }
        let rank = Int(try r.u8())
        var shape: [Int] = []
        for _ in 0..<rank { shape.append(try r.size()) }
        let byteCount = try r.size()
        let chunkBytes = try r.size()
        let chunks = try Self.decodeChunks(
          &r, byteCount: byteCount, chunkBytes: chunkBytes, what: "tensor '\(key)'", corrupt)
        let info = TensorInfo(
          name: key, dtype: dtype, shape: shape, byteCount: byteCount,
          chunkBytes: chunkBytes, chunks: chunks)
        guard info.isConsistent else {
          throw corrupt("tensor '\(info.name)' has inconsistent shape, size or chunks")
        }
        entries.append((key, .tensor(info)))
      case 3:
        let info = try Self.decodeSliced(&r, key: key, corrupt)
        guard info.isConsistent else {
          throw corrupt(
            "sliced tensor '\(key)' has a slice outside its shape or inconsistent chunks")
        }
        entries.append((key, .tensor(info)))
      default:
        throw corrupt("unknown entry kind \(kind)")
      }
    }
    guard r.isAtEnd else { throw corrupt("trailing bytes") }
    let tree = Tree(entries: entries)
    // Trees are canonical (one encoding per content, or ids would not dedupe): bytes whose
    // fields decode but would be written otherwise are damaged (found by fuzzing sliced entries).
    guard tree.encoded() == bytes else { throw corrupt("not in canonical form") }
    return tree
  }
}

extension Tree {
  /// Kind 3 after the key: dtype, global shape, then each slice's part, region and chunk table.
  fileprivate static func encodeSliced(_ t: TensorInfo, into w: inout ByteWriter) {
    w.u8(t.dtype.rawValue)
    w.u8(UInt8(t.shape.count))
    for d in t.shape { w.u64(UInt64(d)) }
    w.u32(UInt32(t.slices.count))
    for s in t.slices {
      w.u32(UInt32(s.part))
      for o in s.region.offset { w.u64(UInt64(o)) }
      for e in s.region.extent { w.u64(UInt64(e)) }
      w.u64(UInt64(s.chunkBytes))
      w.u32(UInt32(s.chunks.count))
      for c in s.chunks { w.id(c) }
    }
  }

  fileprivate static func decodeSliced(
    _ r: inout ByteReader, key: String, _ corrupt: (String) -> StoreError
  ) throws -> TensorInfo {
    guard let dtype = DType(rawValue: try r.u8()) else { throw corrupt("unknown dtype") }
    let rank = Int(try r.u8())
    var shape: [Int] = []
    for _ in 0..<rank { shape.append(try r.size()) }
    guard let total = TensorInfo.byteCount(dtype: dtype, shape: shape), !dtype.isSubByte else {
      throw corrupt("sliced tensor '\(key)' has an impossible shape \(shape) for \(dtype)")
    }
    let count = Int(try r.u32())
    var slices: [TensorSlice] = []
    for _ in 0..<count {
      let part = Int(try r.u32())
      var offset: [Int] = []
      var extent: [Int] = []
      for _ in 0..<rank { offset.append(try r.size()) }
      for _ in 0..<rank { extent.append(try r.size()) }
      let region = TensorRegion(offset: offset, extent: extent)
      guard region.fits(shape) else {
        throw corrupt(
          "sliced tensor '\(key)': slice \(region) of rank \(part) lies outside \(shape)")
      }
      let chunkBytes = try r.size()
      // Fits inside the global tensor, so the product cannot overflow.
      let byteCount = region.elementCount * dtype.size
      let chunks = try decodeChunks(
        &r, byteCount: byteCount, chunkBytes: chunkBytes,
        what: "slice \(region) of tensor '\(key)'", corrupt)
      slices.append(TensorSlice(region: region, part: part, chunkBytes: chunkBytes, chunks: chunks))
    }
    var info = TensorInfo.sliced(name: key, dtype: dtype, shape: shape, slices: slices)
    info.byteCount = total
    return info
  }

  /// A chunk table of `byteCount` bytes in chunks of `chunkBytes`. The count is checked by
  /// arithmetic before any list is built: a damaged entry must neither make a reader list 2^40
  /// ranges nor overflow computing the last one.
  fileprivate static func decodeChunks(
    _ r: inout ByteReader, byteCount: Int, chunkBytes: Int, what: String,
    _ corrupt: (String) -> StoreError
  ) throws -> [ObjectID] {
    let chunkCount = Int(try r.u32())
    let expectedChunks =
      chunkBytes == 0 ? 0 : byteCount / chunkBytes + (byteCount % chunkBytes == 0 ? 0 : 1)
    guard chunkCount == expectedChunks,
      !chunkBytes.multipliedReportingOverflow(by: expectedChunks).overflow
    else {
      throw corrupt(
        "\(what) lists \(chunkCount) chunks for \(byteCount) bytes in chunks of \(chunkBytes)")
    }
    var chunks: [ObjectID] = []
    for _ in 0..<chunkCount { chunks.append(try r.id()) }
    return chunks
  }
}
