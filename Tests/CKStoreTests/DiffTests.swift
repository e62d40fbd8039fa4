import CKStore
import Foundation
import Testing

@Suite struct DiffTests {
  /// Elementwise statistics of b − a computed here, independently of the store, in Double.
  struct Expected {
    var l2: Double
    var relative: Double
    var maxAbs: Double
    var changed: Int
  }

  static func expected(_ a: [Double], _ b: [Double], changedBits: Int) -> Expected {
    var sumSq = 0.0
    var baseSq = 0.0
    var maxAbs = 0.0
    for (x, y) in zip(a, b) {
      sumSq += (y - x) * (y - x)
      baseSq += x * x
      maxAbs = Swift.max(maxAbs, Swift.abs(y - x))
    }
    return Expected(
      l2: sumSq.squareRoot(), relative: sumSq.squareRoot() / baseSq.squareRoot(), maxAbs: maxAbs,
      changed: changedBits)
  }

  static func close(_ x: Double?, _ y: Double) -> Bool {
    guard let x else { return false }
    return Swift.abs(x - y) <= 1e-12 * Swift.max(1, Swift.abs(y))
  }

  /// Elements (of `size` bytes) whose bytes differ.
  static func differingElements(_ a: [UInt8], _ b: [UInt8], size: Int) -> Int {
    stride(from: 0, to: a.count, by: size).filter { a[$0..<$0 + size] != b[$0..<$0 + size] }.count
  }

  @Test func reportsExactlyTheChangedTensorsWithCorrectStatistics() throws {
    let t = try TempStore(chunkSize: 256)
    var rng = TestRandom(state: 2024)

    // float32: 37 scattered elements change by known amounts.
    let aF32 = rng.floats(64 * 8, scale: 3)
    var bF32 = aF32
    for k in 0..<37 { bF32[(k * 13) % bF32.count] += Float(k + 1) * 0.125 }
    // float64: every element changes a little.
    let aF64 = (0..<100).map { _ in Double(rng.next() % 1000) / 7 }
    let bF64 = aF64.enumerated().map { $0.element * 1.01 + Double($0.offset % 3) }
    // float16: a few elements change.
    let aF16 = (0..<50).map { _ in Float16(Float(rng.next() % 2000) / 100 - 10) }
    var bF16 = aF16
    for i in [0, 7, 49] { bF16[i] += 3 }
    // bfloat16: upper halves of float32 values.
    let aBF = (0..<40).map { _ in
      UInt16(truncatingIfNeeded: rng.floats(1, scale: 8)[0].bitPattern >> 16)
    }
    var bBF = aBF
    bBF[3] ^= 0x0040
    bBF[20] ^= 0x8000  // sign flip
    // int32 and uint8: integer diffs.
    let aI32: [Int32] = (0..<30).map { Int32($0 * 1000 - 7000) }
    var bI32 = aI32
    bI32[5] = -123_456
    bI32[29] = Int32.max
    let aU8: [UInt8] = (0..<20).map { UInt8($0 * 12) }
    var bU8 = aU8
    bU8[19] = 0
    bU8[0] = 255

    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    let unchanged = try Make.float32("m.same", [8, 8], seed: 1)
    let subtree = try [
      Make.float32("sub.x", [10], seed: 2), Make.float32("sub.deep.y", [3], seed: 3),
    ]
    let a: [TensorData] =
      try [
        unchanged,
        TensorData(name: "m.f32", dtype: .float32, shape: [64, 8], bytes: bytes(aF32)),
        TensorData(name: "m.f64", dtype: .float64, shape: [10, 10], bytes: bytes(aF64)),
        TensorData(name: "m.f16", dtype: .float16, shape: [50], bytes: bytes(aF16)),
        TensorData(name: "m.bf16", dtype: .bfloat16, shape: [4, 10], bytes: bytes(aBF)),
        TensorData(name: "m.i32", dtype: .int32, shape: [30], bytes: bytes(aI32)),
        TensorData(name: "m.u8", dtype: .uint8, shape: [20], bytes: aU8),
        Make.float32("m.removed", [4], seed: 4),
        Make.float32("m.dtype", [4, 4], seed: 5),
        Make.float32("m.shape", [4, 4], seed: 6),
      ] + subtree
    let dtypeChanged = try TensorData(
      name: "m.dtype", dtype: .int32, shape: [4, 4], bytes: a[8].bytes)
    let shapeChanged = try TensorData(
      name: "m.shape", dtype: .float32, shape: [16], bytes: a[9].bytes)
    let b: [TensorData] =
      try [
        unchanged,
        TensorData(name: "m.f32", dtype: .float32, shape: [64, 8], bytes: bytes(bF32)),
        TensorData(name: "m.f64", dtype: .float64, shape: [10, 10], bytes: bytes(bF64)),
        TensorData(name: "m.f16", dtype: .float16, shape: [50], bytes: bytes(bF16)),
        TensorData(name: "m.bf16", dtype: .bfloat16, shape: [4, 10], bytes: bytes(bBF)),
        TensorData(name: "m.i32", dtype: .int32, shape: [30], bytes: bytes(bI32)),
        TensorData(name: "m.u8", dtype: .uint8, shape: [20], bytes: bU8),
        dtypeChanged, shapeChanged,
        Make.float32("m.added", [2, 2], seed: 7),
      ] + subtree
    let ca = try t.store.commit(a, to: "main", step: 1)
    let cb = try t.store.commit(b, to: "main", step: 2)

    let diff = try t.store.diff(ca, cb)
    let names = diff.tensors.map(\.name)
    #expect(
      names == [
        "m.added", "m.bf16", "m.dtype", "m.f16", "m.f32", "m.f64", "m.i32", "m.removed",
        "m.shape", "m.u8",
      ])
    // Tensors inside the unchanged subtree are listed too, from the tree objects.
    #expect(diff.unchangedTensors == ["m.same", "sub.deep.y", "sub.x"])
    #expect(diff.unchangedSubtrees == ["sub."])
    #expect(!diff.isIdentical)
    let byName = Dictionary(uniqueKeysWithValues: diff.tensors.map { ($0.name, $0) })
    #expect(byName["m.added"]?.change == .added && byName["m.added"]?.old == nil)
    #expect(byName["m.added"]?.new?.shape == [2, 2])
    #expect(byName["m.removed"]?.change == .removed && byName["m.removed"]?.new == nil)
    #expect(byName["m.dtype"]?.change == .changed)
    #expect(byName["m.dtype"]?.dtypeChanged == true && byName["m.dtype"]?.shapeChanged == false)
    // A dtype change of the same shape is compared after widening (float32 bits read as int32).
    #expect(byName["m.dtype"]?.statistics?.elements == 16)
    #expect(byName["m.dtype"]?.statistics?.kind == .float)
    #expect(byName["m.shape"]?.change == .changed)
    #expect(byName["m.shape"]?.shapeChanged == true && byName["m.shape"]?.dtypeChanged == false)
    #expect(byName["m.shape"]?.statistics == nil)
    for name in ["m.f32", "m.f64", "m.f16", "m.bf16", "m.i32", "m.u8"] {
      #expect(byName[name]?.change == .changed, "\(name)")
      #expect(byName[name]?.dtypeChanged == false && byName[name]?.shapeChanged == false)
    }

