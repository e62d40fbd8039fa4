/// An error raised by the training engine for a problem a caller can cause and handle.
///
/// `code` is stable and meant for programs (tests compare it); `message` names the tensor,
/// parameter, file or option at fault. Shape errors between tensors inside an expression
/// (`matmul` of incompatible operands) are programmer errors and stop with a precondition instead;
/// see docs/ENGINE.md, "Errors".
public struct EngineError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The kind of failure, stable across releases.
  public enum Code: String, Sendable, Codable {
    /// A tensor's shape does not match the shape it must have (assignment, load, gradient).
    case shapeMismatch
    /// The number of scalars or bytes does not match the shape.
    case sizeMismatch
    /// A name (parameter, optimizer slot) is not known.
    case unknownName
    /// A required name is missing.
    case missingName
    /// An argument is out of range or inconsistent.
    case invalidArgument
    /// A data file is malformed.
    case dataFormat
    /// A file could not be read.
    case io
  }

  /// The kind of failure.
  public let code: Code
  /// A human-readable explanation naming the thing at fault.
  public let message: String

  /// Creates an error with a code and a message naming the thing at fault.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  /// The message prefixed by the code.
  public var description: String { "\(code.rawValue): \(message)" }
}
