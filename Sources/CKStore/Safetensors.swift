import Foundation

/// Reading and writing the safetensors format (PyTorch / Hugging Face): an 8-byte little-endian
/// header length, a JSON header mapping names to dtype, shape and data offsets (plus an optional
/// `__metadata__` string map), then the tensors' bytes.
public enum Safetensors {
  /// Reads a safetensors file. Every malformation throws `malformedSafetensors` naming the file
  /// and, where it applies, the tensor.
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

  /// Decodes safetensors bytes; `file` names them in errors.
  public static func decode(_ bytes: [UInt8], file: String) throws -> (
    tensors: [TensorData], metadata: [String: String]
  ) {
    func fail(_ why: String) -> StoreError {
      StoreError(.malformedSafetensors, "malformed safetensors file '\(file)': \(why)")
    }
    guard bytes.count >= 8 else { throw fail("shorter than the 8-byte header length") }
    var headerLength: UInt64 = 0
    for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
    guard headerLength <= UInt64(bytes.count - 8), headerLength <= 100_000_000 else {
      throw fail("header length \(headerLength) exceeds the file (\(bytes.count) bytes)")
    }
    let dataStart = 8 + Int(headerLength)
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]))
    } catch {
      throw fail("header is not valid JSON")
    }
    guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
    var metadata: [String: String] = [:]
    var tensors: [TensorData] = []
    var ranges: [(Range<Int>, String)] = []
    let dataCount = bytes.count - dataStart
    for (name, value) in header {
      if name == "__metadata__" {
        guard let map = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
        for (k, v) in map {
          guard let s = v as? String else {
            throw fail("__metadata__ value '\(k)' is not a string")
          }
          metadata[k] = s
        }
        continue
      }
      guard let entry = value as? [String: Any] else {
        throw fail("tensor '\(name)' is not an object")
      }
      guard let dtypeName = entry["dtype"] as? String else {
        throw fail("tensor '\(name)' has no dtype")
      }
      guard let dtype = DType(safetensorsName: dtypeName) else {
        throw fail("tensor '\(name)' has unsupported dtype '\(dtypeName)'")
      }
      guard let shapeValues = entry["shape"] as? [Any],
        let shape = try? shapeValues.map({ try nonNegativeInt($0) })
      else { throw fail("tensor '\(name)' has a bad shape") }
      guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
        let begin = try? nonNegativeInt(offsets[0]), let end = try? nonNegativeInt(offsets[1]),
        begin <= end, end <= dataCount
      else { throw fail("tensor '\(name)' has data_offsets outside the data (\(dataCount) bytes)") }
      guard let expected = TensorInfo.byteCount(dtype: dtype, shape: shape) else {
        throw fail("tensor '\(name)': shape \(shape) is too large")
      }
      guard expected == end - begin else {
        throw fail(
          "tensor '\(name)': \(end - begin) bytes do not fit \(dtypeName) \(shape)")
      }
      ranges.append((begin..<end, name))
      do {
        tensors.append(
          try TensorData(
            name: name, dtype: dtype, shape: shape,
            bytes: Array(bytes[(dataStart + begin)..<(dataStart + end)])))
      } catch let error as StoreError {
        throw StoreError(error.code, "safetensors file '\(file)': \(error.message)")
      }
    }
    // Zero-size tensors occupy no bytes and cannot overlap anything.
    ranges = ranges.filter { !$0.0.isEmpty }.sorted { $0.0.lowerBound < $1.0.lowerBound }
    for (a, b) in zip(ranges, ranges.dropFirst()) where a.0.upperBound > b.0.lowerBound {
      throw fail("tensors '\(a.1)' and '\(b.1)' overlap")
    }
    // The format requires the data to be fully indexed: no holes, nothing after the last tensor.
    var expected = 0
    for (range, name) in ranges {
      guard range.lowerBound == expected else {
        throw fail("a gap of \(range.lowerBound - expected) bytes before tensor '\(name)'")
      }
      expected = range.upperBound
    }
    guard expected == dataCount else {
      throw fail("\(dataCount - expected) bytes after the last tensor belong to none")
    }
    return (tensors.sorted { $0.name < $1.name }, metadata)
  }

  private static func nonNegativeInt(_ value: Any) throws -> Int {
    guard let n = value as? NSNumber, n.int64Value >= 0, n.doubleValue == Double(n.int64Value)
    else { throw StoreError(.malformedSafetensors, "not a non-negative integer") }
    return n.intValue
  }

  /// Encodes tensors (sorted by name, packed in that order) and metadata as safetensors bytes.
  /// The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
  public static func encode(_ tensors: [TensorData], metadata: [String: String]) -> [UInt8] {
    let sorted = tensors.sorted { $0.name < $1.name }
    var header = "{"
    var parts: [String] = []
    if !metadata.isEmpty {
      let entries = metadata.sorted { $0.key < $1.key }.map {
        "\(quote($0.key)):\(quote($0.value))"
      }
      parts.append("\"__metadata__\":{\(entries.joined(separator: ","))}")
    }
    var offset = 0
    for t in sorted {
      let shape = t.shape.map(String.init).joined(separator: ",")
      parts.append(
        "\(quote(t.name)):{\"dtype\":\"\(t.dtype.safetensorsName)\",\"shape\":[\(shape)],"
          + "\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
      offset += t.bytes.count
    }
    header += parts.joined(separator: ",") + "}"
    var headerBytes = Array(header.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
    var out = [UInt8]()
    out.reserveCapacity(8 + headerBytes.count + offset)
    withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: headerBytes)
    for t in sorted { out.append(contentsOf: t.bytes) }
    return out
  }

  /// Writes a safetensors file atomically (temporary file, fsync, rename).
  public static func write(
    _ tensors: [TensorData], metadata: [String: String], to path: String
  ) throws {
    let tmp = path + ".tmp-\(getpid())"
    try FileIO.writeAtomically(encode(tensors, metadata: metadata), to: path, tempPath: tmp)
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
