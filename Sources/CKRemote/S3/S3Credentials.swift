/// A credential string that never prints: `description`, `debugDescription` and reflection all
/// show `<redacted>`, so a secret cannot leak through `print`, string interpolation, `dump` or an
/// error message built from a value that holds it.
public struct S3Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
  CustomReflectable
{
  /// The secret itself; read it only to sign a request.
  public let value: String

  /// Wraps `value`.
  public init(_ value: String) { self.value = value }

  /// Always `<redacted>`.
  public var description: String { "<redacted>" }
  /// Always `<redacted>`.
  public var debugDescription: String { "<redacted>" }
  /// A mirror with no children, so `dump` shows nothing of the value.
  public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// An AWS key pair, with a session token for temporary credentials.
///
/// The access key id is treated as secret as well: it names an account's key and has no place in
/// logs or messages.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible,
  CustomDebugStringConvertible, CustomReflectable
{
  /// The access key id (`AWS_ACCESS_KEY_ID`).
  public let accessKeyID: S3Secret
  /// The secret access key (`AWS_SECRET_ACCESS_KEY`).
  public let secretAccessKey: S3Secret
  /// The session token of temporary credentials (`AWS_SESSION_TOKEN`), sent as
  /// `x-amz-security-token`.
  public let sessionToken: S3Secret?

  /// Credentials from their three parts.
  public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
    self.accessKeyID = S3Secret(accessKeyID)
    self.secretAccessKey = S3Secret(secretAccessKey)
    self.sessionToken = sessionToken.map(S3Secret.init)
  }

  /// Says only whether a session token is present.
  public var description: String {
    "S3Credentials(<redacted>\(sessionToken == nil ? "" : ", with session token"))"
  }
  /// The same as `description`.
  public var debugDescription: String { description }
  /// A mirror with no children.
  public var customMirror: Mirror { Mirror(self, children: [:]) }
}
