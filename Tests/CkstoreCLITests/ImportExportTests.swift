import CKStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Streaming import and export through the CLI: shards, selections, streams, every dtype, and
/// failures that leave nothing behind (issue 8, acceptance 1; issue 13, item 3).
@Suite struct ImportExportTests {
  struct Imported: Decodable {
    var id: String
    var tree: String
    var step: Int64
    var message: String
    var metrics: [String: Double]
    var metadata: [String: String]
  }

  static func model(seed: UInt64) throws -> [TensorData] {
    var rng = SplitMix64(seed: seed)
    func floats(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1..<1, using: &rng) } }
    return [
      try TensorData(name: "model/embed.weight", shape: [64, 16], float32: floats(1024)),
      try TensorData(name: "model/layers.0.weight", shape: [16, 16], float32: floats(256)),
      try TensorData(name: "model/layers.0.bias", shape: [16], float32: floats(16)),
      try TensorData(name: "model/head.weight", shape: [16, 10], float32: floats(160)),
      try TensorData(
        name: "optimizer/model/embed.weight/adam.m", shape: [64, 16], float32: floats(1024)),
      try TensorData(
        name: "checkpoint/step", dtype: .int64, shape: [], bytes: [7, 0, 0, 0, 0, 0, 0, 0]),
    ]
  }

  func importJSON(_ box: Sandbox, _ args: String...) throws -> Imported {
    let r = try box.ck(["import"] + args + ["--json"])
    try #require(r.status == 0, "import \(args) failed: \(r.stderr)")
    struct Document: Decodable { var commit: Imported }
    return try decodeJSON(Document.self, r.stdout).commit
  }

  @Test func shardedImportIsOneCommitAndShardedExportReimportsToTheSameTree() throws {
    let box = try Sandbox(chunkSize: 1024)
    let tensors = try Self.model(seed: 1)
    let first = try box.write("a.safetensors", Array(tensors[0..<3]))
    let second = try box.write("b.safetensors", Array(tensors[3...]))
    let both = try importJSON(box, first, second, "--step", "5")
    #expect(both.step == 5)

    // Shards of at most 5000 bytes of tensor data: the 4 KiB embedding alone, the rest packed.
    let out = box.path("hf")
    try box.ok("export", "main", "-o", out, "--max-shard-size", "5000B")
    let names = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
    #expect(names.contains("model.safetensors.index.json"))
    let shards = names.filter { $0.hasSuffix(".safetensors") }
    #expect(shards.count >= 2)
    #expect(
      shards.allSatisfy { $0.hasPrefix("model-0000") && $0.contains("-of-0000\(shards.count)") })
    #expect(!names.contains { $0.contains("ckstore-tmp") })
    let index =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors.index.json")))
      as! [String: Any]
    let map = index["weight_map"] as! [String: String]
    #expect(Set(map.keys) == Set(tensors.map(\.name)))
    #expect(Set(map.values) == Set(shards))
    let total = (index["metadata"] as! [String: Any])["total_size"] as! Int
    #expect(total == tensors.reduce(0) { $0 + $1.bytes.count })
    for shard in shards {
      let header = try Safetensors.read(path: out + "/" + shard)
      let data = header.tensors.reduce(0) { $0 + $1.bytes.count }
      #expect(data <= 5000 || header.tensors.count == 1)
      #expect(header.metadata["format"] == "pt")
    }

    // The index re-imports, into another store, to the very same tree.
    let other = try Sandbox(chunkSize: 1024)
    let again = try importJSON(other, out + "/model.safetensors.index.json")
    #expect(again.tree == both.tree)
    #expect(again.step == 5)
  }

  @Test func aTensorInTwoFilesIsRefusedNamingBothAndNothingIsCommitted() throws {
    let box = try Sandbox()
    let tensors = try Self.model(seed: 2)
    let a = try box.write("a.safetensors", Array(tensors[0..<2]))
    let b = try box.write("b.safetensors", Array(tensors[1..<3]))
    let before = box.listing()
    let r = try box.ck("import", a, b)
    #expect(r.status == 2)
    #expect(r.stderr.contains("model/layers.0.weight"))
    #expect(r.stderr.contains(a) && r.stderr.contains(b))
    #expect(box.listing() == before)
  }

  @Test func onlyAndStripPrefixExportAModelLoaderFile() throws {
    let box = try Sandbox()
    let tensors = try Self.model(seed: 3)
    try box.commit(tensors, step: 9)
    let out = box.path("model.safetensors")
    try box.ok("export", "main", "-o", out, "--only", "model/", "--strip-prefix", "model/")
    let file = try Safetensors.read(path: out)
    let expected = tensors.filter { $0.name.hasPrefix("model/") }
    #expect(
      file.tensors.map(\.name).sorted() == expected.map { String($0.name.dropFirst(6)) }.sorted())
    for t in expected {
      #expect(file.tensors.first { $0.name == String(t.name.dropFirst(6)) }?.bytes == t.bytes)
    }
    // Two prefixes (repeatable), and a selection that matches nothing is an error.
    try box.ok("export", "main", "-o", out, "--only", "checkpoint/", "--only", "optimizer/")
    #expect(try Safetensors.read(path: out).tensors.count == 2)
    let none = try box.ck(
      "export", "main", "-o", box.path("none.safetensors"), "--only", "nothing/")
    #expect(none.status == 2)
    #expect(none.stderr.contains("nothing/"))
    #expect(!FileManager.default.fileExists(atPath: box.path("none.safetensors")))
  }

  @Test func exportToStandardOutputStreamsTheSameBytesAsAFile() throws {
    let box = try Sandbox(chunkSize: 512)
    try box.commit(try Self.model(seed: 4), step: 3, message: "streamed")
    let file = box.path("file.safetensors")
    try box.ok("export", "main", "-o", file)
    let streamed = try runCapturingBytes(["export", "main", "-o", "-", "--store", box.store])
    #expect(streamed.status == 0)
    #expect(streamed.stdout == (try RawFile.read(file)))
    #expect(!FileManager.default.fileExists(atPath: box.dir.path + "/-"))
    // A character device is streamed to, not replaced.
    try box.ok("export", "main", "-o", "/dev/null")
    var st = stat()
    #expect(lstat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
  }

  @Test func stepMessageAndMetricsTravelThroughExportAndImport() throws {
    let box = try Sandbox()
    let file = try box.write("in.safetensors", try Self.model(seed: 5), metadata: ["lr": "0.1"])
    try box.ok("import", file, "--step", "42", "-m", "fine-tune")
    let out = box.path("out.safetensors")
    try box.ok("export", "main", "-o", out)
    let metadata = try Safetensors.read(path: out).metadata
    #expect(metadata["ckstore.step"] == "42")
    #expect(metadata["ckstore.message"] == "fine-tune")
    #expect(metadata["lr"] == "0.1")
    let other = try Sandbox()
    let back = try importJSON(other, out)
    #expect(back.step == 42)
    #expect(back.message == "fine-tune")
    #expect(back.metadata["lr"] == "0.1")
    #expect(back.metadata["ckstore.step"] == nil)
    // Export of the re-imported commit gives the very same file.
    let again = other.path("again.safetensors")
    try other.ok("export", "main", "-o", again)
    #expect(try RawFile.read(again) == (try RawFile.read(out)))
  }

  @Test func everyDtypeRoundTripsImportExportByteForByte() throws {
    let box = try Sandbox(chunkSize: 64)
    let tensors = try everyDtypeAndRank()
    let input = try box.write("all.safetensors", tensors)
    try box.ok("import", input)
    let out = box.path("all-out.safetensors")
    try box.ok("export", "main", "-o", out)
    let original = try Safetensors.read(path: input)
    let exported = try Safetensors.read(path: out)
    #expect(exported.tensors == original.tensors)
    // Same packing order, so the data sections are identical byte for byte.
    let a = try RawFile.read(input)
    let b = try RawFile.read(out)
    let dataA = a.suffix(tensors.reduce(0) { $0 + $1.bytes.count })
    let dataB = b.suffix(tensors.reduce(0) { $0 + $1.bytes.count })
    #expect(dataA == dataB)
  }

  @Test func anUnknownDtypeIsUnsupportedNotMalformed() throws {
    let box = try Sandbox()
    let header = "{\"w\":{\"dtype\":\"F8_E3M4\",\"shape\":[2],\"data_offsets\":[0,2]}}"
    var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
    bytes += Array(header.utf8) + [1, 2]
    let file = box.path("odd.safetensors")
    try RawFile.write(bytes, to: file)
    let r = try box.ck("import", file)
    #expect(r.status == 2)
    #expect(r.stderr.contains("unsupported dtype 'F8_E3M4'"))
    #expect(!r.stderr.contains("malformed"))
  }

  @Test func aFailedExportLeavesNothingUnderTheTargetName() throws {
    let box = try Sandbox(chunkSize: 256)
    let tensors = try Self.model(seed: 6)
    let id = try box.commit(tensors, step: 1)
    // An existing file at the target survives a failed export unchanged.
    let target = box.path("keep.safetensors")
    try RawFile.write(Array("old content".utf8), to: target)
    // Damage one chunk: export reads and verifies every chunk, so it must fail.
    let show = try box.ok("show", id, "--json")
    let object = try #require(show.stdout.firstMatch(of: /"chunks" : \[\s*"([0-9a-f]{64})"/)?.1)
    let path = box.objectPath(String(object))
    var damaged = try RawFile.read(path)
    damaged[damaged.count - 1] ^= 0x55
    try RawFile.write(damaged, to: path)
    let r = try box.ck("export", "main", "-o", target)
    #expect(r.status == 2)
    #expect(r.stderr.contains(String(object)))
    #expect(try RawFile.read(target) == Array("old content".utf8))
    let fresh = box.path("fresh.safetensors")
    #expect(try box.ck("export", "main", "-o", fresh).status == 2)
    #expect(!FileManager.default.fileExists(atPath: fresh))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: box.dir.path).filter {
      $0.contains("ckstore-tmp")
    }
    #expect(leftovers.isEmpty)
  }

  @Test func anExportThatRunsOutOfDiskLeavesNoFile() throws {
    let box = try Sandbox()
    try box.commit(try Self.model(seed: 7), step: 1)
    let mount = box.path("small")
    try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
    // A 16 KiB file system, too small for the 10 KiB of tensors plus the old file's 8 KiB.
    let mounted = Process.runQuietly(
      "/bin/mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", mount])
    try #require(mounted, "this test needs to mount a tmpfs (run as root)")
    defer { _ = Process.runQuietly("/bin/umount", [mount]) }
    try RawFile.write([UInt8](repeating: 1, count: 8192), to: mount + "/ckpt.safetensors")
    let r = try box.ck("export", "main", "-o", mount + "/ckpt.safetensors")
    #expect(r.status == 2)
    #expect(r.stderr.contains("No space left") || r.stderr.contains("room"))
    #expect(try RawFile.read(mount + "/ckpt.safetensors") == [UInt8](repeating: 1, count: 8192))
    #expect(try FileManager.default.contentsOfDirectory(atPath: mount) == ["ckpt.safetensors"])
  }

  @Test func aSymlinkAtTheTargetIsReplacedNotWrittenThrough() throws {
    let box = try Sandbox()
    try box.commit(try Self.model(seed: 8), step: 1)
    let victim = box.path("victim")
    try RawFile.write(Array("precious".utf8), to: victim)
    let link = box.path("link.safetensors")
    #expect(symlink(victim, link) == 0)
    try box.ok("export", "main", "-o", link)
    #expect(try RawFile.read(victim) == Array("precious".utf8))
    var st = stat()
    #expect(lstat(link, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG)
    // A folder is refused unless shards are asked for.
    let r = try box.ck("export", "main", "-o", box.dir.path)
    #expect(r.status == 2)
    #expect(r.stderr.contains("is a folder"))
  }
}