    func check(_ name: String, _ x: [Double], _ y: [Double], _ e: Expected, elements: Int) {
      let s = byName[name]?.statistics
      #expect(s != nil, "\(name) has no statistics")
      if s?.kind == .integer {
        // Integer tensors: no l2 or relative change, only the count and the largest change.
        #expect(s?.l2 == nil && s?.relative == nil, "\(name)")
      } else {
        #expect(Self.close(s?.l2, e.l2), "\(name) l2 \(String(describing: s?.l2)) vs \(e.l2)")
        #expect(
          Self.close(s?.relative, e.relative),
          "\(name) relative \(String(describing: s?.relative)) vs \(e.relative)")
      }
      #expect(Self.close(s?.maxAbs, e.maxAbs), "\(name) maxAbs \(String(describing: s?.maxAbs))")
      #expect(s?.changedElements == e.changed, "\(name) changed")
      #expect(s?.elements == elements, "\(name) elements")
      #expect(Self.close(s?.changedFraction, Double(e.changed) / Double(elements)))
    }
    let f32a = aF32.map(Double.init)
    let f32b = bF32.map(Double.init)
    check("m.f32", f32a, f32b, Self.expected(f32a, f32b, changedBits: 37), elements: 512)
    check(
      "m.f64", aF64, bF64,
      Self.expected(
        aF64, bF64,
        changedBits: Self.differingElements(
          bytes(aF64), bytes(bF64), size: 8)), elements: 100)
    let f16a = aF16.map { Double($0) }
    let f16b = bF16.map { Double($0) }
    check("m.f16", f16a, f16b, Self.expected(f16a, f16b, changedBits: 3), elements: 50)
    let bfa = aBF.map { Double(Float(bitPattern: UInt32($0) << 16)) }
    let bfb = bBF.map { Double(Float(bitPattern: UInt32($0) << 16)) }
    check("m.bf16", bfa, bfb, Self.expected(bfa, bfb, changedBits: 2), elements: 40)
    let i32a = aI32.map(Double.init)
    let i32b = bI32.map(Double.init)
    check("m.i32", i32a, i32b, Self.expected(i32a, i32b, changedBits: 2), elements: 30)
    let u8a = aU8.map(Double.init)
    let u8b = bU8.map(Double.init)
    check("m.u8", u8a, u8b, Self.expected(u8a, u8b, changedBits: 2), elements: 20)
    // Spot values that need no arithmetic to trust.
    #expect(byName["m.i32"]?.statistics?.kind == .integer)
    #expect(byName["m.u8"]?.statistics?.kind == .integer)
    #expect(byName["m.i32"]?.statistics?.maxAbs == Double(Int32.max) - 22_000)
    #expect(byName["m.u8"]?.statistics?.maxAbs == 255)

    // Without statistics: the same classification, no numbers.
    let quick = try t.store.diff(ca, cb, statistics: false)
    #expect(quick.tensors.map(\.name) == names)
    #expect(quick.tensors.allSatisfy { $0.statistics == nil })

    // A commit against itself is identical; reversed, added and removed swap.
    #expect(try t.store.diff(cb, cb).isIdentical)
    let back = try t.store.diff(cb, ca, statistics: false)
    let backByName = Dictionary(uniqueKeysWithValues: back.tensors.map { ($0.name, $0.change) })
    #expect(backByName["m.added"] == .removed && backByName["m.removed"] == .added)
  }

  /// Unchanged tensors and subtrees are recognised by id: diff succeeds, with statistics, after
  /// their chunks are deleted or damaged on disk. The shared subtree's tree object is read (to
  /// count the tensors in it), never its data.
  @Test func neverReadsUnchangedData() throws {
    let t = try TempStore(chunkSize: 1024)
    let big = try Make.float32("frozen.embedding", [64, 64], seed: 1)
    let bias = try Make.float32("frozen.bias", [64], seed: 2)
    let same = try Make.float32("top", [300], seed: 3)
    let w1 = try Make.float32("train.w", [32, 8], seed: 4)
    var values = w1.bytes.floats
    values[17] = 42
    let w2 = try TensorData(name: "train.w", shape: [32, 8], float32: values)
    let c1 = try t.store.commit([big, bias, same, w1], to: "main", step: 1)
    let c2 = try t.store.commit([big, bias, same, w2], to: "main", step: 2)

    // The shared `frozen.` subtree's id: the root tree of a commit holding only its contents.
    let probe = try TempStore(chunkSize: 1024)
    let frozenTree = try probe.store.commit(
      [
        TensorData(name: "embedding", dtype: .float32, shape: [64, 64], bytes: big.bytes),
        TensorData(name: "bias", dtype: .float32, shape: [64], bytes: bias.bytes),
      ], to: "main", step: 1
    ).tree
    #expect(t.hasObject(frozenTree))

    let infos = try t.store.tensors(in: c1)
    let unchangedChunks = infos.filter { $0.name != "train.w" }.flatMap(\.chunks)
    #expect(unchangedChunks.count > 3)
    for (i, id) in unchangedChunks.enumerated() {
      // Delete some, overwrite the others with garbage.
      if i % 2 == 0 {
        try FileManager.default.removeItem(atPath: t.objectPath(id))
      } else {
        try Files.write([UInt8](repeating: 0xEE, count: 40), to: t.objectPath(id))
      }
    }

    let store = try t.reopen()  // no cached trees
    let a = try store.resolve("main~1")
    let b = try store.resolve("main")
    #expect(b == c2)
    let diff = try store.diff(a, b)
    #expect(diff.tensors.map(\.name) == ["train.w"])
    #expect(diff.unchangedSubtrees == ["frozen."])
    #expect(diff.unchangedTensors == ["frozen.bias", "frozen.embedding", "top"])
    let s = try #require(diff.tensors.first?.statistics)
    let old = Double(w1.bytes.floats[17])
    #expect(s.changedElements == 1)
    #expect(s.maxAbs == Swift.abs(42 - old))
    #expect(s.l2 == Swift.abs(42 - old))

    // The damage is real: reading those tensors fails.
    for name in ["top", "frozen.bias", "frozen.embedding"] {
      let code = storeError { try store.readTensor(named: name, in: b) }?.code
      #expect(
        code == .objectNotFound || code == .corruptObject, "\(name): \(String(describing: code))")
    }
    #expect(try store.readTensor(named: "train.w", in: b) == w2)
  }
}
