import CKStore
import Foundation
import Testing

/// `diff`: which tensors changed, statistics checked against values computed here, exit codes.
@Suite struct DiffTests {
  /// Statistics of b − a computed independently of the store, in Double.
  private struct Expected {
    var l2 = 0.0
    var relative = 0.0
    var maxAbs = 0.0
    var changed = 0
    var fraction = 0.0

    init(_ a: [Float], _ b: [Float]) {
      var sumSq = 0.0
      var baseSq = 0.0
      for (x, y) in zip(a, b) {
        let d = Double(y) - Double(x)
        sumSq += d * d
        baseSq += Double(x) * Double(x)
        maxAbs = max(maxAbs, abs(d))
        if x.bitPattern != y.bitPattern { changed += 1 }
      }
      l2 = sumSq.squareRoot()
      relative = l2 / baseSq.squareRoot()
      fraction = Double(changed) / Double(a.count)
    }
  }

  private struct Pair {
    let box: Sandbox
    let a: String
    let b: String
    let expectedW: Expected
    let expectedV: Expected
  }

  /// Two commits: `enc.w` has 3 changed elements, `enc.v` is fully rescaled, `enc.b` is the same,
  /// `dec.*` is an identical subtree, `old.x` removed, `new.y` added, `shape.s` reshaped,
  /// `cast.c` recast from float32 to int32.
  private func pair() throws -> Pair {
    let box = try Sandbox()
    let w = randomFloats(256, seed: 1)
    var w2 = w
    w2[3] += 0.5
    w2[100] = -w2[100]
    w2[255] = 2
    let v = randomFloats(64, seed: 2)
    let v2 = v.map { $0 * 1.1 }
    let shared: [TensorData] = [
      try floatTensor("enc.b", [16], seed: 3),
      try floatTensor("dec.w", [8, 8], seed: 4),
      try floatTensor("dec.b", [8], seed: 5),
    ]
    let castBytes = randomFloats(6, seed: 6).withUnsafeBytes { Array($0) }
    let before =
      shared + [
        try TensorData(name: "enc.w", shape: [16, 16], float32: w),
        try TensorData(name: "enc.v", shape: [64], float32: v),
        try floatTensor("old.x", [4], seed: 7),
        try floatTensor("shape.s", [2, 6], seed: 8),
        try TensorData(name: "cast.c", dtype: .float32, shape: [6], bytes: castBytes),
      ]
    let after =
      shared + [
        try TensorData(name: "enc.w", shape: [16, 16], float32: w2),
        try TensorData(name: "enc.v", shape: [64], float32: v2),
        try floatTensor("new.y", [4], seed: 9),
        try TensorData(
          name: "shape.s", shape: [3, 4], float32: randomFloats(12, seed: 8)),
        try TensorData(name: "cast.c", dtype: .int32, shape: [6], bytes: castBytes),
      ]
    let a = try box.commit(before, step: 1)
    let b = try box.commit(after, step: 2)
    return Pair(box: box, a: a, b: b, expectedW: Expected(w, w2), expectedV: Expected(v, v2))
  }

  private func close(_ x: Double?, _ y: Double) -> Bool {
    guard let x else { return false }
    return abs(x - y) <= 1e-12 * max(1, abs(y))
  }

  @Test func jsonReportsExactlyTheChangedTensorsWithCorrectStatistics() throws {
    let p = try pair()
    let r = try p.box.ck("diff", "main~1", "main", "--json")
    #expect(r.status == 1, "diff of different commits exits 1: \(r.stderr)")
    let d = try decodeJSON(DiffJSON.self, r.stdout)
    #expect(d.a == p.a && d.b == p.b && !d.identical)
    #expect(d.tensors.map(\.name) == ["cast.c", "enc.v", "enc.w", "new.y", "old.x", "shape.s"])
    #expect(
      d.tensors.map(\.change) == ["changed", "changed", "changed", "added", "removed", "changed"])
    // Tensors inside the unchanged subtree count too, named from the tree objects.
    #expect(d.unchangedTensors == ["dec.b", "dec.w", "enc.b"])
    #expect(d.unchangedSubtrees == ["dec."])

