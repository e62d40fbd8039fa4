import CKStore
import Foundation
import Testing

/// The float-aware codec: byte planes before zstd for float chunks, ids unchanged.
@Suite struct CodecTests {
  /// Smooth float data, like trained weights: compressible sign/exponent bytes.
  static func smoothBytes(_ dtype: DType, count: Int) -> [UInt8] {
    var rng = TestRandom(state: 99)
    var out: [UInt8] = []
    for i in 0..<count {
      let x = 0.02 * sin(Double(i) * 0.37) + 0.001 * Double(rng.next() % 100)
      switch dtype {
      case .float32: withUnsafeBytes(of: Float(x).bitPattern.littleEndian) { out += $0 }
      case .float64: withUnsafeBytes(of: x.bitPattern.littleEndian) { out += $0 }
      case .bfloat16:
        withUnsafeBytes(of: UInt16(Float(x).bitPattern >> 16).littleEndian) { out += $0 }
      case .float16: withUnsafeBytes(of: Float16(Float(x)).bitPattern.littleEndian) { out += $0 }
      default: out += rng.bytes(dtype.size).map { dtype == .bool ? $0 & 1 : $0 }
      }
    }
    return out
  }

  /// The codec byte (offset 6) and parameter byte (offset 7) of every object file.
  static func codecs(_ t: TempStore) throws -> [(codec: UInt8, parameter: UInt8)] {
    try t.objectFiles().map { path in
      let header = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8)
      return (header[header.startIndex + 6], header[header.startIndex + 7])
    }
  }

  @Test(arguments: DType.allCases)
  func everyDtypeAndOddLengthRoundTrips(dtype: DType) throws {
    // A chunk size that is not a multiple of every width forces short, odd last chunks.
    let t = try TempStore(chunkSize: 96)
    var tensors: [TensorData] = []
    // Packed sub-byte dtypes take element counts that fill whole bytes.
    for count in [1, 2, 3, 7, 33, 1001].map({ dtype.isSubByte ? $0 * 8 : $0 }) {
      tensors.append(
        try TensorData(
          name: "t\(count)", dtype: dtype, shape: [count],
          bytes: Self.smoothBytes(
            dtype, count: dtype.isSubByte ? count * dtype.bitWidth / 8 : count)))
    }
    let c = try t.store.commit(tensors, to: "main", step: 1)
    for tensor in tensors {
      #expect(try t.store.readTensor(named: tensor.name, in: c) == tensor)
      // The id is the hash of the canonical bytes, whatever the codec.
      let info = try t.store.tensorInfo(named: tensor.name, in: c)
      if info.chunks.count == 1 { #expect(info.chunks[0] == SHA256.hash(tensor.bytes)) }
    }
    #expect(try t.store.fsck().isClean)
  }

  @Test func floatChunksUseTheByteplaneCodecAndCompressBetter() throws {
    let t = try TempStore()
    let bytes = Self.smoothBytes(.float32, count: 1 << 16)
    try t.store.commit(
      [try TensorData(name: "w", dtype: .float32, shape: [1 << 16], bytes: bytes)], to: "main",
      step: 1)
    let chunk = try #require(try Self.codecs(t).first { $0.codec == 4 })
    #expect(chunk.parameter == 4)
    let plain = try bytes.withUnsafeBytes { try Zstd.compress($0, level: 3) }
    let stats = try t.store.stats()
    #expect(stats.storedChunkBytes < Int64(plain.count))
  }

  @Test func aDamagedGroupedHeaderIsRefused() throws {
    let t = try TempStore()
    let bytes = Self.smoothBytes(.float32, count: 4096)
    let c = try t.store.commit(
      [try TensorData(name: "w", dtype: .float32, shape: [4096], bytes: bytes)], to: "main",
      step: 1)
    let info = try t.store.tensorInfo(named: "w", in: c)
    let path = try #require(
      t.objectFiles().first { $0.hasSuffix(String(info.chunks[0].hex.dropFirst(2))) })
    var file = try Data(contentsOf: URL(fileURLWithPath: path))
    file[7] = 2  // wrong element width: ungrouping scrambles the bytes
    try file.write(to: URL(fileURLWithPath: path))
    let error = #expect(throws: StoreError.self) { try t.store.readTensor(named: "w", in: c) }
    #expect(error?.code == .corruptObject)
    #expect(error?.message.contains(info.chunks[0].hex) == true)
  }
}
