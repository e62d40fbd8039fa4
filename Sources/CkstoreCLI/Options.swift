import ArgumentParser
import CKStore
import Foundation

/// Where the store is: `--store`, else `CKSTORE_DIR`, else `.ckstore` here or in a parent.
struct StoreOptions: ParsableArguments {
  @Option(
    name: .long,
    help: "The store folder (default: $CKSTORE_DIR, else .ckstore in this folder or a parent).")
  var store: String?

  /// The path the options name, or nil when nothing names one and discovery found none.
  func location() -> String? {
    if let store { return store }
    if let env = ProcessInfo.processInfo.environment["CKSTORE_DIR"], !env.isEmpty { return env }
    return Store.discover(from: FileManager.default.currentDirectoryPath)
  }

  /// Opens the store, or fails naming what was tried.
  func open() throws -> Store {
    guard let path = location() else {
      throw StoreError(
        .storeNotFound,
        "no store found: pass --store PATH, set CKSTORE_DIR, or run `ckstore init` "
          + "(searched for .ckstore from \(FileManager.default.currentDirectoryPath) upwards)")
    }
    let store = try Store.open(at: path)
    store.installRemoteFallback()
    return store
  }
}

/// `--json` for commands whose output a script reads.
struct OutputOptions: ParsableArguments {
  @Flag(name: .long, help: "Print JSON instead of text.")
  var json = false
}

/// Prints an Encodable value as pretty, key-sorted JSON.
func printJSON<T: Encodable>(_ value: T) throws { print(try jsonText(value), terminator: "") }

/// An Encodable value as pretty, key-sorted JSON and a newline (docs/JSON.md).
func jsonText<T: Encodable>(_ value: T) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  // Commit times are kept to the millisecond; print them so.
  encoder.dateEncodingStrategy = .custom { date, encoder in
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    var container = encoder.singleValueContainer()
    try container.encode(formatter.string(from: date))
  }
  // No nonConformingFloatEncodingStrategy: NaN and inf are nulled by `NonFinite` first, and
  // one that slipped through fails the command instead of printing invalid JSON.
  return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}
