import CKStore
import Foundation

/// Which commits' data a clone brings.
public enum CloneDepth: Equatable, Sendable {
  /// Every commit's data (those the remote has not pruned).
  case full
  /// The newest N commits of the default branch (first-parent order); `--latest` is 1.
  case newest(Int)
}

/// Creates a store from a remote: same settings, every commit object and pruned marker, local
/// branches and tags where the remote has them, and the data `depth` asks for.
public enum Clone {
  /// Clones `remote` into a new store at `path`, recording it as remote `remote.name` with
  /// `configuration`. Commits whose data is not brought are marked partial.
  public static func run(
    _ remote: RemoteStore, configuration: RemoteConfiguration, into path: String,
    depth: CloneDepth = .full, progress: (@Sendable (Int, Int) -> Void)? = nil
  ) throws -> (store: Store, fetch: FetchReport) {
    guard let settings = try remote.configuration() else {
      throw RemoteError(
        .invalidRemote, "\(remote.label) holds no ckstore store (no config under the prefix)")
    }
    let store = try Store.create(at: path, configuration: settings)
    try store.addRemote(remote.name, configuration)
    var report = try Fetch.run(store, from: remote)
    let tracking = store.remoteTrackingRefs(remote.name)
    for (branch, id) in tracking {
      try store.moveBranch(branch, to: id, expected: nil, message: "clone: \(remote.name)")
    }
    let main = tracking.first { $0.branch == "main" } ?? tracking.first
    if let main { try store.checkout(branch: main.branch) }

    var wanted: [Commit] = []
    switch depth {
    case .full:
      var seen = Set<ObjectID>()
      var stack = tracking.map(\.id) + (try store.tags().map(\.id))
      while let id = stack.popLast() {
        guard seen.insert(id).inserted else { continue }
        let c = try store.commit(id)
        if store.isPartial(id) { wanted.append(c) }
        stack.append(contentsOf: c.parents)
      }
    case .newest(let n):
      var next = main?.id
      while let id = next, wanted.count < n {
        let c = try store.commit(id)
        if !store.isPruned(id) { wanted.append(c) }
        next = c.parents.first
      }
    }
    report.objectsReceived = try Fetch.data(
      store, from: remote, commits: wanted, progress: progress)
    report.receivedBytes = remote.stats.bytesReceived
    report.requests = remote.stats.totalRequests
    return (store, report)
  }
}

/// Fetches objects a store lacks from its remotes, in order, when it reads them: what makes
/// `log`, `show`, `diff` and `export` of a partial commit fetch only the objects they read.
public final class RemoteFallback: ObjectFallback, @unchecked Sendable {
  private let remotes: [RemoteStore]

  /// Asks each remote in turn.
  public init(_ remotes: [RemoteStore]) { self.remotes = remotes }

  /// The object file from the first remote that has it.
  public func objectFile(_ id: ObjectID) throws -> [UInt8]? {
    for remote in remotes {
      if let file = try remote.objectFile(id) { return file }
    }
    return nil
  }
}
