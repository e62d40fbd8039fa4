/// Settings recorded in a store's `config` file when it is created.
public struct StoreConfiguration: Codable, Equatable, Sendable {
  /// The on-disk format version this build writes and reads.
  public static let currentFormatVersion = 1
  /// Default chunk size: 1 MiB (see docs/FORMAT.md, "Chunks", for the measurement behind it).
  public static let defaultChunkSize = 1 << 20

  /// Default zstd level: 1. On trained float32 weights with the grouped codec, level 1 both
  /// compresses better (1.179×) and runs faster (730 MB/s per core) than level 3 (1.163×, 464) or
  /// any higher level up to 9 (`ckbench store --only codec`; table in docs/PERFORMANCE.md).
  public static let defaultCompressionLevel = 1

  /// The store's format version.
  public var formatVersion: Int
  /// Target bytes per chunk; tensors larger than this are split at row boundaries.
  public var chunkSize: Int
  /// zstd level for chunk objects (1...19).
  public var compressionLevel: Int
  /// Experimental: store float chunks as XOR deltas against the parent commit's chunk when that
  /// is smaller (docs/FORMAT.md, "Delta chunks"). Off by default: it costs a read of the parent
  /// chunk per chunk committed and per chunk restored.
  public var deltaAgainstParent: Bool

  /// A configuration with the given chunk size, compression level and delta setting.
  public init(
    chunkSize: Int = StoreConfiguration.defaultChunkSize,
    compressionLevel: Int = StoreConfiguration.defaultCompressionLevel,
    deltaAgainstParent: Bool = false
  ) {
    self.formatVersion = Self.currentFormatVersion
    self.chunkSize = chunkSize
    self.compressionLevel = compressionLevel
    self.deltaAgainstParent = deltaAgainstParent
  }

  /// Reads a config; `deltaAgainstParent` may be absent (stores made before it existed).
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    formatVersion = try c.decode(Int.self, forKey: .formatVersion)
    chunkSize = try c.decode(Int.self, forKey: .chunkSize)
    compressionLevel = try c.decode(Int.self, forKey: .compressionLevel)
    deltaAgainstParent = try c.decodeIfPresent(Bool.self, forKey: .deltaAgainstParent) ?? false
  }

  func validate(path: String) throws {
    guard formatVersion == Self.currentFormatVersion else {
      throw StoreError(
        .unsupportedFormat,
        "store '\(path)' has format version \(formatVersion); this ckstore reads version "
          + "\(Self.currentFormatVersion)")
    }
    guard chunkSize >= 64, compressionLevel >= 1, compressionLevel <= 19 else {
      throw StoreError(
        .invalidArgument,
        "store '\(path)': chunkSize must be ≥ 64 and compressionLevel 1...19 "
          + "(got \(chunkSize), \(compressionLevel))")
    }
  }
}
