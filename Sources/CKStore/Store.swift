import Foundation

/// A checkpoint store on disk: open or create one, then commit, read, diff, retain and gc.
///
/// A `Store` is safe to use from many threads; many processes may read one store at once, and
/// each branch has at most one writer at a time (see `BranchWriter`).
public final class Store: @unchecked Sendable {
  /// The store's folder.
  public let root: String
  /// The settings recorded when the store was created.
  public let configuration: StoreConfiguration

  let objects: ObjectStore
  let refs: RefStore
  let scratch: ScratchSpace
  /// Chunks being written or read right now, and the most at once (tests check the bound).
  package let chunksInFlight = InFlightGauge()
  let warnings = WarningSink()
  private let cacheLock = NSLock()
  private var treeCache: [ObjectID: Tree] = [:]

  private init(root: String, configuration: StoreConfiguration) {
    self.root = root
    self.configuration = configuration
    self.scratch = ScratchSpace(tmpRoot: root + "/tmp")
    self.objects = ObjectStore(
      root: root, compressionLevel: Int32(configuration.compressionLevel), scratch: scratch)
    self.refs = RefStore(root: root, scratch: scratch, warnings: warnings)
  }

  /// Creates an empty store at `path` with a `main` branch (not yet pointing anywhere).
  ///
  /// Throws `invalidArgument` if a store already exists there.
  @discardableResult
  public static func create(
    at path: String, configuration: StoreConfiguration = StoreConfiguration()
  ) throws -> Store {
    try configuration.validate(path: path)
    if FileIO.exists(path + "/config") {
      throw StoreError(.invalidArgument, "a store already exists at '\(path)'")
    }
    for dir in ["objects", "refs/heads", "refs/tags", "logs", "pruned", "tmp", "locks/heads"] {
      try FileIO.makeDirectories(path + "/" + dir)
    }
    let store = Store(root: path, configuration: configuration)
    try store.refs.setHead(branch: "main")
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let json = try encoder.encode(configuration)
    // config is written last: its presence is what makes the folder a store.
    try FileIO.writeAtomically(
      Array(json) + [10], to: path + "/config", tempPath: try store.scratch.newTempPath())
    do {
      try FileIO.syncDirectory(path)
    } catch {
      store.warnings.report(StoreWarning("the store at '\(path)' was created, but \(error)"))
    }
    return store
  }

  /// Opens the store at `path`.
  ///
  /// Throws `storeNotFound` if there is none, `unsupportedFormat` if it has another version.
  public static func open(at path: String) throws -> Store {
    let configPath = path + "/config"
    guard FileIO.exists(configPath) else {
      throw StoreError(.storeNotFound, "no ckstore store at '\(path)' (no config file)")
    }
    let configuration: StoreConfiguration
    do {
      configuration = try JSONDecoder().decode(
        StoreConfiguration.self, from: Data(try FileIO.read(configPath)))
    } catch let error as StoreError {
      throw error
    } catch {
      throw StoreError(.corruptObject, "store config '\(configPath)' is not valid: \(error)")
    }
    try configuration.validate(path: path)
    return Store(root: path, configuration: configuration)
  }

  /// Finds a store the way git finds a repository: `.ckstore` in `directory` or a parent.
  public static func discover(from directory: String) -> String? {
    var dir = URL(fileURLWithPath: directory).standardizedFileURL
    while true {
      let candidate = dir.appendingPathComponent(".ckstore").path
      if FileIO.exists(candidate + "/config") { return candidate }
      let parent = dir.deletingLastPathComponent()
      if parent.path == dir.path { return nil }
      dir = parent
    }
  }

  // MARK: Objects

  /// Reads and verifies a commit object.
  public func commit(_ id: ObjectID) throws -> Commit {
    try Commit.decode(try objects.get(id, as: .commit), id: id)
  }

  /// A tree object, cached: trees are immutable. Tensor names in it are bare keys; walkers
  /// prefix them with the folder's path.
  func tree(_ id: ObjectID) throws -> Tree {
    if let cached = cacheLock.withLock({ treeCache[id] }) { return cached }
    let tree = try Tree.decode(try objects.get(id, as: .tree), id: id)
    cacheLock.withLock { treeCache[id] = tree }
    return tree
  }

  /// Whether retention freed this commit's data (its metadata stays).
  public func isPruned(_ id: ObjectID) -> Bool {
    FileIO.exists(root + "/pruned/" + id.hex)
  }

  /// Creates the empty `pruned/<id>` marker in place: no temporary file, so retention needs no
  /// free data block and works on a full file system.
  func markPruned(_ id: ObjectID) throws {
    try FileIO.createEmpty(root + "/pruned/" + id.hex)
  }

  func requireData(_ commit: Commit) throws {
    if isPruned(commit.id) {
      throw StoreError(
        .prunedCommit,
        "commit \(commit.id.short) (step \(commit.step)) was pruned by retention: its metadata "
          + "remains but its tensor data is gone")
    }
    if isPartial(commit.id) && objectFallback == nil {
      throw StoreError(
        .objectNotFound,
        "commit \(commit.id.short) (step \(commit.step)): its data is on a remote and was not "
          + "fetched (partial clone or fetch); read it with the remote configured")
    }
  }

  // MARK: Refs

  /// The branch HEAD names (the default branch for `step-N` and new commits).
  public func currentBranch() throws -> String { try refs.headBranch() }

  /// Makes `branch` the current branch.
  public func checkout(branch: String) throws {
    try RefName.validate(branch, kind: "branch")
    try refs.setHead(branch: branch)
  }

  /// Branches and the commit each names, sorted by name. A branch whose ref cannot be read is
  /// left out (so the others stay usable); `fsck` reports it, and gc refuses to run past it.
  public func branches() throws -> [(name: String, id: ObjectID)] {
    refs.scan("refs/heads").refs
  }

  /// Tags and the commit each names, sorted by name; an unreadable tag ref is left out, as for
  /// `branches()`.
  public func tags() throws -> [(name: String, id: ObjectID)] { refs.scan("refs/tags").refs }

  /// The commit a branch names, or nil if the branch has no commits yet.
  public func head(of branch: String) throws -> ObjectID? {
    try refs.read(RefStore.branchRef(branch))
  }

  /// Creates a branch at a commit; fails if it exists. With `switchingTo`, HEAD moves to it in
  /// the same step: if moving HEAD fails, the branch is not created either.
  public func createBranch(_ name: String, at id: ObjectID, switchingTo: Bool = false) throws {
    try RefName.validate(name, kind: "branch")
    _ = try commit(id)
    try refs.update(
      RefStore.branchRef(name), to: id, expected: nil, message: "branch: created",
      alongside: switchingTo ? { try self.refs.setHead(branch: name) } : nil)
  }

  /// Creates a tag at a commit; fails if it exists. Tagged commits always keep their data.
  public func createTag(_ name: String, at id: ObjectID) throws {
    try setTag(name, at: id, force: false)
  }

  /// The reflog of a branch, oldest first.
  public func reflog(branch: String) throws -> [RefLogEntry] {
    try refs.log(RefStore.branchRef(branch))
  }

  // MARK: Locks

  var gcLockPath: String { root + "/locks/gc.lock" }
}
