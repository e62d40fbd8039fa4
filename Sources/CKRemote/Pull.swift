import CKStore
import Foundation

/// `pull`: fetch, then move the current branch forward to the remote's, with the new head's data.
public enum Pull {
  /// Fetches `remote`, fast-forwards `branch` (created when missing) to
  /// `refs/remotes/<remote>/<branch>` and fetches the data of the commit it lands on. A branch
  /// that has commits the remote lacks is refused (`rejected`): nothing here is overwritten.
  /// Returns the fetch report and the commit the branch names now.
  public static func run(_ store: Store, from remote: RemoteStore, branch: String) throws
    -> (fetch: FetchReport, head: ObjectID)
  {
    var report = try Fetch.run(store, from: remote)
    guard let theirs = store.remoteTrackingRefs(remote.name).first(where: { $0.branch == branch })
    else {
      throw RemoteError(.invalidRemote, "\(remote.label) has no branch '\(branch)'")
    }
    let ours = try store.head(of: branch)
    if ours != theirs.id {
      if let ours, try !isAncestor(store, ours, of: theirs.id) {
        throw RemoteError(
          .rejected,
          "cannot pull \(remote.name)/\(branch) into '\(branch)': the branches have diverged "
            + "(\(ours.short) here is not an ancestor of \(theirs.id.short))")
      }
      try store.moveBranch(branch, to: theirs.id, expected: ours, message: "pull: \(remote.name)")
    }
    report.objectsReceived = try Fetch.data(
      store, from: remote, commits: [try store.commit(theirs.id)])
    report.receivedBytes = remote.stats.bytesReceived
    report.requests = remote.stats.totalRequests
    return (report, theirs.id)
  }

  static func isAncestor(_ store: Store, _ old: ObjectID, of new: ObjectID) throws -> Bool {
    var stack = [new]
    var seen = Set<ObjectID>()
    while let id = stack.popLast() {
      if id == old { return true }
      guard seen.insert(id).inserted else { continue }
      stack.append(contentsOf: try store.commit(id).parents)
    }
    return false
  }
}
