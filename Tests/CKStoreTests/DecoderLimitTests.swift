import Foundation
import Testing

@testable import CKStore

/// Damaged records and revisions that once crashed a decoder or the revision parser (found by
/// scripts/fuzz.sh) are refused with a typed error instead.
@Suite struct DecoderLimitTests {
  /// A tree with one int8 tensor entry "x" of `byteCount` bytes in chunks of `chunkBytes`,
  /// listing `chunkCount` (all-zero) chunk ids.
  static func tree(byteCount: Int, chunkBytes: Int, chunkCount: UInt32) -> [UInt8] {
    var w = ByteWriter()
    w.raw(Tree.magic)
    w.u32(1)
    w.u8(2)
    w.u16(1)
    w.raw(Array("x".utf8))
    w.u8(DType.int8.rawValue)
    w.u8(1)
    w.u64(UInt64(byteCount))
    w.u64(UInt64(byteCount))
    w.u64(UInt64(chunkBytes))
    w.u32(chunkCount)
    for _ in 0..<chunkCount { w.raw([UInt8](repeating: 0, count: 32)) }
    return w.bytes
  }

  @Test func aChunkRangePastIntMaxIsCorruptNotAnOverflowTrap() throws {
    // Two chunks of Int.max − 1 bytes: the second range's end overflowed Int.
    let bytes = Self.tree(byteCount: .max, chunkBytes: .max - 1, chunkCount: 2)
    let error = #expect(throws: StoreError.self) {
      try Tree.decode(bytes, id: SHA256.hash(bytes))
    }
    #expect(error?.code == .corruptObject)
    #expect(error?.message.contains("tensor 'x' lists 2 chunks") == true)
  }

  @Test func aChunkCountThatDisagreesWithTheSizeIsRefusedBeforeListingRanges() throws {
    // 2^40 one-byte chunks declared, one listed: listing the ranges alone would need 16 TiB.
    let bytes = Self.tree(byteCount: 1 << 40, chunkBytes: 1, chunkCount: 1)
    let error = #expect(throws: StoreError.self) {
      try Tree.decode(bytes, id: SHA256.hash(bytes))
    }
    #expect(error?.code == .corruptObject)
  }

  @Test func theLargestConsistentEntriesStillDecode() throws {
    // The guard is exact: chunks whose ends all fit an Int are fine.
    let bytes = Self.tree(byteCount: (1 << 62) + 5, chunkBytes: 1 << 61, chunkCount: 3)
    let tree = try Tree.decode(bytes, id: SHA256.hash(bytes))
    guard case .tensor(let info) = tree.entries.first?.entry else {
      Issue.record("expected a tensor entry")
      return
    }
    #expect(
      info.chunkRanges == [0..<(1 << 61), (1 << 61)..<(1 << 62), (1 << 62)..<((1 << 62) + 5)])
  }

  @Test func aRevisionOfManyTildesIsAnErrorNotAStackOverflow() throws {
    let t = try TempStore()
    let tensor = try TensorData(name: "w", shape: [1], float32: [1])
    let first = try t.store.commit([tensor], to: "main", step: 1)
    let second = try t.store.commit([tensor], to: "main", step: 2)
    // Each `~` was one level of recursion.
    let deep = "main" + String(repeating: "~", count: 100_000)
    let error = #expect(throws: StoreError.self) { try t.store.resolve(deep) }
    #expect(error?.code == .unknownRevision)
    #expect(error?.message.contains("\(first.id.short) has no parent") == true)
    #expect(try t.store.resolve("main" + String(repeating: "~0", count: 100_000) + "~") == first)
    #expect(try t.store.resolve("main~0~1") == first)
    #expect(try t.store.resolve("main~0") == second)
    // Counts that add up past Int.max saturate instead of trapping.
    #expect(throws: StoreError.self) { try t.store.resolve("main~\(Int.max)~1") }
  }

  @Test(arguments: ["object-delta-body-shorter-than-base-id", "object-zstd-frame-declares-1TiB"])
  func theFuzzReproducersAreRefusedAsCorrupt(name: String) throws {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    let file = here.appendingPathComponent("../Fuzz/crashes/" + name).standardized
    let bytes = [UInt8](try Data(contentsOf: file))
    let t = try TempStore()
    let id = SHA256.hash([UInt8]("planted".utf8))
    try FileManager.default.createDirectory(
      atPath: (t.objectPath(id) as NSString).deletingLastPathComponent,
      withIntermediateDirectories: true)
    try Files.write(bytes, to: t.objectPath(id))
    #expect(throws: StoreError.self) { try t.store.objects.get(id) }
    let header = try ObjectHeader.decode(bytes, object: name)
    if header.length <= 1 << 20 {
      var out = [UInt8](repeating: 0, count: Int(header.length))
      #expect(throws: StoreError.self) {
        try out.withUnsafeMutableBytes { try t.store.objects.read(chunk: id, into: $0) }
      }
    }
  }
}
