import CKStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A temporary folder holding a store (`store/`) and the files a test imports or exports;
/// removed on deinit.
final class Sandbox {
  let dir: URL

  /// The store folder (created by `init` unless `initStore` is false).
  var store: String { dir.appendingPathComponent("store").path }

  init(initStore: Bool = true, chunkSize: Int? = nil) throws {
    dir = URL(fileURLWithPath: NSTemporaryDirectory())
      .appendingPathComponent("ckstore-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    if initStore {
      var args = ["init", store]
      if let chunkSize { args += ["--chunk-size", "\(chunkSize)"] }
      let r = try CLI.run(args)
      try #require(r.status == 0, "ckstore init failed: \(r.stderr)")
    }
  }

  private init(copying other: Sandbox) throws {
    dir = URL(fileURLWithPath: NSTemporaryDirectory())
      .appendingPathComponent("ckstore-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: other.store, toPath: store)
  }

  /// A new sandbox holding a copy of this one's store (not its other files).
  func copy() throws -> Sandbox { try Sandbox(copying: self) }

  deinit { try? FileManager.default.removeItem(at: dir) }

  /// A path inside the sandbox.
  func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

  /// Runs `ckstore ARGS --store STORE`.
  func ck(_ args: String...) throws -> CLI.Result { try ck(args) }

  func ck(_ args: [String]) throws -> CLI.Result {
    try CLI.run(args + ["--store", store])
  }

  /// Runs `ckstore ARGS --store STORE` and requires exit status 0.
  @discardableResult
  func ok(_ args: String..., sourceLocation: SourceLocation = #_sourceLocation) throws
    -> CLI.Result
  {
    let r = try ck(args)
    try #require(
      r.status == 0, "ckstore \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)",
      sourceLocation: sourceLocation)
    return r
  }

  /// Writes tensors (and metadata) as a safetensors file in the sandbox; returns its path.
  @discardableResult
  func write(_ name: String, _ tensors: [TensorData], metadata: [String: String] = [:]) throws
    -> String
  {
    let p = path(name)
    try Data(Safetensors.encode(tensors, metadata: metadata)).write(to: URL(fileURLWithPath: p))
    return p
  }

  /// Imports tensors as a new commit and returns its full id.
  @discardableResult
  func commit(
    _ tensors: [TensorData], step: Int64, message: String? = nil, branch: String? = nil,
    metadata: [String: String] = [:]
  ) throws -> String {
    let file = try write("in-\(step)-\(UUID().uuidString).safetensors", tensors, metadata: metadata)
    var args = ["import", file, "--step", "\(step)", "--json"]
    if let message { args += ["-m", message] }
    if let branch { args += ["--branch", branch] }
    let r = try ck(args)
    try #require(r.status == 0, "import failed: \(r.stderr)")
    return try decodeImport(r.stdout).id
  }

  /// Exports a revision and decodes the file.
  func export(_ revision: String) throws -> (tensors: [TensorData], metadata: [String: String]) {
    let out = path("out-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try ck("export", revision, "-o", out)
    try #require(r.status == 0, "export \(revision) failed: \(r.stderr)")
    return try Safetensors.read(path: out)
  }

  /// Every file of the store that a command must not change when it fails: objects (name and
  /// size), refs, HEAD, reflogs, pruned markers and config (name and content).
  func listing() -> [String: String] {
    var out: [String: String] = [:]
    let fm = FileManager.default
    guard let walker = fm.enumerator(atPath: store) else { return [:] }
    while let relative = walker.nextObject() as? String {
      let full = store + "/" + relative
      var isDir: ObjCBool = false
      guard fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
      if relative.hasPrefix("tmp/") || relative.hasPrefix("locks/") { continue }
      if relative.hasPrefix("objects/") {
        out[relative] = "\((try? fm.attributesOfItem(atPath: full)[.size] as? Int) ?? -1) bytes"
      } else {
        out[relative] = (try? String(contentsOfFile: full, encoding: .utf8)) ?? "<unreadable>"
      }
    }
    return out
  }

  /// Object files (`objects/ab/cdef…`) as full hex ids.
  func objectIDs() -> Set<String> {
    Set(
      listing().keys.filter { $0.hasPrefix("objects/") }.map {
        $0.dropFirst("objects/".count).replacingOccurrences(of: "/", with: "")
      })
  }

  /// The object file of an id.
  func objectPath(_ hex: String) -> String {
    store + "/objects/" + hex.prefix(2) + "/" + hex.dropFirst(2)
  }

  /// The commit a branch names (read from its ref file), or nil.
  func head(_ branch: String = "main") -> String? {
    (try? String(contentsOfFile: store + "/refs/heads/" + branch, encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Floats in [-1, 1) from a seed.
func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
  var rng = SplitMix64(seed: seed)
  return (0..<count).map { _ in Float(Int32(truncatingIfNeeded: rng.next() >> 32)) / 2_147_483_648 }
}

/// A float32 tensor of random values.
func floatTensor(_ name: String, _ shape: [Int], seed: UInt64) throws -> TensorData {
  try TensorData(name: name, shape: shape, float32: randomFloats(shape.reduce(1, *), seed: seed))
}

/// The float32 values of canonical bytes.
func floats(_ bytes: [UInt8]) -> [Float] {
  bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

/// Decodes a command's JSON output (ISO-8601 dates).
func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
  let decoder = JSONDecoder()
  decoder.dateDecodingStrategy = .iso8601
  return try decoder.decode(type, from: Data(text.utf8))
}

/// Writes raw safetensors bytes: an 8-byte little-endian header length, `header`, then `data`.
func rawSafetensors(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
  let h = Array(header.utf8)
  var out: [UInt8] = []
  withUnsafeBytes(of: (headerLength ?? UInt64(h.count)).littleEndian) { out += $0 }
  return out + h + data
}

/// A JSON string literal (control characters as \u escapes).
func jsonQuote(_ s: String) -> String {
  var out = "\""
  for scalar in s.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
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

/// Sets a file's modification time `seconds` into the past.
func backdate(_ path: String, by seconds: Double) throws {
  try FileManager.default.setAttributes(
    [.modificationDate: Date().addingTimeInterval(-seconds)], ofItemAtPath: path)
}

/// Collapses runs of white space, so wrapped help text compares with its source.
func squashed<S: StringProtocol>(_ s: S) -> String {
  s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
}

// MARK: JSON shapes of the CLI's output

/// `log --json`: `{"commits": [...]}`.
func decodeLog(_ text: String) throws -> [CommitJSON] {
  struct Log: Decodable { var commits: [CommitJSON] }
  return try decodeJSON(Log.self, text).commits
}

/// `branch --json`: `{"branches": [...], "current": NAME}`.
func decodeBranches(_ text: String) throws -> [BranchJSON] {
  struct Branches: Decodable { var branches: [BranchJSON] }
  return try decodeJSON(Branches.self, text).branches
}

/// `import --json`: the commit it made.
func decodeImport(_ text: String) throws -> CommitJSON {
  struct Import: Decodable { var commit: CommitJSON }
  return try decodeJSON(Import.self, text).commit
}

/// A commit in `log --json`, `show --json` and `import --json`.
struct CommitJSON: Decodable {
  var id: String
  var parents: [String]
  var step: Int64
  var time: Date
  var message: String
  var metrics: [String: Double]
  var metadata: [String: String]
  var logicalBytes: Int64
  var addedBytes: Int64
  var pruned: Bool
  var refs: [String]
}

/// A tensor in `show --json` and `diff --json`.
struct TensorJSON: Decodable, Equatable {
  var name: String
  var dtype: String
  var shape: [Int]
  var bytes: Int
  var chunks: [String]
}

/// `show --json`.
struct ShowJSON: Decodable {
  var commit: CommitJSON
  var tensors: [TensorJSON]
}

/// `diff --json`.
struct DiffJSON: Decodable {
  struct Entry: Decodable {
    var name: String
    var change: String
    var old: TensorJSON?
    var new: TensorJSON?
    var dtypeChanged: Bool
    var shapeChanged: Bool
    var statistics: Statistics?
    var l2: Double? { statistics?.l2 }
    var relative: Double? { statistics?.relative }
    var maxAbs: Double? { statistics?.maxAbs }
    var changedElements: Int? { statistics?.changedElements }
    var changedFraction: Double? { statistics?.changedFraction }
  }
  struct Counts: Decodable, Equatable {
    var appeared: Int
    var vanished: Int
    var kept: Int
  }
  struct Statistics: Decodable {
    var kind: String
    var l2: Double?
    var relative: Double?
    var maxAbs: Double?
    var changedElements: Int
    var elements: Int
    var changedFraction: Double
    var finitePairs: Int
    var nan: Counts
    var inf: Counts
    var nonFinite: [String: String]
  }
  var a: String
  var b: String
  var identical: Bool
  var tensors: [Entry]
  var unchangedTensors: [String]
  var unchangedSubtrees: [String]
}

/// `gc --json`.
struct GCJSON: Decodable {
  var dryRun: Bool
  var prunedCommits: [String]
  var objectsDeleted: Int
  var bytesFreed: Int
  var objectsKept: Int
  var staleTempFilesRemoved: Int
  var staleLocksRemoved: [String]
}

/// `fsck --json`.
struct FsckJSON: Decodable {
  struct Problem: Decodable {
    var object: String
    var message: String
    var commits: [String]
    var tensors: [String]
  }
  var commitsChecked: Int
  var objectsChecked: Int
  var problems: [Problem]
}

/// `stats --json`.
struct StatsJSON: Decodable {
  struct Stats: Decodable {
    var commits: Int
    var prunedCommits: Int
    var chunkObjects: Int
    var treeObjects: Int
    var commitObjects: Int
    var logicalBytes: Int64
    var uniqueBytes: Int64
    var storedBytes: Int64
    var storedChunkBytes: Int64
  }
  var stats: Stats
  var dedupRatio: Double
  var compressionRatio: Double
  var storedBytesPerCommit: Double
}

/// `branch --json`.
struct BranchJSON: Decodable, Equatable {
  var name: String
  var head: String
  var current: Bool
}
