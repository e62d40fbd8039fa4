/// An error raised by the checkpoint store.
///
/// `code` is stable and meant for programs (tests compare it); `message` is for people and always
/// names the thing at fault: an object id, a tensor name, a file or a revision.
public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The kind of failure, stable across releases.
  public enum Code: String, Sendable, Codable {
    /// No store exists at the given or discovered location.
    case storeNotFound
    /// The store was written by a newer or unknown format version.
    case unsupportedFormat
    /// An object id is not present in the store.
    case objectNotFound
    /// An object's bytes do not hash to its id, or its structure cannot be decoded.
    case corruptObject
    /// A tensor or ref name breaks the naming rules.
    case invalidName
    /// A tensor's bytes do not match its dtype and shape.
    case invalidTensor
    /// A revision names nothing.
    case unknownRevision
    /// An abbreviated id matches more than one object.
    case ambiguousRevision
    /// The commit's data was freed by retention; only its metadata remains.
    case prunedCommit
    /// A ref moved while it was being updated (compare-and-swap failed).
    case refConflict
    /// Another writer holds the branch or the ref lock.
    case locked
    /// A safetensors file is malformed.
    case malformedSafetensors
    /// A file holds a tensor of a dtype the store cannot represent.
    case unsupportedDtype
    /// A file-system call failed.
    case io
    /// zstd refused to compress or decompress.
    case compression
    /// An argument is out of range or inconsistent.
    case invalidArgument
  }

  /// The kind of failure.
  public let code: Code
  /// A sentence for people, naming the object, tensor, file or ref at fault.
  public let message: String

  /// Creates an error of the given kind.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  /// The message, for printing.
  public var description: String { message }
}

extension StoreError {
  static func io(_ what: String, path: String, errno code: Int32) -> StoreError {
    StoreError(.io, "\(what) '\(path)': \(String(cString: strerror(code)))")
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
