import CKStore
import Foundation
import Testing

/// What the safetensors reader accepts and refuses, following the reference reader
/// (docs/FORMAT.md, "Safetensors import and export"; issue 13, item 6).
@Suite struct SafetensorsStrictnessTests {
  static func file(_ header: String, data: [UInt8] = [1, 2, 3, 4]) -> [UInt8] {
    SafetensorsTests.file(header: header, data: data)
  }

  static let entry = "{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}"

  @Test func aLeadingByteOrderMarkIsKeptInNamesAndMetadata() throws {
    let name = "\u{FEFF}w"
    let header =
      "{\"__metadata__\":{\"\u{FEFF}key\":\"\u{FEFF}value\"},\"\(name)\":\(Self.entry)}"
    let decoded = try Safetensors.decode(Self.file(header), file: "bom.safetensors")
    #expect(decoded.tensors.map(\.name) == [name])
    #expect(Array(decoded.tensors[0].name.utf8.prefix(3)) == [0xEF, 0xBB, 0xBF])
    #expect(decoded.metadata == ["\u{FEFF}key": "\u{FEFF}value"])
    // And it survives encode → decode unchanged.
    let again = try Safetensors.decode(
      Safetensors.encode(decoded.tensors, metadata: decoded.metadata), file: "again")
    #expect(again.tensors == decoded.tensors && again.metadata == decoded.metadata)
  }

  /// Headers the reference reader refuses, each with the reason the message must give.
  static let refused: [(String, String)] = [
    ("{\"w\":\(entry),\"w\":\(entry)}", "duplicate key"),
    ("{\"w\":{\"dtype\":\"U8\",\"shape\":[4.0],\"data_offsets\":[0,4]}}", "bad shape"),
    ("{\"w\":{\"dtype\":\"U8\",\"shape\":[4e0],\"data_offsets\":[0,4]}}", "bad shape"),
    ("{\"w\":{\"dtype\":\"U8\",\"shape\":[04],\"data_offsets\":[0,4]}}", "leading zero"),
    ("{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4.0]}}", "data_offsets"),
    ("{\"w\\ud800\":\(entry)}", "surrogate"),
    ("{\"w\\udc00\":\(entry)}", "surrogate"),
    ("{\"w\u{01}\":\(entry)}", "control character"),
    (" {\"w\":\(entry)}", "start with '{'"),
    ("\u{FEFF}{\"w\":\(entry)}", "start with '{'"),
    ("{\"w\":\(entry)} x", "trailing characters"),
    ("{\"w\":\(entry)}}", "trailing characters"),
    ("{\"w\":\(entry),}", "expected a string key"),
    ("{\"w\":\(entry)", "unexpected end"),
    ("[\(entry)]", "start with '{'"),
    ("{\"__metadata__\":{\"a\":1},\"w\":\(entry)}", "not a string"),
  ]

  @Test(arguments: refused) func refusesWhatTheReferenceReaderRefuses(
    header: String, reason: String
  ) {
    let error = storeError { try Safetensors.decode(Self.file(header), file: "bad.safetensors") }
    #expect(error?.code == .malformedSafetensors, "\(header)")
    #expect(error?.message.contains(reason) == true, "\(header): \(String(describing: error))")
    #expect(error?.message.contains("bad.safetensors") == true)
  }

  @Test func refusesInvalidUTF8InTheHeader() {
    var bytes = Self.file("{\"wX\":\(Self.entry)}")
    let at = bytes.firstIndex(of: UInt8(ascii: "X"))!
    bytes[at] = 0xC0  // an overlong-encoding lead byte: never valid UTF-8
    let error = storeError { try Safetensors.decode(bytes, file: "utf8.safetensors") }
    #expect(error?.code == .malformedSafetensors)
    #expect(error?.message.contains("UTF-8") == true)
  }

  @Test func acceptsWhatTheReferenceReaderAccepts() throws {
    // White space anywhere JSON allows it, escapes, an empty metadata map, unknown fields.
    let header =
      "{\n\t\"__metadata__\" : { } ,\r\n \"a\\u00e9\\\"q\" : {\"dtype\":\"U8\",\"shape\":[4],"
      + "\"data_offsets\":[0,4],\"extra\":[1,{\"x\":null}]}   }"
    let decoded = try Safetensors.decode(Self.file(header), file: "ok.safetensors")
    #expect(decoded.tensors.map(\.name) == ["a\u{E9}\"q"])
    #expect(decoded.tensors[0].bytes == [1, 2, 3, 4])
  }

  @Test func everyNewDtypeIsRecognisedWithItsSize() throws {
    let bits: [String: Int] = [
      "U16": 16, "U32": 32, "U64": 64, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8,
      "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    ]
    for (name, width) in bits {
      let dtype = try #require(DType(safetensorsName: name), "\(name)")
      #expect(dtype.bitWidth == width)
      #expect(dtype.safetensorsName == name)
      // 8 elements fill whole bytes at every width.
      let count = 8 * width / 8
      let header =
        "{\"t\":{\"dtype\":\"\(name)\",\"shape\":[8],\"data_offsets\":[0,\(count)]}}"
      let decoded = try Safetensors.decode(
        Self.file(header, data: [UInt8](repeating: 0x3C, count: count)), file: "\(name).st")
      #expect(decoded.tensors[0].dtype == dtype)
    }
    // Packed elements that do not fill a whole byte are refused.
    let odd = "{\"t\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}"
    let error = storeError { try Safetensors.decode(Self.file(odd, data: [0, 0]), file: "odd") }
    #expect(error?.code == .malformedSafetensors)
  }

  @Test func fp8ValuesDecodeForDiffStatistics() throws {
    // E4M3: 0x38 = 1.0, 0x7E = 448, 0x7F = NaN; E5M2: 0x3C = 1.0, 0x7C = +inf; E8M0: 127 = 1.0.
    let t = try TempStore()
    let a = try TensorData(name: "e4", dtype: .float8E4M3, shape: [2], bytes: [0x38, 0x7E])
    let b = try TensorData(name: "e4", dtype: .float8E4M3, shape: [2], bytes: [0x40, 0x7E])
    let c1 = try t.store.commit([a], to: "main", step: 1)
    let c2 = try t.store.commit([b], to: "main", step: 2)
    let d = try t.store.diff(c1, c2)
    let stats = try #require(d.tensors.first?.statistics)
    // 0x40 is 2.0: one element changed by exactly 1.
    #expect(stats.changedElements == 1)
    #expect(stats.maxAbs == 1)
  }
}
