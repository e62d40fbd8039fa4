import CCrypto
import Foundation

/// SHA-256 and HMAC-SHA-256 over libcrypto, as SigV4 needs them (raw digests and lowercase hex).
enum S3Crypto {
  /// The SHA-256 digest of `bytes`.
  static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let ok = digest.withUnsafeMutableBufferPointer { out in
      EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &length, EVP_sha256(), nil)
    }
    // A built-in digest fails only when allocation fails; no input can make it fail.
    precondition(ok == 1 && length == 32, "libcrypto EVP_Digest(sha256) failed")
    return digest
  }

  /// The SHA-256 digest of `data`.
  static func sha256(_ data: Data) -> [UInt8] { data.withUnsafeBytes { sha256($0) } }

  /// The SHA-256 digest of a string's UTF-8 bytes.
  static func sha256(_ string: String) -> [UInt8] { sha256(Data(string.utf8)) }

  /// HMAC-SHA-256 of `message` under `key`.
  static func hmac(key: [UInt8], _ message: String) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let bytes = Array(message.utf8)
    let result = key.withUnsafeBufferPointer { k in
      bytes.withUnsafeBufferPointer { m in
        digest.withUnsafeMutableBufferPointer { out in
          HMAC(
            EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count,
            out.baseAddress, &length)
        }
      }
    }
    // As for the digest: HMAC with a built-in digest fails only when allocation fails.
    precondition(result != nil && length == 32, "libcrypto HMAC(sha256) failed")
    return digest
  }

  /// Lowercase hexadecimal, as SigV4 writes hashes and signatures.
  static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The hex SHA-256 of the empty payload, which every bodiless request signs.
  static let emptyPayloadHash = hex(sha256(Data()))
}
