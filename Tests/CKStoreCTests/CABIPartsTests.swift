import CKStoreCABI
import Foundation
import Testing

/// `ckstore_commit_part` and `ckstore_read_region`: two parts of row slices make one commit, a
/// region read decodes only what overlaps it, and bad arguments come back as codes naming the
/// tensor (the Python tests drive the same calls from 4 processes).
@Suite struct CABIPartsTests {
  /// Rows 0..<32 or 32..<64 of a [64, 16] uint8 tensor whose byte i is i mod 256.
  static func rows(_ part: Int) -> [UInt8] { (0..<512).map { UInt8((part * 512 + $0) & 0xFF) } }

  /// Commits part `part` of 2 through the C ABI; `offsets` nil drops the offset array.
  static func commitPart(
    _ s: CStore, _ part: Int32, offsets: Bool = true
  ) -> (Outcome, committed: Int32, id: String) {
    var id = [CChar](repeating: 0, count: Int(CKSTORE_ID_SIZE))
    var committed: Int32 = -1
    let global: [Int64] = [64, 16]
    let offset: [Int64] = [Int64(part) * 32, 0]
    let outcome = withCTensors([("emb", 9, [32, 16], rows(Int(part)))]) { ts in
      global.withUnsafeBufferPointer { g in
        offset.withUnsafeBufferPointer { o in
          let globals: [UnsafePointer<Int64>?] = [g.baseAddress]
          let offsetArray: [UnsafePointer<Int64>?] = [o.baseAddress]
          return call {
            ckstore_commit_part(
              s.handle, "main", 7, part, 2, "part", ts, ts.count, globals,
              offsets ? offsetArray : nil, nil, nil, 0, nil, nil, 0, &committed, &id, $0)
          }
        }
      }
    }
    return (outcome, committed, String(cString: id))
  }

  @Test func twoPartsCommitAndARegionReadsOnlyItsChunks() throws {
    let s = try CStore(chunkSize: 64)
    let first = Self.commitPart(s, 0)
    #expect(first.0.status == 0 && first.committed == 0 && first.id.isEmpty)
    let second = Self.commitPart(s, 1)
    #expect(second.0.status == 0 && second.committed == 1, "\(second.0.message ?? "")")
    let (read, whole) = readTensor(s, "main", "emb", size: 1024)
    #expect(read.status == 0 && whole == Self.rows(0) + Self.rows(1))
    // Rows 30..<34, columns 1..<3: 8 bytes, from two 64-byte chunks (rows 28–31 of part 0 and
    // 32–35 of part 1) of the sixteen.
    var box = [UInt8](repeating: 0, count: 8)
    var chunks: UInt64 = 0
    var bytes: UInt64 = 0
    let offset: [Int64] = [30, 1]
    let extent: [Int64] = [4, 2]
    let region = box.withUnsafeMutableBytes { b in
      call {
        ckstore_read_region(
          s.handle, "main", "emb", 2, offset, extent, b.baseAddress, 8, &chunks, &bytes, $0)
      }
    }
    #expect(region.status == 0, "\(region.message ?? "")")
    var expected: [UInt8] = []
    for r in 30..<34 {
      for c in 1..<3 { expected.append(UInt8((r * 16 + c) & 0xFF)) }
    }
    #expect(box == expected)
    #expect(chunks == 2 && bytes == 128)
  }

  @Test func badArgumentsNameTheTensor() throws {
    let s = try CStore(chunkSize: 64)
    let noOffset = Self.commitPart(s, 0, offsets: false)
    #expect(noOffset.0.status == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(noOffset.0.message?.contains("'emb'") == true)
    _ = Self.commitPart(s, 0)
    _ = Self.commitPart(s, 1)
    var byte: UInt8 = 0
    let offset: [Int64] = [0]
    let extent: [Int64] = [1]
    let wrongRank = call {
      ckstore_read_region(s.handle, "main", "emb", 1, offset, extent, &byte, 1, nil, nil, $0)
    }
    #expect(wrongRank.status == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(wrongRank.message?.contains("'emb'") == true)
    let outside: [Int64] = [63, 15]
    let two: [Int64] = [2, 2]
    let tooFar = call {
      ckstore_read_region(s.handle, "main", "emb", 2, outside, two, &byte, 4, nil, nil, $0)
    }
    #expect(tooFar.status == code(CKSTORE_E_INVALID_ARGUMENT))
    #expect(tooFar.message?.contains("'emb'") == true)
    #expect(
      call {
        ckstore_commit_part(
          nil, "main", 1, 0, 1, nil, nil, 0, nil, nil, nil, nil, 0, nil, nil, 0, nil, nil, $0)
      }
      .status == code(CKSTORE_E_INVALID_ARGUMENT))
  }
}
