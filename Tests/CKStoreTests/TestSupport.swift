import CKStore
import Foundation

/// A fresh store in a temporary folder, removed when the test's value goes away.
final class TempStore {
  let path: String
  let store: Store

  init(chunkSize: Int = StoreConfiguration.defaultChunkSize) throws {
    path = NSTemporaryDirectory() + "ckstore-test-" + UUID().uuidString
    store = try Store.create(at: path, configuration: StoreConfiguration(chunkSize: chunkSize))
  }

  init(configuration: StoreConfiguration) throws {
    path = NSTemporaryDirectory() + "ckstore-test-" + UUID().uuidString
    store = try Store.create(at: path, configuration: configuration)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Paths of every object file.
  func objectFiles() -> [String] {
    let objects = path + "/objects"
    return ((try? FileManager.default.subpathsOfDirectory(atPath: objects)) ?? [])
      .filter { $0.count == 65 }.map { objects + "/" + $0 }
  }
}

/// A deterministic byte generator (SplitMix64) for test data.
struct TestRandom {
  var state: UInt64

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func bytes(_ count: Int) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(count)
    for _ in 0..<count { out.append(UInt8(truncatingIfNeeded: next())) }
    return out
  }

  mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
    var out = [Float]()
    out.reserveCapacity(count)
    for _ in 0..<count { out.append((Float(next() >> 40) / Float(1 << 24) - 0.5) * scale) }
    return out
  }
}

extension Array where Element == Float {
  var bytes: [UInt8] { withUnsafeBytes { [UInt8]($0) } }
}

extension Array where Element == UInt8 {
  var floats: [Float] {
    withUnsafeBytes { raw in [Float](raw.bindMemory(to: Float.self)) }
  }
}
