import Foundation

/// AWS Signature Version 4 for S3 requests (header-based authentication).
///
/// The canonical request, string to sign and signing key are built exactly as AWS's
/// "Authenticating Requests: Using the Authorization Header" page describes; the known-answer test
/// checks this against the signature that page publishes.
package struct SigV4Signer: Sendable {
  /// The key pair (and session token) requests are signed with.
  package let credentials: S3Credentials
  /// The region in the credential scope, such as `us-east-1`.
  package let region: String
  /// The service in the credential scope.
  package let service = "s3"

  /// A signer for `region` with `credentials`.
  package init(credentials: S3Credentials, region: String) {
    self.credentials = credentials
    self.region = region
  }

  /// Adds `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` (with a session token) and
  /// `authorization` to `headers`, signing every header already there (names lowercase, `host`
  /// included). `canonicalURI` is the path exactly as sent (already percent-encoded).
  package func sign(
    method: String, canonicalURI: String, query: [(String, String)],
    headers: inout [String: String], payloadHash: String, date: Date
  ) {
    let (amzDate, day) = Self.timestamps(date)
    headers["x-amz-date"] = amzDate
    headers["x-amz-content-sha256"] = payloadHash
    if let token = credentials.sessionToken { headers["x-amz-security-token"] = token.value }
    let names = headers.keys.map { $0.lowercased() }.sorted()
    var lowered: [String: String] = [:]
    for (k, v) in headers { lowered[k.lowercased()] = Self.trim(v) }
    let canonicalHeaders = names.map { "\($0):\(lowered[$0]!)\n" }.joined()
    let signedHeaders = names.joined(separator: ";")
    let canonicalRequest = [
      method, canonicalURI, Self.canonicalQuery(query), canonicalHeaders, signedHeaders,
      payloadHash,
    ].joined(separator: "\n")
    let scope = "\(day)/\(region)/\(service)/aws4_request"
    let stringToSign = [
      "AWS4-HMAC-SHA256", amzDate, scope, S3Crypto.hex(S3Crypto.sha256(canonicalRequest)),
    ].joined(separator: "\n")
    let kDate = S3Crypto.hmac(key: Array("AWS4\(credentials.secretAccessKey.value)".utf8), day)
    let kRegion = S3Crypto.hmac(key: kDate, region)
    let kService = S3Crypto.hmac(key: kRegion, service)
    let kSigning = S3Crypto.hmac(key: kService, "aws4_request")
    let signature = S3Crypto.hex(S3Crypto.hmac(key: kSigning, stringToSign))
    headers["authorization"] =
      "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID.value)/\(scope),"
      + "SignedHeaders=\(signedHeaders),Signature=\(signature)"
  }

  /// The query string as sent and as signed: pairs encoded, sorted by name then value.
  package static func canonicalQuery(_ query: [(String, String)]) -> String {
    let encoded: [(name: String, value: String)] = query.map { pair in
      (S3Encoding.encode(pair.0, keepSlash: false), S3Encoding.encode(pair.1, keepSlash: false))
    }
    let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
    return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
  }

  /// `20130524T000000Z` and `20130524` for `date`, in UTC.
  static func timestamps(_ date: Date) -> (String, String) {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    func pad(_ v: Int?, _ width: Int) -> String {
      let s = String(v ?? 0)
      return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    let day = pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2)
    return (day + "T" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z", day)
  }

  /// A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces collapsed.
  static func trim(_ value: String) -> String {
    value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
  }
}

/// Percent-encoding as S3 and SigV4 require: every byte but `A-Z a-z 0-9 - . _ ~` is encoded,
/// and `/` is kept in object paths only.
package enum S3Encoding {
  /// `value` percent-encoded (uppercase hex), keeping `/` when `keepSlash`.
  package static func encode(_ value: String, keepSlash: Bool) -> String {
    var out = ""
    for b in value.utf8 {
      switch b {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: "_"), UInt8(ascii: "~"):
        out.unicodeScalars.append(Unicode.Scalar(b))
      case UInt8(ascii: "/") where keepSlash:
        out.append("/")
      default:
        out += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
      }
    }
    return out
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    String(repeating: "0", count: max(0, width - count)) + self
  }
}
