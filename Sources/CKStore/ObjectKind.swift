/// What an object holds. Raw values are the on-disk codes in each object's header.
public enum ObjectKind: UInt8, Sendable, Codable, CustomStringConvertible {
  /// A run of a tensor's canonical bytes.
  case chunk = 1
  /// A manifest tree: named tensors and subtrees.
  case tree = 2
  /// A commit: tree, parents, step, time, message, metrics, metadata.
  case commit = 3

  /// The lowercase name.
  public var description: String {
    switch self {
    case .chunk: return "chunk"
    case .tree: return "tree"
    case .commit: return "commit"
    }
  }
}

/// How an object's payload is encoded on disk. Ids never depend on it.
enum Codec: UInt8 {
  /// The payload is stored as it is.
  case none = 0
  /// The payload is one zstd frame.
  case zstd = 1
  /// The payload's bytes were regrouped into planes of the element width given in the header's
  /// parameter byte (`ByteGrouping`), then compressed as one zstd frame.
  case groupedZstd = 2
  /// The payload XOR a base chunk of the same length, regrouped like `groupedZstd` and compressed;
  /// the stored body starts with the base's 32-byte id. The base is never itself a delta.
  case deltaGroupedZstd = 3
  /// The payload's bytes split into planes as for `groupedZstd` (width in the parameter byte),
  /// each plane stored as its own zstd frame or raw, behind a table of (mode, length) records.
  case planes = 4

  /// Whether the header's parameter byte is an element width (≥ 2) rather than a reserved 0.
  var hasWidth: Bool { self == .groupedZstd || self == .deltaGroupedZstd || self == .planes }
}

/// The 16-byte header that starts every object file.
struct ObjectHeader {
  static let magic: [UInt8] = Array("CKOB".utf8)
  static let size = 16
  static let version: UInt8 = 1

  var kind: ObjectKind
  var codec: Codec
  /// For `groupedZstd`, the element width in bytes; 0 otherwise.
  var parameter: UInt8 = 0
  var length: UInt64

  func encoded() -> [UInt8] {
    var w = ByteWriter()
    w.raw(Self.magic)
    w.u8(Self.version)
    w.u8(kind.rawValue)
    w.u8(codec.rawValue)
    w.u8(parameter)
    w.u64(length)
    return w.bytes
  }

  static func decode(_ bytes: [UInt8], object: String) throws -> ObjectHeader {
    var r = ByteReader(Array(bytes.prefix(size)), object: object)
    guard try r.raw(4) == magic else {
      throw StoreError(.corruptObject, "object \(object): bad magic (not a ckstore object)")
    }
    let version = try r.u8()
    guard version == Self.version else {
      throw StoreError(.corruptObject, "object \(object): unknown object version \(version)")
    }
    guard let kind = ObjectKind(rawValue: try r.u8()) else {
      throw StoreError(.corruptObject, "object \(object): unknown object kind")
    }
    guard let codec = Codec(rawValue: try r.u8()) else {
      throw StoreError(.corruptObject, "object \(object): unknown codec")
    }
    let parameter = try r.u8()
    if codec.hasWidth ? parameter < 2 : parameter != 0 {
      throw StoreError(
        .corruptObject,
        "object \(object): header byte 7 is \(parameter); it is the element width for the grouped "
          + "codec (≥ 2) and a reserved byte that must be 0 for codec \(codec.rawValue)")
    }
    let length = try r.u64()
    // Lengths are used as Int everywhere; a larger one can only be damage.
    guard length <= UInt64(Int.max) else {
      throw StoreError(.corruptObject, "object \(object): length \(length) is out of range")
    }
    return ObjectHeader(kind: kind, codec: codec, parameter: parameter, length: length)
  }
}
