import CKStore
import Foundation
import Testing

/// Damaged objects: every read of data that uses them fails with `corruptObject` naming the
/// object, `fsck` reports them, and data that does not use them still reads.
@Suite struct CorruptionTests {
  struct Fixture {
    let t: TempStore
    let first: Commit
    let head: Commit
    let tensors: [String: TensorData]
  }

  /// Two commits; the head has `a.w` (3 incompressible chunks, stored raw), `a.b`, `c.w` and
  /// `z` (2 compressible chunks, stored as zstd).
  static func fixture() throws -> Fixture {
    let t = try TempStore(chunkSize: 4096)
    var rng = TestRandom(state: 5)
    let z = try TensorData(
      name: "z", dtype: .int8, shape: [8192], bytes: (0..<8192).map { _ in UInt8(rng.next() % 3) })
    let tensors = try [
      Make.random("a.w", .uint8, [12000], seed: 1),
      Make.float32("a.b", [16], seed: 2),
      Make.random("c.w", .uint8, [5000], seed: 3),
      z,
    ]
    let first = try t.store.commit(
      [try Make.float32("old", [4], seed: 9)], to: "main", step: 1, message: "first")
    let head = try t.store.commit(tensors, to: "main", step: 2, message: "second")
    return Fixture(
      t: t, first: first, head: head,
      tensors: Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) }))
  }

  /// Runs `body` with the object's file replaced by `damaged`, then restores it.
  static func withDamage(
    _ t: TempStore, _ id: ObjectID, _ damaged: [UInt8], _ body: () throws -> Void
  ) throws {
    let path = t.objectPath(id)
    let original = try Files.read(path)
    try Files.write(damaged, to: path)
    defer { try? Files.write(original, to: path) }
    try body()
  }

  static func flipped(_ bytes: [UInt8], at position: Int, mask: UInt8 = 0x01) -> [UInt8] {
    var out = bytes
    out[position] ^= mask
    return out
  }

  /// `body` fails with `corruptObject` (or `objectNotFound`, for a missing file) naming `id`.
  static func expectCorrupt<T>(
    _ id: ObjectID, _ context: String, naming extra: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
  ) {
    let error = storeError(body)
    #expect(
      error?.code == .corruptObject || error?.code == .objectNotFound,
      "\(context): \(String(describing: error))", sourceLocation: sourceLocation)
    #expect(
      error?.message.contains(id.hex) == true, "\(context): \(String(describing: error))",
      sourceLocation: sourceLocation)
    if let extra {
      #expect(
        error?.message.contains(extra) == true, "\(context): \(String(describing: error))",
        sourceLocation: sourceLocation)
    }
  }

  /// fsck finds exactly one problem, naming `id` (and `tensor`, when given).
  static func expectFsckNames(
    _ store: Store, _ id: ObjectID, tensor: String? = nil, _ context: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let report = try store.fsck()
    #expect(!report.isClean, "\(context)", sourceLocation: sourceLocation)
    #expect(
      report.problems.map(\.object) == [id.hex], "\(context): \(report.problems)",
      sourceLocation: sourceLocation)
    if let tensor {
      #expect(
        report.problems.first?.tensors.contains(tensor) == true, "\(context): \(report.problems)",
        sourceLocation: sourceLocation)
    }
  }

  /// Positions worth running fsck for (it reads the whole store): the header fields, the body's
  /// first, middle and last bytes.
  static func fsckPositions(_ count: Int) -> [Int] {
    Array(Set([0, 3, 4, 5, 6, 8, 11, 15, 16, 17, count / 2, count - 1].filter { $0 < count }))
      .sorted()
  }

  @Test func damagedChunkFailsItsTensorOnly() throws {
    let f = try Self.fixture()
    let store = f.t.store
    let info = try store.tensorInfo(named: "a.w", in: f.head)
    #expect(info.chunks.count == 3)
    let chunk = info.chunks[1]
    let original = try Files.read(f.t.objectPath(chunk))
    #expect(original.count == 16 + 4096)  // incompressible: stored raw

    func othersStillRead(_ context: String) throws {
      for name in ["a.b", "c.w", "z"] {
        #expect(try store.readTensor(named: name, in: f.head) == f.tensors[name], "\(context)")
      }
    }

    // Every header byte but the reserved byte 7 (see reservedHeaderByteIsChecked), and body
    // bytes spread over the whole chunk (every byte of trees and commits is flipped below).
    let positions =
      Array(0..<16).filter { $0 != 7 } + Array(stride(from: 16, to: original.count, by: 61))
      + [original.count - 1]
    for position in positions {
      try Self.withDamage(f.t, chunk, Self.flipped(original, at: position)) {
        Self.expectCorrupt(chunk, "flip at \(position)", naming: "a.w") {
          try store.readTensor(named: "a.w", in: f.head)
        }
        if position % 4 == 0 { try othersStillRead("flip at \(position)") }
      }
    }
    for position in Self.fsckPositions(original.count) {
      for mask: UInt8 in [0x01, 0x80] {
        try Self.withDamage(f.t, chunk, Self.flipped(original, at: position, mask: mask)) {
          Self.expectCorrupt(chunk, "flip \(mask) at \(position)", naming: "a.w") {
            try store.readTensor(named: "a.w", in: f.head)
          }
          try Self.expectFsckNames(store, chunk, tensor: "a.w", "flip \(mask) at \(position)")
          try othersStillRead("flip \(mask) at \(position)")
        }
      }
    }
    for length in [0, 1, 10, 15, 16, 17, 2000, original.count - 1] {
      try Self.withDamage(f.t, chunk, Array(original.prefix(length))) {
        Self.expectCorrupt(chunk, "truncated to \(length)", naming: "a.w") {
          try store.readTensor(named: "a.w", in: f.head)
        }
        try Self.expectFsckNames(store, chunk, tensor: "a.w", "truncated to \(length)")
        try othersStillRead("truncated to \(length)")
      }
    }
    // A missing chunk is reported the same way.
    try FileManager.default.removeItem(atPath: f.t.objectPath(chunk))
    Self.expectCorrupt(chunk, "missing", naming: "a.w") {
      try store.readTensor(named: "a.w", in: f.head)
    }
    try Self.expectFsckNames(store, chunk, tensor: "a.w", "missing")
    try othersStillRead("missing")
  }

  @Test func damagedCompressedChunkFailsItsTensorOnly() throws {
    let f = try Self.fixture()
    let store = f.t.store
    let chunk = try store.tensorInfo(named: "z", in: f.head).chunks[0]
    let original = try Files.read(f.t.objectPath(chunk))
    #expect(original.count < 16 + 4096 / 2)  // really compressed
    let damages: [(String, [UInt8])] = [
      ("flip zstd magic", Self.flipped(original, at: 16)),
      ("flip middle", Self.flipped(original, at: 16 + (original.count - 16) / 2)),
      ("flip last", Self.flipped(original, at: original.count - 1)),
      ("flip length", Self.flipped(original, at: 9)),
      ("flip length high byte", Self.flipped(original, at: 15, mask: 0x80)),
      ("truncate body", Array(original.prefix(original.count - 1))),
      ("truncate to frame header", Array(original.prefix(22))),
    ]
    for (what, bytes) in damages {
      try Self.withDamage(f.t, chunk, bytes) {
        Self.expectCorrupt(chunk, what, naming: "z") {
          try store.readTensor(named: "z", in: f.head)
        }
        try Self.expectFsckNames(store, chunk, tensor: "z", what)
        #expect(try store.readTensor(named: "a.w", in: f.head) == f.tensors["a.w"], "\(what)")
      }
    }
  }

  @Test func damagedTreeFailsTheTensorsUnderIt() throws {
    let f = try Self.fixture()
    // The `a.` subtree's id: the root tree of a commit holding only its contents.
    let probe = try TempStore(chunkSize: 4096)
    let subtree = try probe.store.commit(
      [
        TensorData(name: "w", dtype: .uint8, shape: [12000], bytes: f.tensors["a.w"]!.bytes),
        TensorData(name: "b", dtype: .float32, shape: [16], bytes: f.tensors["a.b"]!.bytes),
      ], to: "main", step: 1
    ).tree
    #expect(f.t.hasObject(subtree))
    let original = try Files.read(f.t.objectPath(subtree))

    func check(_ damaged: [UInt8], _ context: String, fsck: Bool) throws {
      try Self.withDamage(f.t, subtree, damaged) {
        let store = try f.t.reopen()  // a fresh handle: no cached trees
        let head = try store.resolve("main")
        for name in ["a.w", "a.b"] {
          Self.expectCorrupt(subtree, "\(context), \(name)") {
            try store.readTensor(named: name, in: head)
          }
        }
        Self.expectCorrupt(subtree, "\(context), snapshot") { try store.readSnapshot(head) }
        #expect(try store.readTensor(named: "c.w", in: head) == f.tensors["c.w"], "\(context)")
        #expect(try store.readTensor(named: "z", in: head) == f.tensors["z"], "\(context)")
        if fsck {
          try Self.expectFsckNames(store, subtree, context)
          let problem = try store.fsck().problems.first
          #expect(problem?.commits == [f.head.id.short], "\(context)")
          #expect(
            problem.map { !$0.tensors.isEmpty && $0.tensors.allSatisfy { $0.hasPrefix("a.") } }
              == true, "\(context)")
        }
      }
    }

    for position in original.indices where position != 7 {
      try check(Self.flipped(original, at: position), "flip at \(position)", fsck: false)
    }
    for position in Self.fsckPositions(original.count) {
      try check(Self.flipped(original, at: position), "flip at \(position)", fsck: true)
    }
    try check(Self.flipped(original, at: 15, mask: 0x80), "flip high length bit", fsck: true)
    for length in [0, 8, 16, 20, original.count / 2, original.count - 1] {
      try check(Array(original.prefix(length)), "truncated to \(length)", fsck: true)
    }
  }

  @Test func damagedRootTreeFailsEveryTensorOfItsCommit() throws {
    let f = try Self.fixture()
    let original = try Files.read(f.t.objectPath(f.head.tree))
    for (what, bytes) in [
      ("flip", Self.flipped(original, at: original.count - 3)),
      ("truncate", Array(original.prefix(original.count - 1))),
    ] {
      try Self.withDamage(f.t, f.head.tree, bytes) {
        let store = try f.t.reopen()
        for name in f.tensors.keys {
          Self.expectCorrupt(f.head.tree, "\(what) \(name)") {
            try store.readTensor(named: name, in: f.head)
          }
        }
        Self.expectCorrupt(f.head.tree, what) { try store.tensors(in: f.head) }
        // The other commit does not use this tree.
        #expect(try store.readTensor(named: "old", in: f.first).shape == [4])
        try Self.expectFsckNames(store, f.head.tree, what)
      }
    }
  }

  @Test func damagedCommitFailsThatCommitOnly() throws {
    let f = try Self.fixture()
    let id = f.first.id
    let original = try Files.read(f.t.objectPath(id))

    func check(_ damaged: [UInt8], _ context: String, fsck: Bool) throws {
      try Self.withDamage(f.t, id, damaged) {
        let store = try f.t.reopen()
        Self.expectCorrupt(id, context) { try store.resolve("main~1") }
        Self.expectCorrupt(id, context) { try store.resolve("step-1") }
        Self.expectCorrupt(id, context) { try store.history(from: f.head.id) }
        // The head commit and its data are untouched.
        let head = try store.resolve("main")
        #expect(head == f.head, "\(context)")
        #expect(try store.readTensor(named: "c.w", in: head) == f.tensors["c.w"], "\(context)")
        if fsck { try Self.expectFsckNames(store, id, context) }
      }
    }
    for position in original.indices where position != 7 {
      try check(Self.flipped(original, at: position), "flip at \(position)", fsck: false)
    }
    for position in Self.fsckPositions(original.count) {
      try check(Self.flipped(original, at: position), "flip at \(position)", fsck: true)
    }
    for length in [0, 12, 16, 40, original.count - 1] {
      try check(Array(original.prefix(length)), "truncated to \(length)", fsck: true)
    }
    // The head commit itself: resolving the branch fails naming it.
    try Self.withDamage(
      f.t, f.head.id, Self.flipped(try Files.read(f.t.objectPath(f.head.id)), at: 30)
    ) {
      let store = try f.t.reopen()
      Self.expectCorrupt(f.head.id, "head") { try store.resolve("main") }
      let report = try store.fsck()
      #expect(report.problems.map(\.object) == [f.head.id.hex])
      #expect(report.problems.first?.message.contains("main") == true)
    }
    #expect(try f.t.store.fsck().isClean)
  }

  /// The header's reserved byte must be zero; a flip there is damage too.
  @Test func reservedHeaderByteIsChecked() throws {
    let f = try Self.fixture()
    let chunk = try f.t.store.tensorInfo(named: "a.w", in: f.head).chunks[0]
    let original = try Files.read(f.t.objectPath(chunk))
    try Self.withDamage(f.t, chunk, Self.flipped(original, at: 7)) {
      Self.expectCorrupt(chunk, "reserved byte", naming: "a.w") {
        try f.t.store.readTensor(named: "a.w", in: f.head)
      }
      try Self.expectFsckNames(f.t.store, chunk, tensor: "a.w", "reserved byte")
    }
  }
}
