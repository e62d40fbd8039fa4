import Foundation
import Testing

@testable import CKStore

/// Known-answer vectors for the on-disk format (docs/FORMAT.md, "Worked example: known-answer
/// vectors"). The expected bytes and ids are literals, computed from the spec rather than by this
/// code, so a change made to an encoder and its decoder together still fails here.
///
/// zstd frames depend on the libzstd version, so for codecs 1–3 the vectors pin the header, the
/// buffer inside the frame (the grouped bytes, the grouped XOR) and the id, and check that a
/// committed literal frame decodes to the payload; they never pin the encoder's frame bytes.
@Suite struct FormatVectorTests {
  // MARK: The vectors (the same hex as docs/FORMAT.md)

  /// Codec 0: `raw`, uint8 [8].
  static let rawPayload = hex("0001020304050607")
  static let rawID = "8a851ff82ee7048ad09ec3847f1ddf44944104d2cbd17ef4e3db22c6785a0d45"
  static let rawFile = hex("434b4f42 01 01 00 00 0800000000000000  0001020304050607")

  /// Codec 1: `counts`, int32 [16], every element 7.
  static let intsPayload = hex(
    """
    0700000007000000070000000700000007000000070000000700000007000000
    0700000007000000070000000700000007000000070000000700000007000000
    """)
  static let intsID = "435d64dc32ba71c995f30ec2f46283847c82ed3b487559c9826cf4e6d33f9bc2"
  static let intsHeader = hex("434b4f42 01 01 01 00 4000000000000000")
  /// One zstd frame holding `intsPayload` (libzstd 1.5.4, level 1).
  static let intsFrame = hex("28b52ffd204055000020070000000100597244")

  /// Codec 2: `model.w`, float32 [4, 4], rows of (1, -2, 0.5, 3).
  static let floatsPayload = hex(
    """
    0000803f000000c00000003f000040400000803f000000c00000003f00004040
    0000803f000000c00000003f000040400000803f000000c00000003f00004040
    """)
  static let floatsID = "111274de4d50eb9b7cd9d7970e4c861a5775e29a994c2ca16ca68a52c5c52630"
  static let floatsHeader = hex("434b4f42 01 01 02 04 4000000000000000")
  /// The byte planes of `floatsPayload` (width 4): what the frame holds.
  static let floatsGrouped = hex(
    """
    0000000000000000000000000000000000000000000000000000000000000000
    800000408000004080000040800000403fc03f403fc03f403fc03f403fc03f40
    """)
  static let floatsFrame = hex("28b52ffd20409d0000480000800000403fc03f0300e0183b8e88000b")

  /// Codec 3: `w`, float32 [16], committed twice to a delta store; the second commit halves
  /// element 5. The first is incompressible (stored raw) and becomes the base.
  static let basePayload = hex(
    """
    0000803fbc1bcf3f79379e3f3653ed3ff36ebc3fb08a8b3f6da6da3f29c2a93f
    e6ddf83fa3f9c73f6015973f1d31e63fda4cb53f9668843f5384d33f10a0a23f
    """)
  static let baseID = "eeea411961d073e04e7bbc6d1bc2e8420b9858b92874131915c409c6d6f63e29"
  static let deltaPayload = hex(
    """
    0000803fbc1bcf3f79379e3f3653ed3ff36ebc3fb08a0b3f6da6da3f29c2a93f
    e6ddf83fa3f9c73f6015973f1d31e63fda4cb53f9668843f5384d33f10a0a23f
    """)
  static let deltaID = "eef6005c110364395d92c0d04c025dbcaa8b200a3af204e3ceef355f0f785d09"
  static let deltaHeader = hex("434b4f42 01 01 03 04 4000000000000000")
  /// The byte planes of payload XOR base: one set bit, in plane 2 of element 5.
  static let deltaXorGrouped = hex(
    """
    0000000000000000000000000000000000000000000000000000000000000000
    0000000000800000000000000000000000000000000000000000000000000000
    """)
  static let deltaFrame = hex("28b52ffd20406500002000008000020060c1488005")

