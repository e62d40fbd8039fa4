import Foundation

/// A commit: one checkpoint's tree plus what describes it (docs/FORMAT.md, "Commit").
public struct Commit: Equatable, Sendable {
  static let magic: [UInt8] = Array("CKCM".utf8)

  /// The commit's own id (SHA-256 of its encoding).
  public var id: ObjectID
  /// The root tree.
  public var tree: ObjectID
  /// Parent commits; the first is the previous commit on the branch.
  public var parents: [ObjectID]
  /// The training step this checkpoint was taken at.
  public var step: Int64
  /// Creation time.
  public var time: Date
  /// Free text.
  public var message: String
  /// Named scalars (loss, accuracy, lr …).
  public var metrics: [String: Double]
  /// Named strings (hyper-parameters, host, safetensors `__metadata__` …).
  public var metadata: [String: String]
  /// Sum of the tensors' canonical byte counts.
  public var logicalBytes: Int64
  /// Bytes of object files this commit added to the store when it was written.
  public var addedBytes: Int64

  func encoded() -> [UInt8] {
    var w = ByteWriter()
    w.raw(Self.magic)
    w.id(tree)
    w.u32(UInt32(parents.count))
    for p in parents { w.id(p) }
    w.i64(step)
    w.i64(Int64((time.timeIntervalSince1970 * 1000).rounded()))
    w.i64(logicalBytes)
    w.i64(addedBytes)
    w.string(message)
    w.u32(UInt32(metrics.count))
    for (k, v) in metrics.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
      w.string(k)
      w.f64(v)
    }
    w.u32(UInt32(metadata.count))
    for (k, v) in metadata.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
      w.string(k)
      w.string(v)
    }
    return w.bytes
  }

  static func decode(_ bytes: [UInt8], id: ObjectID) throws -> Commit {
    var r = ByteReader(bytes, object: id.hex)
    guard try r.raw(4) == magic else {
      throw StoreError(.corruptObject, "commit \(id.hex): bad magic")
    }
    let tree = try r.id()
    var parents: [ObjectID] = []
    for _ in 0..<(try r.u32()) { parents.append(try r.id()) }
    let step = try r.i64()
    let millis = try r.i64()
    let logical = try r.i64()
    let added = try r.i64()
    let message = try r.string()
    var metrics: [String: Double] = [:]
    for _ in 0..<(try r.u32()) { metrics[try r.string()] = try r.f64() }
    var metadata: [String: String] = [:]
    for _ in 0..<(try r.u32()) { metadata[try r.string()] = try r.string() }
    guard r.isAtEnd else { throw StoreError(.corruptObject, "commit \(id.hex): trailing bytes") }
    return Commit(
      id: id, tree: tree, parents: parents, step: step,
      time: Date(timeIntervalSince1970: Double(millis) / 1000), message: message,
      metrics: metrics, metadata: metadata, logicalBytes: logical, addedBytes: added)
  }
}
