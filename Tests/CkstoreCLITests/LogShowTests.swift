import CKStore
import Foundation
import Testing

/// `log` and `show`, text and JSON, against commits whose content the test knows.
@Suite struct LogShowTests {
  /// Three commits with metrics (written through the library, which the CLI cannot do).
  private func history(_ box: Sandbox) throws -> [Commit] {
    let store = try Store.open(at: box.store)
    var commits: [Commit] = []
    for (i, step) in [Int64(100), 200, 300].enumerated() {
      commits.append(
        try store.commit(
          [try floatTensor("model.w", [16, 4], seed: UInt64(i))], to: "main", step: step,
          message: "epoch \(i + 1)",
          metrics: ["loss": 1.5 / Double(i + 1), "acc": 0.25 * Double(i + 1)]))
    }
    return commits
  }

  @Test func logTextListsNewestFirstWithStepsMetricsSizesAndRefs() throws {
    let box = try Sandbox()
    let c = try history(box)
    let out = try box.ok("log").stdout
    let headers = out.split(separator: "\n").filter { $0.hasPrefix("commit ") }
    #expect(
      headers == [
        "commit \(c[2].id.hex) (main)", "commit \(c[1].id.hex)", "commit \(c[0].id.hex)",
      ])
    #expect(out.contains("step:    300\n"))
    #expect(out.contains("metrics: acc=0.75 loss=0.5\n"))
    #expect(out.contains("metrics: acc=0.25 loss=1.5\n"))
    #expect(out.contains("    epoch 2\n"))
    // 16×4 float32 = 256 bytes; the first commit added its chunk, trees and commit.
    #expect(out.contains("size:    256 B logical, "))
    #expect(!out.contains("[pruned]"))
  }

  @Test func logOnelineAndLimit() throws {
    let box = try Sandbox()
    let c = try history(box)
    let lines = try box.ok("log", "--oneline").stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 3)
    #expect(lines[0].hasPrefix("\(c[2].id.short) (main)  step-300  acc=0.75 loss=0.5  +"))
    #expect(lines[0].hasSuffix("  epoch 3"))
    #expect(lines[2].hasPrefix("\(c[0].id.short)  step-100  "))

    let two = try box.ok("log", "--oneline", "-n", "2").stdout.split(separator: "\n")
    #expect(two.count == 2)
    #expect(two[1].hasPrefix(c[1].id.short))

    // A start revision: the history from main~1 back.
    let fromParent = try box.ok("log", "main~1", "--oneline").stdout.split(separator: "\n")
    #expect(fromParent.map { String($0.prefix(12)) } == [c[1].id.short, c[0].id.short])
  }

  @Test func logJSONHasIdsStepsMetricsParentsAndPrunedMarkers() throws {
    let box = try Sandbox()
    let c = try history(box)
    var log = try decodeLog(try box.ok("log", "--json").stdout)
    #expect(log.map(\.id) == [c[2].id.hex, c[1].id.hex, c[0].id.hex])
    #expect(log.map(\.step) == [300, 200, 100])
    #expect(log[0].metrics == ["loss": 0.5, "acc": 0.75])
    #expect(log[0].parents == [c[1].id.hex])
    #expect(log[2].parents == [])
    #expect(log[0].refs == ["main"])
    #expect(log[1].refs == [])
    #expect(log.allSatisfy { $0.logicalBytes == 256 && !$0.pruned })
    #expect(log[0].message == "epoch 3")
    // JSON times are ISO-8601 to the second (the store records milliseconds).
    #expect(abs(log[0].time.timeIntervalSince(c[2].time)) < 1)

    // Retention marks the two older commits pruned; log still lists all three.
    try box.ok("gc", "--keep-last", "1")
    log = try decodeLog(try box.ok("log", "--json").stdout)
    #expect(log.map(\.pruned) == [false, true, true])
    #expect(log.map(\.step) == [300, 200, 100])
    let text = try box.ok("log", "--oneline").stdout.split(separator: "\n")
    #expect(text.map { $0.hasSuffix(" [pruned]") } == [false, true, true])
    let limited = try decodeLog(try box.ok("log", "--json", "-n", "1").stdout)
    #expect(limited.map(\.id) == [c[2].id.hex])
  }

  @Test func revisionFormsResolveToTheSameCommits() throws {
    let box = try Sandbox()
    let c = try history(box)
    try box.ok("tag", "v2", "main~1")
    let forms: [(String, Commit)] = [
      ("HEAD", c[2]), ("@", c[2]), ("main", c[2]), ("HEAD~1", c[1]), ("main~", c[1]),
      ("main~2", c[0]), ("main~0", c[2]), ("v2", c[1]), ("v2~1", c[0]), ("refs/tags/v2", c[1]),
      ("step-100", c[0]), ("main:step-200", c[1]), ("step-300~2", c[0]),
      (c[0].id.hex, c[0]), (c[0].id.hex.uppercased(), c[0]), (String(c[1].id.hex.prefix(10)), c[1]),
    ]
    for (revision, commit) in forms {
      let r = try box.ck("show", revision, "--json")
      #expect(r.status == 0, "show \(revision): \(r.stderr)")
      if r.status == 0 {
        #expect(try decodeJSON(ShowJSON.self, r.stdout).commit.id == commit.id.hex, "\(revision)")
      }
    }
    // An empty log range and -n 0.
    #expect(try box.ok("log", "-n", "0").stdout == "")
  }

  /// A file with every dtype, a scalar, a zero-size tensor, rank 4 and a chunked tensor.
  private func everyKind() throws -> [TensorData] {
    var rng = SplitMix64(seed: 7)
    func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    var out: [TensorData] = []
    for dtype in DType.allCases {
      // Packed sub-byte dtypes get 16 elements, which fill whole bytes.
      let shape = dtype.isSubByte ? [4, 4] : [3, 5]
      let count = dtype.isSubByte ? 16 * dtype.bitWidth / 8 : 15 * dtype.size
      let data = dtype == .bool ? (0..<count).map { UInt8($0 % 2) } : bytes(count)
      out.append(
        try TensorData(name: "dtypes.\(dtype.name)", dtype: dtype, shape: shape, bytes: data))
    }
    out.append(try TensorData(name: "shapes/scalar", dtype: .float64, shape: [], bytes: bytes(8)))
    out.append(try TensorData(name: "shapes/empty", dtype: .float32, shape: [0, 3], bytes: []))
    out.append(
      try TensorData(name: "shapes/rank4", dtype: .int16, shape: [2, 3, 1, 2], bytes: bytes(24)))
    // 64 rows of 256 bytes with 4 KiB chunks: 4 chunks.
    out.append(try floatTensor("big.embedding", [64, 64], seed: 11))
    return out
  }

  @Test func importExportRoundTripsEveryDtypeAndRankWithMetadata() throws {
    let box = try Sandbox(chunkSize: 4096)
    let tensors = try everyKind()
    let metadata = ["format": "pt", "run": "r-17 \"quoted\" ü"]
    // The keys an export records the commit in: import reads them back into step and message.
    let recorded = metadata.merging(["ckstore.step": "42", "ckstore.message": "all kinds"]) {
      a, _ in a
    }
    let file = try box.write("every.safetensors", tensors, metadata: recorded)
    let imported = try decodeImport(try box.ok("import", file, "--json").stdout)
    #expect(imported.step == 42)
    #expect(imported.metadata == metadata)
    #expect(imported.refs == ["main"])
    #expect(imported.logicalBytes == Int64(tensors.reduce(0) { $0 + $1.bytes.count }))

    let show = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
    #expect(show.commit.id == imported.id)
    #expect(show.commit.metadata == metadata)
    #expect(show.commit.message == "all kinds")
    let sorted = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    #expect(show.tensors.map(\.name) == sorted.map(\.name))
    #expect(show.tensors.map(\.dtype) == sorted.map(\.dtype.name))
    #expect(show.tensors.map(\.shape) == sorted.map(\.shape))
    #expect(show.tensors.map(\.bytes) == sorted.map(\.bytes.count))
    #expect(show.tensors.first { $0.name == "big.embedding" }?.chunks.count == 4)
    #expect(show.tensors.first { $0.name == "shapes/empty" }?.chunks == [])

    let out = box.path("exported.safetensors")
    let r = try box.ok("export", "main", "-o", out)
    #expect(
      r.stdout.contains("wrote \(tensors.count) tensors of \(imported.id.prefix(12)) (step 42)"))
    let (back, backMeta) = try Safetensors.read(path: out)
    #expect(back == sorted)
    #expect(backMeta == recorded)
    // The export is the same file the test wrote: same header, same bytes.
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: out))
        == Data(contentsOf: URL(fileURLWithPath: file)))
  }

  @Test func showTextHasMetadataAndTensorTable() throws {
    let box = try Sandbox(chunkSize: 4096)
    let tensors = try everyKind()
    let id = try box.commit(tensors, step: 5, message: "hello", metadata: ["lr": "0.01"])
    let show = try decodeJSON(ShowJSON.self, try box.ok("show", "main", "--json").stdout)
    let out = try box.ok("show", String(id.prefix(8))).stdout
    let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines[0] == "commit  \(id) (main)")
    #expect(lines.contains("step    5"))
    #expect(lines.contains("message hello"))
    #expect(lines.contains("meta    lr=0.01"))
    #expect(
      lines.contains {
        $0.hasPrefix("\(tensors.count) tensors, ") && $0.hasSuffix(" added by this commit")
      })
    let header = try #require(lines.firstIndex { $0.hasPrefix("NAME") })
    #expect(squashed(lines[header]) == "NAME DTYPE SHAPE SIZE ID")
    let rows = lines[(header + 1)...].filter { !$0.isEmpty }.map(squashed)
    #expect(rows.count == tensors.count)
    let big = try #require(show.tensors.first { $0.name == "big.embedding" })
    #expect(
      rows.contains(
        "big.embedding float32 [64, 64] 16.0 KiB \(big.chunks[0].prefix(12)) (+3 chunks)"))
    #expect(rows.contains("shapes/empty float32 [0, 3] 0 B -"))
    let scalar = try #require(show.tensors.first { $0.name == "shapes/scalar" })
    #expect(rows.contains("shapes/scalar float64 [] 8 B \(scalar.chunks[0].prefix(12))"))
    #expect(rows.contains { $0.hasPrefix("dtypes.bfloat16 bfloat16 [3, 5] 30 B ") })
  }
}
