import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A change that landed, followed by a best-effort step that failed: the operation succeeded (the
/// ref moved, the tag exists) and this says what was left undone, such as a reflog line.
public struct StoreWarning: Sendable, Equatable, CustomStringConvertible {
  /// A sentence for people that says the change stands and names what failed after it.
  public let message: String

  /// A warning with the given message.
  public init(_ message: String) { self.message = message }

  /// The message, for printing.
  public var description: String { message }
}

/// Where a store's warnings go: standard error (`ckstore: warning: …`) unless a handler is set.
final class WarningSink: Sendable {
  private let handler = Mutex<(@Sendable (StoreWarning) -> Void)?>(nil)

  func setHandler(_ body: (@Sendable (StoreWarning) -> Void)?) {
    handler.withLock { $0 = body }
  }

  func report(_ warning: StoreWarning) {
    if let body = handler.withLock({ $0 }) {
      body(warning)
      return
    }
    // write(2) rather than FileHandle: a full or closed stderr must not trap after a success.
    let line = Array("ckstore: warning: \(warning.message)\n".utf8)
    _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
  }
}

extension Store {
  /// Sends this store's warnings to `handler` instead of standard error (nil restores stderr).
  ///
  /// A warning means the operation succeeded and a step after its change landed did not: the
  /// caller must not retry it (a retried tag creation would say "already exists").
  public func onWarning(_ handler: (@Sendable (StoreWarning) -> Void)?) {
    warnings.setHandler(handler)
  }

  /// Reports a warning through this store's handler: for layers built on the store (such as a
  /// checkpoint manager) whose own change landed before a later step failed.
  public func report(_ warning: StoreWarning) { warnings.report(warning) }
}
