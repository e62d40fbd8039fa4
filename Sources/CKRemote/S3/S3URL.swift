/// A remote's address, `s3://BUCKET/PREFIX`: the bucket, and the key prefix the store lives under.
public struct S3URL: Equatable, Sendable, CustomStringConvertible {
  /// The bucket name.
  public let bucket: String
  /// The key prefix without leading or trailing `/`; empty for a store at the bucket's root.
  public let prefix: String

  /// Parses `s3://BUCKET` or `s3://BUCKET/PREFIX` (a trailing `/` is ignored). Throws
  /// `.invalidRemote` naming the URL when the scheme, bucket name or prefix is malformed.
  public init(_ string: String) throws {
    func invalid(_ why: String) -> RemoteError {
      RemoteError(.invalidRemote, "'\(string)' is not a valid S3 remote URL: \(why)")
    }
    guard string.hasPrefix("s3://") else { throw invalid("it must start with s3://") }
    let rest = string.dropFirst(5)
    let bucket = String(rest.prefix { $0 != "/" })
    guard Self.isValidBucketName(bucket) else {
      throw invalid(
        "'\(bucket)' is not a bucket name (3-63 lowercase letters, digits, '.' or '-', "
          + "starting and ending with a letter or digit)")
    }
    var prefix = rest.dropFirst(bucket.count).drop { $0 == "/" }
    while prefix.hasSuffix("/") { prefix = prefix.dropLast() }
    let segments = prefix.split(separator: "/", omittingEmptySubsequences: false)
    if !prefix.isEmpty, segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
      throw invalid("the prefix '\(prefix)' has an empty, '.' or '..' segment")
    }
    self.bucket = bucket
    self.prefix = String(prefix)
  }

  /// `s3://BUCKET/PREFIX`, or `s3://BUCKET` with no prefix.
  public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

  /// Whether `name` follows S3's bucket naming rules (the subset every S3 server accepts).
  public static func isValidBucketName(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard (3...63).contains(bytes.count) else { return false }
    func alnum(_ b: UInt8) -> Bool {
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }
    guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
    return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
  }
}
