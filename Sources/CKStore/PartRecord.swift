import Foundation

/// A part record's content (docs/FORMAT.md, "Part records"): canonical JSON, so a re-run with the
/// same tensors and descriptions writes the same bytes.
struct PartRecord: Codable, Equatable {
  var format = 1
  var branch: String
  var step: Int64
  var index: Int
  var parts: Int
  var tree: String
  var message: String
  var metrics: [String: Double]
  var metadata: [String: String]

  func encoded() throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(self)) + [10]
  }

  static func decode(_ bytes: [UInt8], key: PartKey) throws -> PartRecord {
    guard let record = try? JSONDecoder().decode(PartRecord.self, from: Data(bytes)),
      record.format == 1, record.branch == key.branch, record.step == key.step,
      record.index == key.index, record.parts == key.count, ObjectID(hex: record.tree) != nil
    else {
      throw StoreError(.corruptObject, "part record 'parts/\(key.path)' is not valid")
    }
    return record
  }
}

extension PartKey {
  /// The part tree that `record` (this key's record) names; throws `corruptObject` when the
  /// record is not valid.
  package func tree(ofRecord record: [UInt8]) throws -> ObjectID {
    ObjectID(hex: try PartRecord.decode(record, key: self).tree)!
  }
}

/// One part written to a store's objects (chunks and part tree, fsynced) but not yet recorded:
/// what a part directory's record is created from (docs/FORMAT.md, "Sharded commits", step 1).
package struct PreparedPart: Sendable {
  /// Where its record goes.
  package var key: PartKey
  /// The part tree's id.
  package var tree: ObjectID
  /// The record's bytes.
  package var record: [UInt8]

  /// `branch 'main' step 7 part 2 of 4 (rank 2)`, for messages.
  package var rank: String {
    "branch '\(key.branch)' step \(key.step) part \(key.index) of \(key.count) (rank \(key.index))"
  }

  /// The branch head if it is the sharded commit of this (step, N) and holds this part's tree
  /// (a re-run after the commit landed); throws `invalidArgument` when it holds another tree for
  /// this rank; nil when the head is not this checkpoint.
  package func landed(in head: Commit?) throws -> Commit? {
    guard let head, head.step == key.step,
      head.metadata[ShardedMetadataKeys.parts] == String(key.count)
    else { return nil }
    guard head.metadata[ShardedMetadataKeys.part(key.index)] == tree.hex else {
      throw StoreError(
        .invalidArgument,
        "\(rank): commit \(head.id.short) already holds this step with other content for "
          + "this rank (part tree \(head.metadata[ShardedMetadataKeys.part(key.index)] ?? "-"), "
          + "now \(tree.hex))")
    }
    return head
  }

  /// Succeeds when `existing` (a record found under this part's key) is this part's record; a
  /// re-run with other content throws `invalidArgument` naming branch, step and rank.
  package func check(existing: [UInt8]) throws {
    guard existing != record else { return }
    let other = try? PartRecord.decode(existing, key: key)
    throw StoreError(
      .invalidArgument,
      "\(rank) was already recorded with other content (part tree \(other?.tree ?? "?"), "
        + "now \(tree.hex)); remove that attempt's records before saving it again")
  }

  /// Throws when a record of this (branch, step) was written as part of another count.
  package func checkCount(_ present: [PartKey: [UInt8]]) throws {
    if let other = present.keys.first(where: { $0.count != key.count }) {
      throw StoreError(
        .invalidArgument,
        "branch '\(key.branch)' step \(key.step): part \(other.index) was recorded as one of "
          + "\(other.count) parts, this one as one of \(key.count)")
    }
  }
}

extension Commit {
  /// Whether this is the sharded commit built from exactly `records` (same step, count and part
  /// tree for every record): how a builder that lost the ref race recognizes the winner's.
  package func isBuilt(from records: [PartKey: [UInt8]]) -> Bool {
    guard let any = records.keys.first, step == any.step,
      metadata[ShardedMetadataKeys.parts] == String(any.count), records.count == any.count
    else { return false }
    return records.allSatisfy { key, bytes in
      (try? key.tree(ofRecord: bytes))?.hex == metadata[ShardedMetadataKeys.part(key.index)]
    }
  }
}
