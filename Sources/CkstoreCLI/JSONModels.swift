import CKStore
import Foundation

/// A commit as `log --json` and `show --json` print it.
struct CommitJSON: Encodable {
  var id: String
  /// The root tree: equal trees hold the same tensors, whatever the commits around them.
  var tree: String
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

  init(_ c: Commit, pruned: Bool, refs: [String]) {
    id = c.id.hex
    tree = c.tree.hex
    parents = c.parents.map(\.hex)
    step = c.step
    time = c.time
    message = c.message
    metrics = c.metrics
    metadata = c.metadata
    logicalBytes = c.logicalBytes
    addedBytes = c.addedBytes
    self.pruned = pruned
    self.refs = refs
  }
}

/// A tensor entry as `show --json` and `diff --json` print it.
struct TensorJSON: Encodable {
  var name: String
  var dtype: String
  var shape: [Int]
  var bytes: Int
  var chunks: [String]

  init(_ t: TensorInfo) {
    name = t.name
    dtype = t.dtype.name
    shape = t.shape
    bytes = t.byteCount
    chunks = t.chunks.map(\.hex)
  }
}

extension Store {
  /// Ref decorations per commit (`main`, `tag: v1`), HEAD's branch first.
  func decorations() throws -> [ObjectID: [String]] {
    var out: [ObjectID: [String]] = [:]
    for (name, id) in try branches() { out[id, default: []].append(name) }
    for (name, id) in try tags() { out[id, default: []].append("tag: " + name) }
    return out
  }
}
