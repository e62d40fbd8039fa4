import Foundation

/// The safetensors format (PyTorch / Hugging Face): an 8-byte little-endian header length, a JSON
/// header mapping names to dtype, shape and data offsets (plus an optional `__metadata__` string
/// map), then the tensors' bytes. Both directions live here: header parsing and encoding, the
/// streaming reader (`open`), and small in-memory helpers (`decode`, `encode`).
public enum Safetensors {
  /// The reference reader's limit on the JSON header.
  static let maxHeaderLength = 100_000_000

  /// One tensor of a header: where its bytes are, relative to the start of the data.
  public struct Entry: Equatable, Sendable {
    /// The tensor's name as written in the file.
    public var name: String
    /// The element type.
    public var dtype: DType
    /// The dimensions.
    public var shape: [Int]
    /// Its bytes within the data section.
    public var range: Range<Int>
  }

  /// A parsed and validated header.
  public struct Header: Equatable, Sendable {
    /// The tensors, sorted by name bytes.
    public var entries: [Entry]
    /// The `__metadata__` map.
    public var metadata: [String: String]
    /// Where the data section starts in the file (8 + header length).
    public var dataStart: Int
  }

  /// Parses and validates the header of a file of `fileSize` bytes whose first bytes are
  /// `prefix` (at least the 8-byte length and the JSON it announces). Every malformation throws
  /// `malformedSafetensors`, an unknown dtype `unsupportedDtype`, both naming `file`.
  public static func parseHeader(_ prefix: UnsafeRawBufferPointer, fileSize: Int, file: String)
    throws -> Header
  {
    func fail(_ why: String) -> StoreError {
      StoreError(.malformedSafetensors, "malformed safetensors file '\(file)': \(why)")
    }
    guard prefix.count >= 8, fileSize >= 8 else {
      throw fail("shorter than the 8-byte header length")
    }
    let length = UInt64(littleEndian: prefix.loadUnaligned(as: UInt64.self))
    guard length <= UInt64(maxHeaderLength), length <= UInt64(fileSize - 8) else {
      throw fail("header length \(length) exceeds the file (\(fileSize) bytes)")
    }
    let dataStart = 8 + Int(length)
    guard prefix.count >= dataStart else { throw fail("header cut short") }
    let json = UnsafeRawBufferPointer(rebasing: prefix[8..<dataStart])
    // The reference reader requires the header to open with '{' (no BOM, no leading space).
    guard json.first == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }
    let document: StrictJSON
    do {
      document = try StrictJSON.parse(json)
    } catch let error as StrictJSON.ParseError {
      throw fail("header is not valid JSON (\(error))")
    }
    guard let members = document.members else { throw fail("header is not a JSON object") }
    var metadata: [String: String] = [:]
    var entries: [Entry] = []
    let dataCount = fileSize - dataStart
    for (name, value) in members {
      if name == "__metadata__" {
        guard let map = value.members else { throw fail("__metadata__ is not an object") }
        for (k, v) in map {
          guard let s = v.text else { throw fail("__metadata__ value '\(k)' is not a string") }
          metadata[k] = s
        }
        continue
      }
      entries.append(try entry(name, value, dataCount: dataCount, file: file, fail: fail))
    }
    try checkLayout(entries, dataCount: dataCount, fail: fail)
    entries.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    return Header(entries: entries, metadata: metadata, dataStart: dataStart)
  }

  private static func entry(
    _ name: String, _ value: StrictJSON, dataCount: Int, file: String,
    fail: (String) -> StoreError
  ) throws -> Entry {
    guard let fields = value.members else { throw fail("tensor '\(name)' is not an object") }
    // Other fields are ignored, as the reference reader ignores them (docs/FORMAT.md).
    let field = Dictionary(uniqueKeysWithValues: fields.map { ($0.key, $0.value) })
    guard let dtypeName = field["dtype"]?.text else { throw fail("tensor '\(name)' has no dtype") }
    guard let dtype = DType(safetensorsName: dtypeName) else {
      throw StoreError(
        .unsupportedDtype,
        "safetensors file '\(file)': tensor '\(name)' has unsupported dtype '\(dtypeName)'")
    }
    func naturals(_ v: StrictJSON?) -> [Int]? {
      guard case .array(let items)? = v else { return nil }
      let values = items.compactMap { item -> Int? in
        if case .integer(let n) = item, n >= 0 { return n }
        return nil
      }
      return values.count == items.count ? values : nil
    }
    guard let shape = naturals(field["shape"]) else {
      throw fail("tensor '\(name)' has a bad shape (non-negative integers expected)")
    }
    guard let offsets = naturals(field["data_offsets"]), offsets.count == 2,
      offsets[0] <= offsets[1], offsets[1] <= dataCount
    else { throw fail("tensor '\(name)' has data_offsets outside the data (\(dataCount) bytes)") }
    guard let expected = TensorInfo.byteCount(dtype: dtype, shape: shape) else {
      throw fail("tensor '\(name)': shape \(shape) is too large or does not fill whole bytes")
    }
    guard expected == offsets[1] - offsets[0] else {
      throw fail(
        "tensor '\(name)': \(offsets[1] - offsets[0]) bytes do not fit \(dtypeName) \(shape)")
    }
    do {
      try TensorName.validate(name)
    } catch let error as StoreError {
      throw StoreError(error.code, "safetensors file '\(file)': \(error.message)")
    }
    return Entry(name: name, dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
  }

  /// The format requires the data to be fully indexed: no overlaps, no holes, nothing after the
  /// last tensor. Zero-size tensors occupy no bytes and cannot overlap anything.
  private static func checkLayout(
    _ entries: [Entry], dataCount: Int, fail: (String) -> StoreError
  ) throws {
    let ranges = entries.filter { !$0.range.isEmpty }.sorted {
      $0.range.lowerBound < $1.range.lowerBound
    }
    var expected = 0
    for e in ranges {
      if e.range.lowerBound < expected {
        let other = ranges.first { $0.range.overlaps(e.range) && $0.name != e.name }!
        throw fail("tensors '\(other.name)' and '\(e.name)' overlap")
      }
      guard e.range.lowerBound == expected else {
        throw fail("a gap of \(e.range.lowerBound - expected) bytes before tensor '\(e.name)'")
      }
      expected = e.range.upperBound
    }
    guard expected == dataCount else {
      throw fail("\(dataCount - expected) bytes after the last tensor belong to none")
    }
  }

  /// An opened safetensors file: its validated header and the file its tensors are read from.
  public struct OpenFile: Sendable {
    /// The file, read in place by commits.
    public let file: SourceFile
    /// The validated header.
    public let header: Header

    /// Every tensor as a source that a commit reads chunk by chunk from the file.
    public func sources() throws -> [TensorSource] {
      try header.entries.map {
        try TensorSource(
          name: $0.name, dtype: $0.dtype, shape: $0.shape, file: file,
          offset: header.dataStart + $0.range.lowerBound, byteCount: $0.range.count)
      }
    }
  }

  /// Opens a safetensors file and validates its header, reading only the header: tensor data
  /// is read later, chunk by chunk, by whatever commits `sources()`.
  public static func open(path: String) throws -> OpenFile {
    let file: SourceFile
    do {
      file = try SourceFile(path: path)
    } catch let error as StoreError {
      throw StoreError(error.code, "safetensors file: \(error.message)")
    }
    var lengthBytes = [UInt8](repeating: 0, count: 8)
    let prefixLength = min(8, file.size)
    try lengthBytes.withUnsafeMutableBytes {
      try file.read(
        into: UnsafeMutableRawBufferPointer(rebasing: $0[..<prefixLength]), at: 0, for: "header")
    }
    let length = lengthBytes.withUnsafeBytes {
      UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))
    }
    var prefix = lengthBytes
    if file.size >= 8, length <= UInt64(min(maxHeaderLength, file.size - 8)) {
      prefix += [UInt8](repeating: 0, count: Int(length))
      try prefix.withUnsafeMutableBytes {
        try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[8...]), at: 8, for: "header")
      }
    }
    let header = try prefix.withUnsafeBytes {
      try parseHeader($0, fileSize: file.size, file: path)
    }
    return OpenFile(file: file, header: header)
  }

  /// Reads a whole safetensors file into memory (small files, tests); commits of real
  /// checkpoints use `open(path:)`, which never holds the data.
  public static func read(path: String) throws -> (
    tensors: [TensorData], metadata: [String: String]
  ) {
    let bytes: [UInt8]
    do {
      bytes = try FileIO.read(path)
    } catch let error as StoreError {
      throw StoreError(error.code, "safetensors file: \(error.message)")
    }
    return try decode(bytes, file: path)
  }

  /// Decodes safetensors bytes held in memory; `file` names them in errors.
  public static func decode(_ bytes: [UInt8], file: String) throws -> (
    tensors: [TensorData], metadata: [String: String]
  ) {
    let header = try bytes.withUnsafeBytes {
      try parseHeader($0, fileSize: bytes.count, file: file)
    }
    let tensors = try header.entries.map {
      try TensorData(
        name: $0.name, dtype: $0.dtype, shape: $0.shape,
        bytes: Array(
          bytes[(header.dataStart + $0.range.lowerBound)..<(header.dataStart + $0.range.upperBound)]
        ))
    }
    return (tensors, header.metadata)
  }

  /// The header of a file holding `tensors` (name, dtype, shape, byte count) packed in the order
  /// given, with `metadata`: the 8-byte length and the JSON, padded with spaces to a multiple of
  /// 8 bytes as the reference writer does. Data follows it at offset `header.count`.
  public static func encodeHeader(
    _ tensors: [(name: String, dtype: DType, shape: [Int], byteCount: Int)],
    metadata: [String: String]
  ) -> [UInt8] {
    var parts: [String] = []
    if !metadata.isEmpty {
      let entries = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map {
        "\(quote($0.key)):\(quote($0.value))"
      }
      parts.append("\"__metadata__\":{\(entries.joined(separator: ","))}")
    }
    var offset = 0
    for t in tensors {
      let shape = t.shape.map(String.init).joined(separator: ",")
      parts.append(
        "\(quote(t.name)):{\"dtype\":\"\(t.dtype.safetensorsName)\",\"shape\":[\(shape)],"
          + "\"data_offsets\":[\(offset),\(offset + t.byteCount)]}")
      offset += t.byteCount
    }
    var json = Array(("{" + parts.joined(separator: ",") + "}").utf8)
    while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
    return withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json
  }

  /// Encodes tensors (sorted by name, packed in that order) and metadata as safetensors bytes.
  public static func encode(_ tensors: [TensorData], metadata: [String: String]) -> [UInt8] {
    let sorted = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    var out = encodeHeader(
      sorted.map { ($0.name, $0.dtype, $0.shape, $0.bytes.count) }, metadata: metadata)
    for t in sorted { out.append(contentsOf: t.bytes) }
    return out
  }

  /// Writes tensors held in memory as a safetensors file, atomically and durably (a temporary
  /// file created exclusively next to `path`, fsynced, renamed into place). Returns a warning
  /// when the file is in place but the rename could not be made durable.
  @discardableResult
  public static func write(
    _ tensors: [TensorData], metadata: [String: String], to path: String
  ) throws -> StoreWarning? {
    let bytes = encode(tensors, metadata: metadata)
    let file = try ExportFile(target: path, size: bytes.count)
    try bytes.withUnsafeBytes { try file.write($0, at: 0) }
    return try file.commit()
  }

  /// A JSON string literal.
  static func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          out += String(format: "\\u%04x", scalar.value)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
