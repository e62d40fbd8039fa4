import CCrypto

/// SHA-256 through OpenSSL's libcrypto, which uses the CPU's SHA extensions where present.
public struct SHA256: Sendable {
  /// Hashes a buffer in one call.
  public static func hash(_ bytes: UnsafeRawBufferPointer) -> ObjectID {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let ok = digest.withUnsafeMutableBufferPointer { out in
      EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &length, EVP_sha256(), nil)
    }
    // EVP_Digest with a built-in digest only fails on allocation failure; there is no input
    // that makes it fail, so a failure here is an environment fault worth stopping on.
    precondition(ok == 1 && length == 32, "libcrypto EVP_Digest(sha256) failed")
    return ObjectID(bytes: digest)
  }

  /// Hashes the contents of a byte array.
  public static func hash(_ bytes: [UInt8]) -> ObjectID {
    bytes.withUnsafeBytes { hash($0) }
  }
}