    // A dtype change is compared after widening: the same bytes read as float32, then int32.
    let cast = d.tensors[0]
    #expect(cast.dtypeChanged && !cast.shapeChanged)
    #expect(cast.old?.dtype == "float32" && cast.new?.dtype == "int32")
    let floats = randomFloats(6, seed: 6)
    let ints = floats.map { Double(Int32(bitPattern: $0.bitPattern)) }
    let castMax = zip(floats, ints).map { abs($1 - Double($0)) }.max()!
    #expect(cast.statistics?.kind == "float" && cast.statistics?.elements == 6)
    #expect(cast.changedElements == 6 && close(cast.maxAbs, castMax))
    let shape = d.tensors[5]
    #expect(shape.shapeChanged && !shape.dtypeChanged && shape.l2 == nil)
    #expect(shape.old?.shape == [2, 6] && shape.new?.shape == [3, 4])
    #expect(d.tensors[3].old == nil && d.tensors[3].new?.shape == [4])
    #expect(d.tensors[4].new == nil && d.tensors[4].old?.shape == [4])

    for (entry, expected) in [(d.tensors[2], p.expectedW), (d.tensors[1], p.expectedV)] {
      #expect(close(entry.l2, expected.l2), "\(entry.name) l2 \(entry.l2 ?? -1) vs \(expected.l2)")
      #expect(close(entry.relative, expected.relative), "\(entry.name) relative")
      #expect(close(entry.maxAbs, expected.maxAbs), "\(entry.name) max")
      #expect(entry.changedElements == expected.changed, "\(entry.name) changed elements")
      #expect(close(entry.changedFraction, expected.fraction), "\(entry.name) fraction")
    }
    #expect(p.expectedW.changed == 3)
    #expect(p.expectedW.maxAbs >= 0.5)
  }

  @Test func textListsEachTensorAndTheCounts() throws {
    let p = try pair()
    let r = try p.box.ck("diff", p.a, p.b)
    #expect(r.status == 1)
    let lines = r.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "diff \(p.a.prefix(12)) (step 1) → \(p.b.prefix(12)) (step 2)")
    let w = p.expectedW
    let pct = String(format: "%.1f%%", 100 * w.fraction)
    let wLine = try #require(lines.map(squashed).first { $0.hasPrefix("changed enc.w ") })
    #expect(wLine.hasSuffix("changed=\(pct)"), "\(wLine)")
    #expect(wLine.hasPrefix("changed enc.w float32 [16, 16] l2=\(String(format: "%.4g", w.l2)) "))
    #expect(wLine.contains(" max=\(String(format: "%.4g", w.maxAbs)) "), "\(wLine)")
    #expect(
      lines.map(squashed).contains {
        $0.hasPrefix("changed cast.c int32 [6] dtype float32 → int32; l2=")
      })
    #expect(lines.map(squashed).contains("changed shape.s float32 [3, 4] shape [2, 6] → [3, 4]"))
    #expect(lines.map(squashed).contains("added new.y float32 [4]"))
    #expect(lines.map(squashed).contains("removed old.x float32 [4]"))
    #expect(
      lines.last == "4 changed, 1 added, 1 removed, 3 unchanged tensors (1 unchanged subtrees)")
  }

  @Test func statListsChangesWithoutStatistics() throws {
    let p = try pair()
    let r = try p.box.ck("diff", "main~1", "main", "--stat")
    #expect(r.status == 1)
    #expect(!r.stdout.contains("l2="))
    #expect(r.stdout.contains("changed  enc.w"))
    #expect(
      r.stdout.hasSuffix(
        "4 changed, 1 added, 1 removed, 3 unchanged tensors (1 unchanged subtrees)\n"))
    let j = try decodeJSON(
      DiffJSON.self, try p.box.ck("diff", "main~1", "main", "--stat", "--json").stdout)
    #expect(
      j.tensors.count == 6 && j.tensors.allSatisfy { $0.statistics == nil })
  }

  /// Statistics for every floating dtype and an integer one, from values decoded here.
  @Test func statisticsForHalfDoubleAndIntegerDtypes() throws {
    let box = try Sandbox()
    let n = 96
    let base = randomFloats(n, seed: 21)
    let moved = base.enumerated().map { i, x in i % 5 == 0 ? x + 0.25 : x }
    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
    let encodings: [(DType, ([Float]) -> [UInt8], ([UInt8]) -> [Double])] = [
      (
        .float64, { bytes($0.map(Double.init)) },
        { b in b.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } }
      ),
      (
        .float16, { bytes($0.map { Float16($0).bitPattern }) },
        { b in
          b.withUnsafeBytes {
            $0.bindMemory(to: UInt16.self).map { Double(Float16(bitPattern: $0)) }
          }
        }
      ),
      (
        .bfloat16, { bytes($0.map { UInt16($0.bitPattern >> 16) }) },
        { b in
          b.withUnsafeBytes {
            $0.bindMemory(to: UInt16.self).map { Double(Float(bitPattern: UInt32($0) << 16)) }
          }
        }
      ),
      (
        .int8, { bytes($0.map { Int8(($0 * 100).rounded()) }) },
        { b in b.map { Double(Int8(bitPattern: $0)) } }
      ),
    ]
    var before: [TensorData] = []
    var after: [TensorData] = []
    var expected: [String: Expected] = [:]
    for (dtype, encode, decode) in encodings {
      let name = "t.\(dtype.name)"
      let a = encode(base)
      let b = encode(moved)
      before.append(try TensorData(name: name, dtype: dtype, shape: [n], bytes: a))
      after.append(try TensorData(name: name, dtype: dtype, shape: [n], bytes: b))
      var e = Expected(decode(a).map { Float($0) }, decode(b).map { Float($0) })
      // Recompute in Double from the decoded values (Expected converts through Float, exact for
      // these dtypes except float64).
      let x = decode(a)
      let y = decode(b)
      let d = zip(x, y).map { $1 - $0 }
      e.l2 = d.map { $0 * $0 }.reduce(0, +).squareRoot()
      e.relative = e.l2 / x.map { $0 * $0 }.reduce(0, +).squareRoot()
      e.maxAbs = d.map(abs).max()!
      e.changed = zip(a.chunked(dtype.size), b.chunked(dtype.size)).filter { $0 != $1 }.count
      e.fraction = Double(e.changed) / Double(n)
      expected[name] = e
    }
    try box.commit(before, step: 1)
    try box.commit(after, step: 2)
    let r = try box.ck("diff", "main~1", "main", "--json")
    #expect(r.status == 1)
    let d = try decodeJSON(DiffJSON.self, r.stdout)
    #expect(d.tensors.map(\.name).sorted() == expected.keys.sorted())
    for entry in d.tensors {
      let e = try #require(expected[entry.name])
      if entry.name == "t.int8" {
        // Integers: the changed count and the largest change, no l2.
        #expect(entry.statistics?.kind == "integer" && entry.l2 == nil && entry.relative == nil)
      } else {
        #expect(close(entry.l2, e.l2), "\(entry.name) l2 \(entry.l2 ?? -1) vs \(e.l2)")
        #expect(close(entry.relative, e.relative), "\(entry.name) relative")
      }
      #expect(
        close(entry.maxAbs, e.maxAbs), "\(entry.name) max \(entry.maxAbs ?? -1) vs \(e.maxAbs)")
      #expect(entry.changedElements == e.changed, "\(entry.name) changed elements")
      #expect(close(entry.changedFraction, e.fraction), "\(entry.name) fraction")
      #expect(e.changed > 0)
    }
  }

  @Test func identicalCommitsExitZero() throws {
    let p = try pair()
    // The same tensors again: a new commit with the same tree.
    let again = try p.box.export(p.b).tensors
    let c = try p.box.commit(again, step: 3)
    let r = try p.box.ck("diff", p.b, c)
    #expect(r.status == 0, "\(r.stderr)")
    // Every tensor of the tree is unchanged, counted from the trees without reading data.
    #expect(r.stdout.hasSuffix("0 changed, 0 added, 0 removed, 8 unchanged tensors\n"))
    let j = try p.box.ck("diff", "main", "main~1", "--json")
    #expect(j.status == 0)
    let d = try decodeJSON(DiffJSON.self, j.stdout)
    #expect(d.identical && d.tensors.isEmpty)
    let self_ = try p.box.ck("diff", "main", "main")
    #expect(self_.status == 0)
  }
}

extension Array where Element == UInt8 {
  /// Consecutive slices of `size` bytes.
  fileprivate func chunked(_ size: Int) -> [ArraySlice<UInt8>] {
    stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
  }
}
