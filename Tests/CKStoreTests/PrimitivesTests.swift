import CKStore
import Testing

@Suite struct PrimitivesTests {
  @Test func sha256KnownAnswers() {
    #expect(
      SHA256.hash([UInt8]()).hex
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(
      SHA256.hash(Array("abc".utf8)).hex
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
    #expect(
      SHA256.hash(million).hex
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  @Test func objectIDHexRoundTrip() throws {
    let id = SHA256.hash(Array("abc".utf8))
    #expect(ObjectID(hex: id.hex) == id)
    #expect(ObjectID(hex: id.hex.uppercased()) == id)
    #expect(ObjectID(hex: "xyz") == nil)
    #expect(id.short == "ba7816bf8f01")
  }

  @Test func zstdRoundTripsAndRejectsGarbage() throws {
    var input = [UInt8]()
    for i in 0..<100_000 { input.append(UInt8(truncatingIfNeeded: i * 7 / 13)) }
    let packed = try input.withUnsafeBytes { try Zstd.compress($0, level: 3) }
    #expect(packed.count < input.count / 4)
    var output = [UInt8](repeating: 0, count: input.count)
    try packed.withUnsafeBytes { src in
      try output.withUnsafeMutableBytes { try Zstd.decompress(src, into: $0, object: "test") }
    }
    #expect(output == input)
    var broken = packed
    broken[broken.count / 2] ^= 0xFF
    #expect(throws: StoreError.self) {
      try broken.withUnsafeBytes { src in
        try output.withUnsafeMutableBytes { try Zstd.decompress(src, into: $0, object: "test") }
      }
    }
  }
}
