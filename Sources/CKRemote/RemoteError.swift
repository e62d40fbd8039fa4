/// An error raised while talking to a remote.
///
/// `code` is stable and meant for programs; `message` names the remote and the key or ref at
/// fault, and never holds a secret (no access key id, secret key, session token or signature).
public struct RemoteError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The kind of failure, stable across releases.
  public enum Code: String, Sendable, Codable {
    /// The server refused the credentials (wrong key, bad signature, expired token).
    case accessDenied
    /// The bucket does not exist.
    case noSuchBucket
    /// No credentials were found in the environment or the AWS files.
    case missingCredentials
    /// A remote name, URL or endpoint is malformed or unknown.
    case invalidRemote
    /// A ref on the remote moved while this command was updating it (non-fast-forward).
    case rejected
    /// The remote's content is not a ckstore store, or an object on it fails verification.
    case corruptRemote
    /// The connection failed or timed out after every retry.
    case unreachable
    /// The server answered with an error status that retries did not cure.
    case serverError
    /// Another process holds the remote's gc or push lease.
    case leaseHeld
  }

  /// The kind of failure.
  public let code: Code
  /// A sentence for people, naming the remote and the key or ref at fault.
  public let message: String

  /// Creates an error of the given kind.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  /// The message, for printing.
  public var description: String { message }
}
