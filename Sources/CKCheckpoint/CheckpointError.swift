/// An error from saving or restoring a checkpoint.
///
/// A strict restore that finds problems throws one error listing every missing, unexpected and
/// mismatched name at once, so a user fixes them in one go.
public struct CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The kind of failure, stable across releases.
  public enum Code: String, Sendable {
    /// The saved checkpoint and the tracked objects do not match (see the three lists).
    case mismatch
    /// A tracked name is invalid or used twice.
    case invalidName
    /// A tensor could not be converted (for example a generator state that is all zeros).
    case invalidValue
    /// There is no checkpoint to restore.
    case notFound
    /// Checkpoints saved here did not reach the manager's remote.
    case pushFailed
  }

  /// The kind of failure.
  public let code: Code
  /// Tracked variables the checkpoint does not hold.
  public let missing: [String]
  /// Saved tensors no tracked object consumes.
  public let unexpected: [String]
  /// Names whose saved shape or dtype differs from the variable's, with both described.
  public let mismatched: [String]
  /// A sentence for people.
  public let message: String

  /// An error of the given kind.
  public init(
    _ code: Code, _ message: String, missing: [String] = [], unexpected: [String] = [],
    mismatched: [String] = []
  ) {
    self.code = code
    self.message = message
    self.missing = missing
    self.unexpected = unexpected
    self.mismatched = mismatched
  }

  /// The message followed by every listed problem.
  public var description: String {
    var lines = [message]
    if !missing.isEmpty { lines.append("missing: " + missing.joined(separator: ", ")) }
    if !unexpected.isEmpty { lines.append("unexpected: " + unexpected.joined(separator: ", ")) }
    if !mismatched.isEmpty { lines.append("mismatched: " + mismatched.joined(separator: "; ")) }
    return lines.joined(separator: "\n  ")
  }
}
