import Foundation

/// A remote as the store records it in `remotes/<name>` (docs/FORMAT.md, "Remotes"): where it is
/// and how to address it, never a credential.
public struct RemoteConfiguration: Codable, Equatable, Sendable {
  /// `s3://BUCKET/PREFIX`.
  public var url: String
  /// The S3 endpoint (`http://127.0.0.1:8333`); nil means the AWS environment's or AWS's own.
  public var endpoint: String?
  /// Whether requests use path-style addressing (`ENDPOINT/BUCKET/KEY`) rather than
  /// virtual-hosted (`BUCKET.ENDPOINT/KEY`); nil leaves the choice to the client.
  public var pathStyle: Bool?

  /// Creates a remote description.
  public init(url: String, endpoint: String? = nil, pathStyle: Bool? = nil) {
    self.url = url
    self.endpoint = endpoint
    self.pathStyle = pathStyle
  }
}

extension Store {
  private var remotesFolder: String { root + "/remotes" }

  /// The remotes this store knows, by name, sorted.
  public func remotes() throws -> [(name: String, configuration: RemoteConfiguration)] {
    try FileIO.list(remotesFolder).filter { !$0.hasPrefix(".") }.sorted().map {
      ($0, try remote(named: $0))
    }
  }

  /// The remote named `name`; throws `invalidArgument` naming it when there is none.
  public func remote(named name: String) throws -> RemoteConfiguration {
    let path = remotesFolder + "/" + name
    guard !name.contains("/"), FileIO.exists(path) else {
      throw StoreError(.invalidArgument, "no remote named '\(name)' (see `ckstore remote -v`)")
    }
    do {
      return try JSONDecoder().decode(RemoteConfiguration.self, from: Data(try FileIO.read(path)))
    } catch let error as StoreError {
      throw error
    } catch {
      throw StoreError(.corruptObject, "remote file '\(path)' is not valid: \(error)")
    }
  }

  /// Records a new remote; fails if one of that name exists.
  public func addRemote(_ name: String, _ configuration: RemoteConfiguration) throws {
    try RefName.validate(name, kind: "remote")
    guard !name.contains("/") else {
      throw StoreError(.invalidName, "remote name '\(name)' must not contain '/'")
    }
    let path = remotesFolder + "/" + name
    if FileIO.exists(path) {
      throw StoreError(.invalidArgument, "remote '\(name)' already exists")
    }
    try FileIO.makeDirectories(remotesFolder)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try FileIO.writeAtomically(
      Array(try encoder.encode(configuration)) + [10], to: path,
      tempPath: try scratch.newTempPath())
    try FileIO.syncDirectory(remotesFolder)
  }

  /// Forgets a remote and its remote-tracking refs.
  public func removeRemote(_ name: String) throws {
    _ = try remote(named: name)
    for (branch, _) in remoteTrackingRefs(name) {
      try FileIO.remove(root + "/" + Self.trackingRef(name, branch))
    }
    FileIO.removeEmptyFolders(root + "/refs/remotes/" + name)
    try FileIO.remove(remotesFolder + "/" + name)
  }

  static func trackingRef(_ remote: String, _ branch: String) -> String {
    "refs/remotes/\(remote)/\(branch)"
  }

  /// The remote-tracking refs of `remote` (`refs/remotes/<remote>/<branch>`), by branch.
  public func remoteTrackingRefs(_ remote: String) -> [(branch: String, id: ObjectID)] {
    refs.scan("refs/remotes/" + remote).refs.map { ($0.name, $0.id) }
  }

  /// Points `refs/remotes/<remote>/<branch>` at `id` (a commit present here).
  package func setRemoteTrackingRef(_ remote: String, branch: String, to id: ObjectID) throws {
    let ref = Self.trackingRef(remote, branch)
    try refs.update(ref, to: id, expected: try refs.read(ref), message: "fetch: \(remote)")
  }

  /// Moves a local branch from `expected` (nil: creates it) to `id`, by compare-and-swap.
  package func moveBranch(_ branch: String, to id: ObjectID, expected: ObjectID?, message: String)
    throws
  {
    try RefName.validate(branch, kind: "branch")
    try refs.update(RefStore.branchRef(branch), to: id, expected: expected, message: message)
  }

  /// Creates a tag, or leaves it when it already names `id`.
  package func ensureTag(_ name: String, at id: ObjectID) throws {
    let existing = try refs.read(RefStore.tagRef(name))
    if existing == id { return }
    if let existing {
      throw StoreError(
        .refConflict, "tag '\(name)' names \(existing.short) here, \(id.short) on the remote")
    }
    try refs.update(RefStore.tagRef(name), to: id, expected: nil, message: "fetch: tag")
  }

  // MARK: Pruned and partial markers

  /// Every commit marked pruned here.
  package func prunedCommitIDs() -> Set<ObjectID> {
    Set(FileIO.list(root + "/pruned").compactMap(ObjectID.init(hex:)))
  }

  /// Marks commits pruned (a marker received from a remote), durably.
  package func receivePrunedMarkers(_ ids: [ObjectID]) throws {
    for id in ids where !isPruned(id) { try markPruned(id) }
    if !ids.isEmpty { try FileIO.syncDirectory(root + "/pruned") }
  }

  /// Whether the commit's data lives only on a remote (a `partial/<id>` marker): its commit
  /// object is here, its trees and chunks are fetched when read. gc and fsck treat it like a
  /// pruned commit; reading it without a fallback fails, naming it.
  public func isPartial(_ id: ObjectID) -> Bool {
    FileIO.exists(root + "/partial/" + id.hex)
  }

  /// Marks commits whose data this store did not fetch.
  package func markPartial(_ ids: [ObjectID]) throws {
    guard !ids.isEmpty else { return }
    try FileIO.makeDirectories(root + "/partial")
    for id in ids where !isPartial(id) { try FileIO.createEmpty(root + "/partial/" + id.hex) }
    try FileIO.syncDirectory(root + "/partial")
  }

  /// Clears the partial marker of a commit whose data is now all here.
  package func clearPartial(_ id: ObjectID) throws {
    guard isPartial(id) else { return }
    try FileIO.remove(root + "/partial/" + id.hex)
  }
}
