import CKStore
import Foundation

/// Part records on a remote (docs/FORMAT.md, "Sharded commits", remote variant): the object
/// `parts/<escaped branch>/<step>/<I>-of-<N>`, created by a conditional PUT (`If-None-Match: *`),
/// so that of two writers exactly one creates it, and nothing else ever rewrites it.
struct RemotePartDirectory: PartDirectory {
  let remote: RemoteStore

  private static func folder(_ branch: String, _ step: Int64) -> String {
    "parts/" + PartKey.folder(branch, step) + "/"
  }

  func create(_ key: PartKey, contents: [UInt8]) throws -> [UInt8]? {
    let name = "parts/" + key.path
    guard try remote.put(name, Data(contents), .absent) == .conditionFailed else { return nil }
    guard let existing = try remote.get(name) else {
      throw RemoteError(
        .rejected, "\(remote.label): part record \(name) was refused as existing, then absent")
    }
    return [UInt8](existing)
  }

  func records(branch: String, step: Int64) throws -> [PartKey: [UInt8]] {
    let folder = Self.folder(branch, step)
    let keys = try remote.list(folder).compactMap { object in
      PartKey(branch: branch, step: step, fileName: String(object.key.dropFirst(folder.count)))
    }
    let bodies = try concurrently(keys.count) { i in try self.remote.get("parts/" + keys[i].path) }
    var out: [PartKey: [UInt8]] = [:]
    for (key, body) in zip(keys, bodies) {
      if let body { out[key] = [UInt8](body) }
    }
    return out
  }

  func steps() throws -> [(branch: String, step: Int64)] {
    var seen = Set<String>()
    var out: [(String, Int64)] = []
    for object in try remote.list("parts/") {
      let fields = object.key.split(separator: "/", omittingEmptySubsequences: false)
      guard fields.count == 4, let branch = PartKey.branch(escaped: String(fields[1])),
        let step = Int64(fields[2]), "\(step)" == fields[2],
        seen.insert("\(fields[1])/\(step)").inserted
      else { continue }
      out.append((branch, step))
    }
    return out
  }

  func remove(branch: String, step: Int64) throws {
    for object in try remote.list(Self.folder(branch, step)) { try remote.delete(object.key) }
  }
}
