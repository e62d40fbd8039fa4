import Foundation

/// One problem `fsck` found.
public struct FsckProblem: Equatable, Sendable, Codable {
  /// The damaged or missing object (or the ref, for a ref problem).
  public var object: String
  /// What is wrong.
  public var message: String
  /// Commits that use the object (short ids).
  public var commits: [String]
  /// Tensors that use the object.
  public var tensors: [String]
}

/// The result of verifying a store.
public struct FsckReport: Equatable, Sendable, Codable {
  /// Commits checked (including pruned ones, whose commit object is still verified).
  public var commitsChecked: Int
  /// Objects read and verified.
  public var objectsChecked: Int
  /// Everything found wrong; empty when the store is sound.
  public var problems: [FsckProblem]

  /// Whether nothing is wrong.
  public var isClean: Bool { problems.isEmpty }
}

extension Store {
  /// Verifies every object reachable from any commit that keeps data, and from the part records
  /// of unfinished sharded saves (which a re-run completes from): each is read from disk, decoded
  /// and hashed; each problem names the object and the commits (or part records) and tensors
  /// using it. A part record that does not decode is a problem of its own.
  public func fsck(progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> FsckReport {
    var problems: [FsckProblem] = []
    // A user is a commit's short id, or a part record's path (`parts/main/1200/2-of-4`).
    var users: [ObjectID: (commits: Set<String>, tensors: Set<String>)] = [:]
    var chunkOrder: [ObjectID] = []
    var treesDone = Set<ObjectID>()
    var commitsChecked = 0
    var objectsChecked = 0

    func use(_ id: ObjectID, _ commit: String, _ tensor: String?) {
      if users[id] == nil { chunkOrder.append(id) }
      users[id, default: ([], [])].commits.insert(commit)
      if let tensor { users[id]!.tensors.insert(tensor) }
    }

    func checkTree(_ id: ObjectID, prefix: String, commit: String) {
      // Trees are read from disk here, never from the cache: fsck must see the bytes.
      let tree: Tree
      do {
        tree = try Tree.decode(try objects.get(id, as: .tree), id: id)
      } catch {
        problems.append(
          FsckProblem(
            object: id.hex, message: "\(error)", commits: [commit],
            tensors: prefix.isEmpty ? [] : [prefix + "*"]))
        return
      }
      if treesDone.insert(id).inserted { objectsChecked += 1 }
      for (key, entry) in tree.entries {
        switch entry {
        case .tree(let sub): checkTree(sub, prefix: prefix + key, commit: commit)
        case .tensor(let info): for c in info.chunks { use(c, commit, prefix + key) }
        }
      }
    }

    var refHeads: [(String, ObjectID)] = []
    for (kind, folder) in [("branch", "refs/heads"), ("tag", "refs/tags")] {
      let (found, broken) = refs.scan(folder)
      for (name, id) in found { refHeads.append(("\(kind) '\(name)'", id)) }
      for (ref, error) in broken {
        problems.append(FsckProblem(object: ref, message: error.message, commits: [], tensors: []))
      }
    }
    do {
      let branch = try refs.headBranch()
      try RefName.validate(branch, kind: "branch")
    } catch let error as StoreError {
      problems.append(FsckProblem(object: "HEAD", message: error.message, commits: [], tensors: []))
    }
    var seen = Set<ObjectID>()
    var stack = refHeads.map { ($0.0, $0.1) }
    while let (origin, id) = stack.popLast() {
      guard seen.insert(id).inserted else { continue }
      let c: Commit
      do {
        c = try commit(id)
      } catch {
        problems.append(
          FsckProblem(
            object: id.hex, message: "\(error) (reached from \(origin))", commits: [id.short],
            tensors: []))
        continue
      }
      commitsChecked += 1
      objectsChecked += 1
      for p in c.parents { stack.append((origin, p)) }
      if !isPruned(id) && !isPartial(id) { checkTree(c.tree, prefix: "", commit: id.short) }
    }
    for (branch, step) in try partDirectory.steps() {
      for (key, bytes) in try partDirectory.records(branch: branch, step: step) {
        do {
          checkTree(try key.tree(ofRecord: bytes), prefix: "", commit: "parts/" + key.path)
        } catch {
          problems.append(
            FsckProblem(object: "parts/" + key.path, message: "\(error)", commits: [], tensors: []))
        }
      }
    }

    let chunks = chunkOrder
    let done = Counter()
    let failures = try parallelMap(chunks.count) { i -> String? in
      defer { progress?(done.increment(), chunks.count) }
      do {
        _ = try objects.get(chunks[i], as: .chunk)
        return nil
      } catch {
        return "\(error)"
      }
    }
    objectsChecked += chunks.count
    for (id, failure) in zip(chunks, failures) {
      guard let failure else { continue }
      let u = users[id]!
      problems.append(
        FsckProblem(
          object: id.hex, message: failure, commits: u.commits.sorted(),
          tensors: u.tensors.sorted()))
    }
    return FsckReport(
      commitsChecked: commitsChecked, objectsChecked: objectsChecked, problems: problems)
  }
}