/// Runs the ckstore binary with stdout going to a file, returning stdout's raw bytes.
func runCapturingBytes(_ arguments: [String]) throws -> (status: Int32, stdout: [UInt8]) {
  let out = NSTemporaryDirectory() + "/ckstore-stdout-\(UUID().uuidString)"
  FileManager.default.createFile(atPath: out, contents: nil)
  defer { unlink(out) }
  let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
  let process = Process()
  process.executableURL = CLI.binary
  process.arguments = arguments
  process.standardOutput = handle
  process.standardError = FileHandle.nullDevice
  try process.run()
  process.waitUntilExit()
  try handle.close()
  return (process.terminationStatus, try RawFile.read(out))
}

extension Process {
  /// Runs a program to its end with no output; whether it exited 0.
  static func runQuietly(_ path: String, _ arguments: [String]) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
  }
}

/// Whole-file reads and writes for tests.
enum RawFile {
  static func read(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  static func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }
}

/// One tensor of every dtype for each of several ranks, zero-size and odd lengths included
/// (packed sub-byte dtypes get shapes that fill whole bytes).
func everyDtypeAndRank() throws -> [TensorData] {
  var rng = SplitMix64(seed: 7)
  var out: [TensorData] = []
  let shapes: [[Int]] = [[], [5], [3, 4], [2, 3, 4], [2, 1, 3, 2], [0], [3, 0], [8], [4, 6]]
  for dtype in DType.allCases {
    for (i, shape) in shapes.enumerated() {
      let bits = shape.reduce(1, *) * dtype.bitWidth
      guard bits % 8 == 0 else { continue }
      var bytes = (0..<(bits / 8)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      if dtype == .bool { bytes = bytes.map { $0 & 1 } }
      out.append(
        try TensorData(name: "t.\(dtype.name).r\(i)", dtype: dtype, shape: shape, bytes: bytes))
    }
  }
  return out
}
