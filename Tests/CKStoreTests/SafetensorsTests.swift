import CKStore
import Foundation
import Testing

@Suite struct SafetensorsTests {
  /// A safetensors file from a header written by hand (as another tool would write it).
  static func file(header: String, data: [UInt8], lengthOverride: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: (lengthOverride ?? UInt64(h.count)).littleEndian) {
      out.append(contentsOf: $0)
    }
    return out + h + data
  }

  @Test func everyDtypeAndRankRoundTripsThroughImportCommitExport() throws {
    let tensors = try CommitReadTests.everyDtypeAndRank()
    let metadata = ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t"]
    let encoded = Safetensors.encode(tensors, metadata: metadata)

    let decoded = try Safetensors.decode(encoded, file: "mem.safetensors")
    #expect(decoded.metadata == metadata)
    #expect(decoded.tensors.count == tensors.count)
    let original = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
    for t in decoded.tensors { #expect(original[t.name] == t, "\(t.name)") }
    // A file we wrote decodes and re-encodes to the very same bytes.
    #expect(Safetensors.encode(decoded.tensors, metadata: decoded.metadata) == encoded)

    // import → commit → read → export.
    let t = try TempStore(chunkSize: 64)
    let dir = t.path + "-files"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let input = dir + "/in.safetensors"
    try Files.write(encoded, to: input)
    let imported = try Safetensors.read(path: input)
    let commit = try t.store.commit(
      imported.tensors, to: "main", step: 1, metadata: imported.metadata)
    let fresh = try t.reopen()
    let back = try fresh.readSnapshot(try fresh.resolve("main"))
    #expect(back == decoded.tensors)
    for info in try fresh.tensors(in: commit) {
      let one = try fresh.readTensor(named: info.name, in: commit)
      #expect(one == original[info.name])
      #expect(info.byteCount == original[info.name]!.bytes.count)
    }
    let output = dir + "/out.safetensors"
    try Safetensors.write(back, metadata: commit.metadata, to: output)
    #expect(try Files.read(output) == encoded)
  }

  /// A file written by another tool (key order, spacing, padding and tensor order all differ from
  /// ours) keeps every tensor's bytes exactly through commit and export.
  @Test func foreignFileKeepsTensorBytes() throws {
    var rng = TestRandom(state: 99)
    let data = rng.bytes(4 * 6 + 2 * 3 + 1)
    // Data laid out in a different order than the names sort: b first, then c, then a.
    let header =
      "{ \"b.w\" : {\"shape\": [2, 3], \"data_offsets\": [0, 24], \"dtype\": \"F32\"},\n"
      + "  \"__metadata__\": {\"framework\": \"torch\"},\n"
      + "  \"c\": {\"data_offsets\": [30, 31], \"dtype\": \"BOOL\", \"shape\": []},\n"
      + "  \"a/x\": {\"dtype\": \"BF16\", \"data_offsets\": [24, 30], \"shape\": [3]} }   "
    var fixedData = data
    fixedData[30] = 1
    let bytes = Self.file(header: header, data: fixedData)
    let decoded = try Safetensors.decode(bytes, file: "foreign.safetensors")
    #expect(decoded.metadata == ["framework": "torch"])
    let byName = Dictionary(uniqueKeysWithValues: decoded.tensors.map { ($0.name, $0) })
    #expect(byName["b.w"]?.bytes == Array(fixedData[0..<24]))
    #expect(byName["b.w"]?.shape == [2, 3])
    #expect(byName["a/x"]?.bytes == Array(fixedData[24..<30]))
    #expect(byName["a/x"]?.dtype == .bfloat16)
    #expect(byName["c"]?.bytes == [1])
    #expect(byName["c"]?.shape == [])

    let t = try TempStore(chunkSize: 64)
    let c = try t.store.commit(decoded.tensors, to: "main", step: 3)
    let exported = Safetensors.encode(try t.store.readSnapshot(c), metadata: c.metadata)
    let again = try Safetensors.decode(exported, file: "exported.safetensors")
    #expect(again.tensors == decoded.tensors)
  }

  /// One malformed input: what is wrong, the bytes, and the tensor the error must name.
  struct Malformed: Sendable, CustomTestStringConvertible {
    var what: String
    var bytes: [UInt8]
    var tensor: String?
    var testDescription: String { what }
  }

  static let malformed: [Malformed] = {
    func entry(_ name: String, _ dtype: String, _ shape: String, _ offsets: String) -> String {
      "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }
    let zeros8 = [UInt8](repeating: 0, count: 8)
    return [
      Malformed(what: "short file", bytes: [1, 2, 3], tensor: nil),
      Malformed(
        what: "header length past end",
        bytes: file(header: "{}", data: [0, 0], lengthOverride: 1000), tensor: nil),
      Malformed(
        what: "header length huge", bytes: file(header: "{}", data: [], lengthOverride: .max),
        tensor: nil),
      Malformed(
        what: "bad JSON", bytes: file(header: "{\"w\": {\"dtype\": ", data: []), tensor: nil),
      Malformed(what: "header not an object", bytes: file(header: "[1, 2]", data: []), tensor: nil),
      Malformed(
        what: "offsets out of range",
        bytes: file(header: "{" + entry("w", "F32", "[4]", "[0,16]") + "}", data: zeros8),
        tensor: "w"),
      Malformed(
        what: "offsets reversed",
        bytes: file(header: "{" + entry("w", "U8", "[0]", "[4,0]") + "}", data: zeros8), tensor: "w"
      ),
      Malformed(
        what: "size mismatch",
        bytes: file(header: "{" + entry("w", "F32", "[3]", "[0,8]") + "}", data: zeros8),
        tensor: "w"),
      Malformed(
        what: "negative dimension",
        bytes: file(header: "{" + entry("w", "F32", "[-2]", "[0,8]") + "}", data: zeros8),
        tensor: "w"),
      Malformed(
        what: "missing dtype",
        bytes: file(header: "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", data: zeros8),
        tensor: "w"),
      Malformed(
        what: "overlapping tensors",
        bytes: file(
          header: "{" + entry("first", "F32", "[2]", "[0,8]") + ","
            + entry("second", "F32", "[2]", "[4,12]") + "}",
          data: [UInt8](repeating: 0, count: 12)),
        tensor: "second"),
    ]
  }()

  /// Every malformation is a `malformedSafetensors` error naming the file and the tensor.
  @Test(arguments: SafetensorsTests.malformed)
  func malformedInputIsRefused(_ c: Malformed) throws {
    let file = "bad-\(c.what.replacingOccurrences(of: " ", with: "-")).safetensors"
    let error = storeError { try Safetensors.decode(c.bytes, file: file) }
    #expect(error?.code == .malformedSafetensors, "\(c.what): \(String(describing: error))")
    #expect(error?.message.contains(file) == true, "\(c.what): \(String(describing: error))")
    if let tensor = c.tensor {
      #expect(
        error?.message.contains("'\(tensor)'") == true, "\(c.what): \(String(describing: error))")
    }
  }

  /// A shape whose element count overflows Int is malformed, not a crash. Run in a child process
  /// so that a trap fails this test only.
  @Test func overflowingShapeIsRefused() async {
    await #expect(processExitsWith: .success) {
      for shape in [
        "[1152921504606846977]", "[4294967296,4294967296]", "[0,4294967296,4294967296]",
      ] {
        let header = "{\"w\":{\"dtype\":\"F64\",\"shape\":\(shape),\"data_offsets\":[0,0]}}"
        let bytes = SafetensorsTests.file(header: header, data: [])
        do {
          let decoded = try Safetensors.decode(bytes, file: "overflow.safetensors")
          // Only a true zero-size tensor may be accepted.
          if decoded.tensors.first?.shape.contains(0) != true { exit(1) }
        } catch let error as StoreError where error.code == .malformedSafetensors {
          continue
        } catch {
          exit(2)
        }
      }
    }
  }

  @Test func malformedFileOnDiskNamesThePath() throws {
    let dir = NSTemporaryDirectory() + "ckstore-st-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/broken.safetensors"
    try Files.write(Self.file(header: "{nope", data: []), to: path)
    let error = storeError { try Safetensors.read(path: path) }
    #expect(error?.code == .malformedSafetensors)
    #expect(error?.message.contains(path) == true, "\(String(describing: error))")

    let missing = storeError { try Safetensors.read(path: dir + "/missing.safetensors") }
    #expect(missing != nil)
    #expect(missing?.message.contains("missing.safetensors") == true)
  }

  /// An invalid tensor name in a safetensors file is refused with `invalidName` (or
  /// `malformedSafetensors`), naming both the tensor and the file.
  @Test(arguments: ["a..b", "model.", "/x", "a\u{1}b"])
  func badTensorNameIsRefused(name: String) throws {
    let quoted = String(decoding: try JSONEncoder().encode(name), as: UTF8.self)
    let header =
      "{\(quoted):{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}"
    let file = "names.safetensors"
    let error = storeError {
      try Safetensors.decode(Self.file(header: header, data: [7]), file: file)
    }
    #expect(
      error?.code == .invalidName || error?.code == .malformedSafetensors,
      "\(String(describing: error))")
    #expect(error?.message.contains("invalid tensor name") == true, "\(String(describing: error))")
    #expect(error?.message.contains(file) == true, "file not named: \(String(describing: error))")
  }
}
