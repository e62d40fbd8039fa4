import ArgumentParser
import CKRemote
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore remote`: the remotes this store knows.
  struct Remote: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List, add or remove remotes (S3 buckets holding a copy of the store).",
      discussion: """
        A remote is a store laid out under s3://BUCKET/PREFIX. Only its URL, endpoint and \
        addressing style are recorded (remotes/<name>); credentials come from the AWS \
        environment and files (AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws/credentials …) and are \
        never stored or printed.
        """,
      subcommands: [RemoteList.self, RemoteAdd.self, RemoteRemove.self],
      defaultSubcommand: RemoteList.self)
  }

  /// `ckstore remote [-v]`.
  struct RemoteList: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "list", abstract: "List remotes (-v: with URL and endpoint).")

    @Flag(name: .shortAndLong, help: "Show each remote's URL, endpoint and addressing.")
    var verbose = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let remotes = try storeOptions.open().remotes()
      if output.json {
        try printJSON(
          RemoteListJSON(
            remotes: remotes.map { RemoteJSON($0.name, $0.configuration) }))
        return
      }
      for (name, config) in remotes {
        guard verbose else {
          print(name)
          continue
        }
        let style = config.pathStyle.map { $0 ? " (path-style)" : " (virtual-hosted)" } ?? ""
        print("\(name)\t\(config.url)\(config.endpoint.map { " --endpoint \($0)" } ?? "")\(style)")
      }
    }
  }

  /// `ckstore remote add NAME URL`.
  struct RemoteAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "add", abstract: "Record a remote: ckstore remote add NAME s3://BUCKET/PREFIX.")

    @Argument(help: "The remote's name (origin, backup …).") var name: String
    @Argument(help: "s3://BUCKET/PREFIX") var url: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      try RemoteStore.validate(url: url)
      let configuration = connection.configuration(url: url)
      try storeOptions.open().addRemote(name, configuration)
      if output.json {
        try printJSON(RemoteChangeJSON(action: "added", remote: RemoteJSON(name, configuration)))
      }
    }
  }

  /// `ckstore remote remove NAME`.
  struct RemoteRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "remove", abstract: "Forget a remote and its remote-tracking refs.",
      aliases: ["rm"])

    @Argument(help: "The remote's name.") var name: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
      let store = try storeOptions.open()
      let configuration = try store.remote(named: name)
      try store.removeRemote(name)
      if output.json {
        try printJSON(RemoteChangeJSON(action: "removed", remote: RemoteJSON(name, configuration)))
      }
    }
  }
}

/// `--endpoint` and the addressing style, shared by `remote add` and `clone`.
struct ConnectionOptions: ParsableArguments {
  @Option(help: "The S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS).")
  var endpoint: String?
  @Flag(help: "Address the bucket in the path (ENDPOINT/BUCKET/KEY).") var pathStyle = false
  @Flag(help: "Address the bucket in the host name (BUCKET.ENDPOINT/KEY).")
  var virtualHosted = false

  func validate() throws {
    if pathStyle && virtualHosted {
      throw ValidationError("--path-style and --virtual-hosted exclude each other")
    }
  }

  func configuration(url: String) -> RemoteConfiguration {
    RemoteConfiguration(
      url: url, endpoint: endpoint,
      pathStyle: pathStyle ? true : virtualHosted ? false : nil)
  }
}

/// The JSON of `remote --json`.
struct RemoteListJSON: Encodable {
  var remotes: [RemoteJSON]
}

/// The JSON of `remote add --json` and `remote remove --json`: what was recorded or forgotten.
struct RemoteChangeJSON: Encodable {
  /// `added` or `removed`.
  var action: String
  var remote: RemoteJSON
}

/// One remote in `remote --json`: every field present, null when unset.
struct RemoteJSON: Encodable {
  var name: String
  var url: String
  var endpoint: String?
  var pathStyle: Bool?

  init(_ name: String, _ configuration: RemoteConfiguration) {
    self.name = name
    url = configuration.url
    endpoint = configuration.endpoint
    pathStyle = configuration.pathStyle
  }

  func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(url, forKey: .url)
    try c.encode(endpoint, forKey: .endpoint)
    try c.encode(pathStyle, forKey: .pathStyle)
  }

  enum CodingKeys: String, CodingKey { case name, url, endpoint, pathStyle }
}

extension Store {
  /// Connects to the remote named `name` in this store.
  func connect(_ name: String) throws -> RemoteStore {
    try RemoteStore.connect(name: name, remote(named: name))
  }

  /// Lets reads of objects this store lacks (partial commits) fetch them from its remotes.
  /// Connecting waits for the first missing object, so commands that find everything here
  /// never touch the network.
  func installRemoteFallback() {
    guard let remotes = try? remotes(), !remotes.isEmpty else { return }
    objectFallback = LazyRemoteFallback(remotes)
  }
}

/// A fallback that connects to the store's remotes on its first use.
final class LazyRemoteFallback: ObjectFallback, @unchecked Sendable {
  private let configs: [(name: String, configuration: RemoteConfiguration)]
  private let lock = NSLock()
  private var connected: RemoteFallback?

  init(_ configs: [(name: String, configuration: RemoteConfiguration)]) { self.configs = configs }

  func objectFile(_ id: ObjectID) throws -> [UInt8]? {
    let fallback = try lock.withLock {
      if let connected { return connected }
      let made = RemoteFallback(
        try configs.map { try RemoteStore.connect(name: $0.name, $0.configuration) })
      connected = made
      return made
    }
    return try fallback.objectFile(id)
  }
}

/// Progress on stderr whose byte total is known only once the work is planned.
final class TransferProgress: @unchecked Sendable {
  private let label: String
  private let bytes: Bool
  private let lock = NSLock()
  private var progress: Progress?

  /// `bytes`: the counts given are bytes (shown with MB/s and ETA), else items.
  init(_ label: String, bytes: Bool = true) {
    self.label = label
    self.bytes = bytes
  }

  func update(_ done: Int, _ total: Int) {
    let p = lock.withLock {
      if progress == nil, total > 0 {
        progress = Progress(label, totalBytes: bytes ? total : nil)
      }
      return progress
    }
    p?.update(done, total)
  }
}
