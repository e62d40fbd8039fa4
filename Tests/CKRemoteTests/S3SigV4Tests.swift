import CKRemote
import Foundation
import Testing

/// SigV4 against the worked examples AWS publishes in "Signature Calculations for the
/// Authorization Header: Transferring Payload in a Single Chunk"
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html), with the
/// page's example key pair and its published signatures.
@Suite struct S3SigV4Tests {
  static let signer = SigV4Signer(
    credentials: S3Credentials(
      accessKeyID: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    region: "us-east-1")
  /// Fri, 24 May 2013 00:00:00 GMT, the examples' time.
  static let date = Date(timeIntervalSince1970: 1_369_353_600)
  static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  @Test func getObjectExample() {
    var headers = ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9"]
    Self.signer.sign(
      method: "GET", canonicalURI: "/test.txt", query: [], headers: &headers,
      payloadHash: Self.emptyHash, date: Self.date)
    #expect(headers["x-amz-date"] == "20130524T000000Z")
    #expect(
      headers["authorization"]
        == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
  }

  @Test func listObjectsExample() {
    var headers = ["host": "examplebucket.s3.amazonaws.com"]
    Self.signer.sign(
      method: "GET", canonicalURI: "/", query: [("prefix", "J"), ("max-keys", "2")],
      headers: &headers, payloadHash: Self.emptyHash, date: Self.date)
    #expect(
      headers["authorization"]?.hasSuffix(
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
          + "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true)
  }

  @Test func sessionTokenIsSignedAsSecurityTokenHeader() {
    let signer = SigV4Signer(
      credentials: S3Credentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: "TOKEN"),
      region: "us-east-1")
    var headers = ["host": "examplebucket.s3.amazonaws.com"]
    signer.sign(
      method: "GET", canonicalURI: "/", query: [], headers: &headers,
      payloadHash: Self.emptyHash, date: Self.date)
    #expect(headers["x-amz-security-token"] == "TOKEN")
    #expect(
      headers["authorization"]?.contains(
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") == true)
  }

  @Test func encodingKeepsUnreservedAndSlashesOnlyInPaths() {
    #expect(S3Encoding.encode("a b/c~d_e.f-g+ü", keepSlash: true) == "a%20b/c~d_e.f-g%2B%C3%BC")
    #expect(S3Encoding.encode("a/b=c", keepSlash: false) == "a%2Fb%3Dc")
  }
}
