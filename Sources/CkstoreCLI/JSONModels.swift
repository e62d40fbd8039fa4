import CKStore
import Foundation

// The shapes `--json` prints; docs/JSON.md states the conventions and docs/json-schema/ the
// schemas, which the CLI tests validate every command's output against.

/// An optional field that is printed as `null` when absent, never left out (JSON.md rule 3).
@propertyWrapper
struct Nullable<Value: Encodable>: Encodable {
  var wrappedValue: Value?

  init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

  func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
  }
}

/// Collects the non-finite numbers of one JSON object: each becomes `null` in place and an entry
/// `path → "nan" | "inf" | "-inf"` in the object's `nonFinite` (JSON.md rule 8).
struct NonFinite {
  private(set) var entries: [String: String] = [:]

  /// `x` if finite (or nil), else nil with the reason recorded under `path`.
  mutating func finite(_ x: Double?, _ path: String) -> Double? {
    guard let x, !x.isFinite else { return x }
    entries[path] = x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf")
    return nil
  }

  /// A map of numbers with each non-finite value nulled under `field/KEY`.
  mutating func finite(_ map: [String: Double], _ field: String) -> [String: Double?] {
    Dictionary(
      uniqueKeysWithValues: map.map {
        ($0.key, finite($0.value, field + "/" + Self.escape($0.key)))
      })
  }

  /// RFC 6901 escaping of one JSON Pointer segment.
  static func escape(_ key: String) -> String {
    key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
  }
}

/// A commit, the same shape in every command's output (`common.json#/$defs/commit`).
struct CommitJSON: Encodable {
  var id: String
  /// The root tree: equal trees hold the same tensors, whatever the commits around them.
  var tree: String
  var parents: [String]
  var step: Int64
  var time: Date
  var message: String
  var metrics: [String: Double?]
  var metadata: [String: String]
  var logicalBytes: Int64
  var addedBytes: Int64
  var pruned: Bool
  var refs: [String]
  var nonFinite: [String: String]

  init(_ c: Commit, pruned: Bool, refs: [String]) {
    id = c.id.hex
    tree = c.tree.hex
    parents = c.parents.map(\.hex)
    step = c.step
    time = c.time
    message = c.message
    var nonFinite = NonFinite()
    metrics = nonFinite.finite(c.metrics, "metrics")
    self.nonFinite = nonFinite.entries
    metadata = c.metadata
    logicalBytes = c.logicalBytes
    addedBytes = c.addedBytes
    self.pruned = pruned
    self.refs = refs
  }

  /// The commit as the store records it, with pruned state and decorations looked up.
  init(_ c: Commit, in store: Store, refs: [ObjectID: [String]]) {
    self.init(c, pruned: store.isPruned(c.id), refs: refs[c.id] ?? [])
  }
}

/// A tensor entry (`common.json#/$defs/tensor`).
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

/// One ref change (`common.json#/$defs/refUpdate`).
struct RefUpdateJSON: Encodable {
  var kind: String
  var name: String
  var action: String
  @Nullable var old: String?
  @Nullable var new: String?
  @Nullable var oldName: String?

  init(_ change: RefChange) {
    kind = change.kind.rawValue
    name = change.name
    action = change.action.rawValue
    old = change.old?.hex
    new = change.new?.hex
    oldName = change.oldName
  }

  /// A change described field by field (a remote's ref, which has no local `RefChange`).
  init(kind: String, name: String, action: String, old: String?, new: String?, oldName: String?) {
    self.kind = kind
    self.name = name
    self.action = action
    self.old = old
    self.new = new
    self.oldName = oldName
  }
}

/// `{"refUpdates": [...]}`: what `tag` and `branch` changed.
struct RefUpdatesJSON: Encodable {
  var refUpdates: [RefUpdateJSON]
}

/// The error document of a failed command (exit 2).
struct ErrorJSON: Encodable {
  struct Body: Encodable {
    var code: String
    var message: String
  }
  var error: Body
}

extension Store {
  /// Ref decorations per commit (`main`, `tag: v1`), HEAD's branch first.
  func decorations() throws -> [ObjectID: [String]] {
    var out: [ObjectID: [String]] = [:]
    let current = try? currentBranch()
    for (name, id) in try branches() {
      if name == current {
        out[id, default: []].insert(name, at: 0)
      } else {
        out[id, default: []].append(name)
      }
    }
    for (name, id) in try tags() { out[id, default: []].append("tag: " + name) }
    return out
  }
}
