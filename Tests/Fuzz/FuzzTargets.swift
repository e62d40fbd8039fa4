// libFuzzer entry points for the store's decoders. Not part of the package: scripts/fuzz.sh
// compiles this file together with Sources/CKStore/*.swift into one binary (so internal decoders
// are callable) with `-sanitize=fuzzer,address`. CKFUZZ_TARGET picks the target.
//
// A finding is a trap, a sanitizer report, or an error that is not a `StoreError` (the store's
// rule: every failure is a typed error naming the thing at fault).

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What one input is fed to.
enum FuzzTarget: String, CaseIterable {
  /// `Safetensors.decode`: the 8-byte length, the JSON header, the data offsets.
  case safetensors
  /// An object file through the read path: header, codecs 0–3, length checks, delta bases.
  case object
  /// `Tree.decode`, and that a tree it accepts encodes back to the same bytes.
  case tree
  /// `Commit.decode`.
  case commit
  /// `Store.resolve` against a small real store.
  case revision
}

/// State made once per process: the chosen target and, for the store targets, a store.
enum Fuzz {
  nonisolated(unsafe) static var target = FuzzTarget.safetensors
  nonisolated(unsafe) static var store: Store! = nil
  /// The id under which the object target plants each input.
  static let plantedID = SHA256.hash(Array("fuzz input".utf8))
  /// The store's folder, removed at exit.
  static let root = NSTemporaryDirectory() + "ckfuzz-\(getpid())"

  static func setUp() {
    let name = ProcessInfo.processInfo.environment["CKFUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
      let all = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
      FileHandle.standardError.write(Data("set CKFUZZ_TARGET to one of: \(all)\n".utf8))
      exit(2)
    }
    target = t
    let seeds = ProcessInfo.processInfo.environment["CKFUZZ_WRITE_SEEDS"]
    guard t == .object || t == .revision || seeds != nil else { return }
    do {
      store = try makeStore()
      if let seeds {
        try writeSeeds(to: seeds)
        exit(0)
      }
    } catch {
      FileHandle.standardError.write(Data("fuzz: cannot make the store or seeds: \(error)\n".utf8))
      exit(2)
    }
  }

  /// With CKFUZZ_WRITE_SEEDS=DIR: writes what the real encoders made for this target into DIR
  /// (object files; tree or commit payloads) and exits. scripts/fuzz-seeds.sh uses it.
  static func writeSeeds(to dir: String) throws {
    try FileIO.makeDirectories(dir)
    for (id, _) in store.objects.all() {
      let file = try FileIO.read(store.objects.path(for: id))
      let header = try ObjectHeader.decode(file, object: id.hex)
      let seed: [UInt8]?
      switch target {
      case .object: seed = file
      case .tree: seed = header.kind == .tree ? try store.objects.get(id) : nil
      case .commit: seed = header.kind == .commit ? try store.objects.get(id) : nil
      case .safetensors, .revision: seed = nil
      }
      if let seed {
        try write(seed, to: dir + "/" + String(describing: header.kind) + "-" + id.short)
      }
    }
  }

  /// A delta store with three commits on `main` (steps 10, 20, 30), a branch `dev/x` and a tag
  /// `v1`: every object kind and chunk codec, and every revision form, has something to find.
  static func makeStore() throws -> Store {
    try? FileManager.default.removeItem(atPath: root)
    atexit { try? FileManager.default.removeItem(atPath: Fuzz.root) }
    let s = try Store.create(at: root, configuration: StoreConfiguration(deltaAgainstParent: true))
    var commits: [Commit] = []
    for (step, scale) in [(10, Float(1)), (20, Float(1.001)), (30, Float(0.5))] {
      let weights = (0..<256).map { Float(sin(Double($0) * 0.1)) * scale }
      let tensors = [
        try TensorData(name: "model.w", shape: [16, 16], float32: weights),
        try TensorData(
          name: "ids", dtype: .int64, shape: [4], bytes: [UInt8](repeating: 3, count: 32)),
        try TensorData(name: "raw", dtype: .uint8, shape: [8], bytes: Array(0..<8)),
      ]
      commits.append(try s.commit(tensors, to: "main", step: Int64(step), message: "s\(step)"))
    }
    try s.createBranch("dev/x", at: commits[1].id)
    try s.createTag("v1", at: commits[0].id)
    return s
  }

  static func run(_ bytes: [UInt8]) {
    do {
      switch target {
      case .safetensors: _ = try Safetensors.decode(bytes, file: "fuzz-input")
      case .object: try object(bytes)
      case .tree: try tree(bytes)
      case .commit: _ = try Commit.decode(bytes, id: plantedID)
      case .revision: _ = try store.resolve(String(decoding: bytes, as: UTF8.self))
      }
    } catch is StoreError {
      // The expected outcome for damaged input.
    } catch {
      fatalError("\(target): untyped error \(type(of: error)): \(error)")
    }
  }

  static func object(_ bytes: [UInt8]) throws {
    let path = store.objects.path(for: plantedID)
    try FileIO.makeDirectories(FileIO.parentFolder(path))
    try write(bytes, to: path)
    _ = try? store.objects.deltaBase(of: plantedID)
    // get() must refuse a length its stored data cannot back (reproducer in Tests/Fuzz/crashes/
    // object-zstd-frame-declares-1TiB) rather than allocate it.
    _ = try? store.objects.get(plantedID)
    // The read path into a buffer of the header's length (the harness's own allocation is capped);
    // a delta body shorter than its base id must be refused (object-delta-body-shorter-than-base-id).
    let header = try? ObjectHeader.decode(bytes, object: "fuzz")
    if let header, header.length <= 1 << 20 {
      var out = [UInt8](repeating: 0, count: Int(header.length))
      try out.withUnsafeMutableBytes { try store.objects.read(chunk: plantedID, into: $0) }
    }
  }

  static func tree(_ bytes: [UInt8]) throws {
    let decoded = try Tree.decode(bytes, id: plantedID)
    // Trees are canonical: the same content has one encoding, or ids would not dedupe.
    guard decoded.encoded() == bytes else {
      fatalError("tree: accepted bytes that do not re-encode to themselves")
    }
  }

  /// Replaces the file with plain write(2): the fuzzer needs speed, not durability.
  static func write(_ bytes: [UInt8], to path: String) throws {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StoreError(.io, "fuzz: cannot create \(path)") }
    defer { close(fd) }
    try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: path) }
  }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
  _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> CInt {
  Fuzz.setUp()
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  Fuzz.run(bytes)
  return 0
}