  /// The tree `model.` holding `w` (the codec-2 tensor).
  static let subtreePayload = hex(
    """
    434b545201000000020100770102040000000000000004000000000000004000
    000000000000000010000000000001000000111274de4d50eb9b7cd9d7970e4c
    861a5775e29a994c2ca16ca68a52c5c52630
    """)
  static let subtreeID = "ae6ec8a825c1b41b00810f083249f50a3a6f30d90f4e498d1f3659ff80b50aea"
  /// The root tree: `counts`, the subtree `model.`, `raw`.
  static let rootPayload = hex(
    """
    434b545203000000020600636f756e7473070110000000000000004000000000
    000000000010000000000001000000435d64dc32ba71c995f30ec2f46283847c
    82ed3b487559c9826cf4e6d33f9bc20106006d6f64656c2eae6ec8a825c1b41b
    00810f083249f50a3a6f30d90f4e498d1f3659ff80b50aea0203007261770901
    080000000000000008000000000000000000100000000000010000008a851ff8
    2ee7048ad09ec3847f1ddf44944104d2cbd17ef4e3db22c6785a0d45
    """)
  static let rootID = "553e0cf79edbc12e4a431b48a8a8c243fc497e5bcad64eccdbeb632869a3c9ae"

  /// A root commit of the root tree and one child of it.
  static let commitPayload = hex(
    """
    434b434d553e0cf79edbc12e4a431b48a8a8c243fc497e5bcad64eccdbeb6328
    69a3c9ae00000000640000000000000000a8da769b0100008800000000000000
    e803000000000000140000006b6e6f776e2d616e7377657220766563746f7273
    01000000040000006c6f7373000000000000d03f01000000020000006c720500
    0000302e303031
    """)
  static let commitID = "31932fd7502c4640876c9436b46e216e113cfc4db8a7a884576f4b89000f5623"
  static let childPayload = hex(
    """
    434b434d553e0cf79edbc12e4a431b48a8a8c243fc497e5bcad64eccdbeb6328
    69a3c9ae0100000031932fd7502c4640876c9436b46e216e113cfc4db8a7a884
    576f4b89000f56236500000000000000e8abda769b0100008800000000000000
    0000000000000000000000000000000000000000
    """)
  static let childID = "961ad9565cc18daa37c5bc52a6cc6289befbdf688c51f15e1bbceb9f1f29a402"

  static let commitValue = Commit(
    id: ObjectID(hex: commitID)!, tree: ObjectID(hex: rootID)!, parents: [], step: 100,
    time: Date(timeIntervalSince1970: 1_767_225_600), message: "known-answer vectors",
    metrics: ["loss": 0.25], metadata: ["lr": "0.001"], logicalBytes: 136, addedBytes: 1000)
  static let childValue = Commit(
    id: ObjectID(hex: childID)!, tree: ObjectID(hex: rootID)!, parents: [ObjectID(hex: commitID)!],
    step: 101, time: Date(timeIntervalSince1970: 1_767_225_601), message: "", metrics: [:],
    metadata: [:], logicalBytes: 136, addedBytes: 0)

  /// The snapshot whose objects the vectors describe.
  static func snapshot() throws -> [TensorData] {
    [
      try TensorData(name: "raw", dtype: .uint8, shape: [8], bytes: rawPayload),
      try TensorData(name: "counts", dtype: .int32, shape: [16], bytes: intsPayload),
      try TensorData(name: "model.w", dtype: .float32, shape: [4, 4], bytes: floatsPayload),
    ]
  }

  // MARK: Tests

  @Test func idsAreTheSHA256OfThePayloads() {
    for (payload, id) in [
      (Self.rawPayload, Self.rawID), (Self.intsPayload, Self.intsID),
      (Self.floatsPayload, Self.floatsID), (Self.basePayload, Self.baseID),
      (Self.deltaPayload, Self.deltaID), (Self.subtreePayload, Self.subtreeID),
      (Self.rootPayload, Self.rootID), (Self.commitPayload, Self.commitID),
      (Self.childPayload, Self.childID),
    ] {
      #expect(SHA256.hash(payload).hex == id)
    }
  }

  @Test func objectHeadersEncodeAndDecodeToTheVectorBytes() throws {
    let cases: [(ObjectHeader, [UInt8])] = [
      (ObjectHeader(kind: .chunk, codec: .none, length: 8), Array(Self.rawFile.prefix(16))),
      (ObjectHeader(kind: .chunk, codec: .zstd, length: 64), Self.intsHeader),
      (
        ObjectHeader(kind: .chunk, codec: .groupedZstd, parameter: 4, length: 64), Self.floatsHeader
      ),
      (
        ObjectHeader(kind: .chunk, codec: .deltaGroupedZstd, parameter: 4, length: 64),
        Self.deltaHeader
      ),
      (
        ObjectHeader(kind: .chunk, codec: .planes, parameter: 4, length: 64),
        Self.floatsPlanesHeader
      ),
      (
        ObjectHeader(kind: .tree, codec: .none, length: 188),
        hex("434b4f42 01 02 00 00 bc00000000000000")
      ),
      (
        ObjectHeader(kind: .commit, codec: .none, length: 135),
        hex("434b4f42 01 03 00 00 8700000000000000")
      ),
    ]
    for (header, bytes) in cases {
      #expect(header.encoded() == bytes)
      let decoded = try ObjectHeader.decode(bytes, object: "vector")
      #expect(decoded.kind == header.kind)
      #expect(decoded.codec == header.codec)
      #expect(decoded.parameter == header.parameter)
      #expect(decoded.length == header.length)
    }
  }

