import ArgumentParser
import CKRemote
import CKStore
import Foundation

/// `--part I/N` of `ckstore import`.
struct PartOption: ExpressibleByArgument {
  /// The part, 0-based.
  var index: Int
  /// The number of parts.
  var count: Int

  init?(argument: String) {
    let fields = argument.split(separator: "/", omittingEmptySubsequences: false)
    guard fields.count == 2, let i = Int(fields[0]), let n = Int(fields[1]), n >= 1, i >= 0, i < n
    else { return nil }
    index = i
    count = n
  }
}

/// The `__metadata__` key prefix that places a tensor as a slice of a global tensor.
enum SliceMetadata {
  static let prefix = "ckstore.slice."

  private struct Placement: Decodable {
    var global: [Int]
    var offset: [Int]
  }

  /// Splits the slice placements out of a file's metadata.
  static func split(_ metadata: [String: String], file: String) throws -> (
    slices: [String: SlicePlacement], rest: [String: String]
  ) {
    var slices: [String: SlicePlacement] = [:]
    var rest: [String: String] = [:]
    for (key, value) in metadata {
      guard key.hasPrefix(prefix) else {
        rest[key] = value
        continue
      }
      let name = String(key.dropFirst(prefix.count))
      guard let p = try? JSONDecoder().decode(Placement.self, from: Data(value.utf8)) else {
        throw StoreError(
          .invalidArgument,
          "'\(file)': metadata \(key) must be {\"global\": [dims], \"offset\": [indices]}, not "
            + value)
      }
      slices[name] = SlicePlacement(globalShape: p.global, offset: p.offset)
    }
    return (slices, rest)
  }
}

extension Ckstore.Import {
  func importPart(
    _ part: PartOption, _ sources: [TensorSource],
    _ recorded: (step: Int64?, message: String?, metrics: [String: Double], rest: [String: String]),
    store: Store, branch: String, step: Int64
  ) throws {
    let (slices, metadata) = try SliceMetadata.split(recorded.rest, file: files[0])
    let text = message ?? recorded.message ?? "import step \(step), \(part.count) parts"
    let outcome =
      try remote.map {
        try RemotePart.save(
          store, to: try store.connect($0), tensors: sources, slices: slices, part: part.index,
          of: part.count, branch: branch, step: step, message: text, metrics: recorded.metrics,
          metadata: metadata)
      }
      ?? store.commitPart(
        sources, slices: slices, part: part.index, of: part.count, branch: branch, step: step,
        message: text, metrics: recorded.metrics, metadata: metadata)
    let place = remote.map { "\($0)/\(branch)" } ?? branch
    switch outcome {
    case .committed(let commit):
      if output.json {
        // On a remote the commit is the remote's (its ref: REMOTE/BRANCH), not a local one.
        try printJSON(
          PartJSON(
            branch: branch, step: step, part: part.index, parts: part.count,
            recordedParts: part.count, pending: false,
            commit: CommitJSON(commit, pruned: false, refs: [place])))
      } else {
        print(
          "[\(place) \(commit.id.short)] step \(step): part \(part.index)/\(part.count) saved; "
            + "sharded commit of \(part.count) parts, \(Format.bytes(commit.logicalBytes))")
      }
    case .pending(let recordedParts, let parts):
      if output.json {
        try printJSON(
          PartJSON(
            branch: branch, step: step, part: part.index, parts: parts,
            recordedParts: recordedParts, pending: true, commit: nil))
      } else {
        print(
          "[\(place)] step \(step): part \(part.index)/\(parts) saved; \(recordedParts) of "
            + "\(parts) parts saved, the commit waits for the others")
      }
    }
  }

  /// `import --part --json` (docs/json-schema/import-part.json): one shape whether this part
  /// completed the commit (`commit` set) or the commit still waits for others (`null`).
  private struct PartJSON: Encodable {
    var branch: String
    var step: Int64
    var part: Int
    var parts: Int
    var recordedParts: Int
    var pending: Bool
    @Nullable var commit: CommitJSON?
  }
}