  @Test func aCommittedSnapshotWritesTheVectorChunksAndTrees() throws {
    let t = try TempStore()
    let commit = try t.store.commit(try Self.snapshot(), to: "main", step: 100)
    #expect(commit.tree.hex == Self.rootID)

    // Raw chunks and trees are stored as they are: the whole file is pinned.
    #expect(try Files.read(t.objectPath(ObjectID(hex: Self.rawID)!)) == Self.rawFile)
    let treeHeader = { (n: Int) in ObjectHeader(kind: .tree, codec: .none, length: UInt64(n)) }
    #expect(
      try Files.read(t.objectPath(ObjectID(hex: Self.rootID)!))
        == treeHeader(Self.rootPayload.count).encoded() + Self.rootPayload)
    #expect(
      try Files.read(t.objectPath(ObjectID(hex: Self.subtreeID)!))
        == treeHeader(Self.subtreePayload.count).encoded() + Self.subtreePayload)

    // Compressed chunks: which codec the writer picks depends on what libzstd makes of them
    // (codec 4 or raw today), so the kind, length and element width are pinned, not the codec.
    for (id, width) in [(Self.intsID, 4), (Self.floatsID, 4)] {
      let file = try Files.read(t.objectPath(ObjectID(hex: id)!))
      let header = try ObjectHeader.decode(file, object: id)
      #expect(header.kind == .chunk && header.length == 64)
      #expect([Codec.none, .planes].contains(header.codec))
      if header.codec == .planes { #expect(header.parameter == UInt8(width)) }
    }

    #expect(try t.store.readSnapshot(commit) == (try Self.snapshot()).sorted { $0.name < $1.name })
  }

  @Test func literalChunkFilesDecodeToTheirPayloads() throws {
    let t = try TempStore()
    let cases: [(file: [UInt8], id: String, payload: [UInt8])] = [
      (Self.rawFile, Self.rawID, Self.rawPayload),
      (Self.intsHeader + Self.intsFrame, Self.intsID, Self.intsPayload),
      (Self.floatsHeader + Self.floatsFrame, Self.floatsID, Self.floatsPayload),
    ]
    for c in cases {
      let id = ObjectID(hex: c.id)!
      try Self.plant(c.file, id: id, in: t)
      #expect(try t.store.objects.get(id, as: .chunk) == c.payload)
    }
  }

  /// Codec 4: `model.w` again, as byte planes. All four planes raw: 4 records (mode 0, length 16),
  /// then the planes.
  static let floatsPlanesHeader = hex("434b4f42 01 01 04 04 4000000000000000")
  static let floatsPlanesRaw =
    hex("00 10000000  00 10000000  00 10000000  00 10000000") + floatsGrouped
  /// The two all-zero planes as zstd frames instead: a 10-byte frame each (single segment,
  /// content size 16, one last RLE block of sixteen 0x00), the other two raw.
  static let zeroPlaneFrame = hex("28b52ffd 20 10 830000 00")
  static let floatsPlanesMixed =
    hex("01 0a000000  01 0a000000  00 10000000  00 10000000") + zeroPlaneFrame + zeroPlaneFrame
    + Array(floatsGrouped[32...])

  @Test func bytePlaneChunksDecodeFromTheVectorBytes() throws {
    #expect(
      ObjectHeader(kind: .chunk, codec: .planes, parameter: 4, length: 64).encoded()
        == Self.floatsPlanesHeader)
    let t = try TempStore()
    let id = ObjectID(hex: Self.floatsID)!
    for body in [Self.floatsPlanesRaw, Self.floatsPlanesMixed] {
      try Self.plant(Self.floatsPlanesHeader + body, id: id, in: t)
      #expect(try t.store.objects.get(id, as: .chunk) == Self.floatsPayload)
    }
    // A plane length that runs past the object, and an unknown mode, are damage.
    var long = Self.floatsPlanesRaw
    long[1] = 0x11
    var mode = Self.floatsPlanesRaw
    mode[0] = 7
    for body in [long, mode] {
      try Self.plant(Self.floatsPlanesHeader + body, id: id, in: t)
      #expect(throws: StoreError.self) { try t.store.objects.get(id, as: .chunk) }
    }
  }

  @Test func deltaChunksMatchTheVector() throws {
    let t = try TempStore(configuration: StoreConfiguration(deltaAgainstParent: true))
    try t.store.commit(
      [try TensorData(name: "w", dtype: .float32, shape: [16], bytes: Self.basePayload)],
      to: "main", step: 1)
    let second = try t.store.commit(
      [try TensorData(name: "w", dtype: .float32, shape: [16], bytes: Self.deltaPayload)],
      to: "main", step: 2)
    #expect(try t.store.tensorInfo(named: "w", in: second).chunks.map(\.hex) == [Self.deltaID])
    let base = try Files.read(t.objectPath(ObjectID(hex: Self.baseID)!))
    #expect(
      base == ObjectHeader(kind: .chunk, codec: .none, length: 64).encoded() + Self.basePayload)
    let delta = try Files.read(t.objectPath(ObjectID(hex: Self.deltaID)!))
    #expect(Array(delta.prefix(16)) == Self.deltaHeader)
    #expect(Array(delta[16..<48]) == hex(Self.baseID))
    #expect(try Self.unzstd(Array(delta.dropFirst(48)), count: 64) == Self.deltaXorGrouped)

    // A literal delta file, against the literal base, in a store that never wrote either.
    let fresh = try TempStore()
    try Self.plant(base, id: ObjectID(hex: Self.baseID)!, in: fresh)
    let deltaID = ObjectID(hex: Self.deltaID)!
    try Self.plant(Self.deltaHeader + hex(Self.baseID) + Self.deltaFrame, id: deltaID, in: fresh)
    #expect(try fresh.store.objects.get(deltaID, as: .chunk) == Self.deltaPayload)
  }

  @Test func treesDecodeFromTheVectorBytes() throws {
    let root = try Tree.decode(Self.rootPayload, id: ObjectID(hex: Self.rootID)!)
    #expect(root.entries.map(\.key) == ["counts", "model.", "raw"])
    #expect(root.entries[1].entry == .tree(ObjectID(hex: Self.subtreeID)!))
    #expect(
      root.entries[0].entry
        == .tensor(
          TensorInfo(
            name: "counts", dtype: .int32, shape: [16], byteCount: 64, chunkBytes: 1 << 20,
            chunks: [ObjectID(hex: Self.intsID)!])))
    #expect(root.encoded() == Self.rootPayload)
    let sub = try Tree.decode(Self.subtreePayload, id: ObjectID(hex: Self.subtreeID)!)
    #expect(
      sub.entries.map(\.entry) == [
        .tensor(
          TensorInfo(
            name: "w", dtype: .float32, shape: [4, 4], byteCount: 64, chunkBytes: 1 << 20,
            chunks: [ObjectID(hex: Self.floatsID)!]))
      ])
  }

  @Test func commitsEncodeAndDecodeToTheVectorBytes() throws {
    #expect(Self.commitValue.encoded() == Self.commitPayload)
    #expect(Self.childValue.encoded() == Self.childPayload)
    #expect(try Commit.decode(Self.commitPayload, id: Self.commitValue.id) == Self.commitValue)
    #expect(try Commit.decode(Self.childPayload, id: Self.childValue.id) == Self.childValue)

    // Through the store's read path, from literal object files.
    let t = try TempStore()
    for (payload, value) in [
      (Self.commitPayload, Self.commitValue), (Self.childPayload, Self.childValue),
    ] {
      let header = ObjectHeader(kind: .commit, codec: .none, length: UInt64(payload.count))
      try Self.plant(header.encoded() + payload, id: value.id, in: t)
      #expect(try t.store.commit(value.id) == value)
    }
  }

  // MARK: Helpers

  /// Writes an object file as a writer would have left it.
  static func plant(_ file: [UInt8], id: ObjectID, in t: TempStore) throws {
    let path = t.objectPath(id)
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Files.write(file, to: path)
  }

  static func unzstd(_ frame: [UInt8], count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    try frame.withUnsafeBytes { f in
      try out.withUnsafeMutableBytes { try Zstd.decompress(f, into: $0, object: "vector") }
    }
    return out
  }
}

/// Bytes from hex digits; whitespace is ignored so vectors can be laid out in fields and lines.
private func hex(_ text: String) -> [UInt8] {
  let digits = Array(text.unicodeScalars.filter { !$0.properties.isWhitespace })
  precondition(digits.count % 2 == 0, "odd number of hex digits in a test vector")
  return stride(from: 0, to: digits.count, by: 2).map {
    UInt8(String(String.UnicodeScalarView(digits[$0..<$0 + 2])), radix: 16)!
  }
}
