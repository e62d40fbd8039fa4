import Foundation

/// Collects one response as libcurl hands it over: header lines into a dictionary (names
/// lowercased) and the body into one buffer, sized once from `Content-Length` when the server
/// sends it, so a large GET is a single allocation and no copy beyond libcurl's own.
final class CurlResponseSink {
  /// The response's headers, names lowercased; a repeated name keeps its last value.
  private(set) var headers: [String: String] = [:]
  private var expectedLength: Int?
  private var buffer: UnsafeMutableRawPointer?
  private var capacity = 0
  private var count = 0

  deinit { free(buffer) }

  /// Takes one header line (with its CRLF). A status line starts a new response, so the
  /// headers of an interim answer (100 Continue) do not leak into the final one.
  func takeHeaderLine(_ line: UnsafeRawBufferPointer) {
    let text = String(decoding: line, as: UTF8.self)
    if text.hasPrefix("HTTP/") {
      headers = [:]
      expectedLength = nil
      return
    }
    guard let colon = text.firstIndex(of: ":") else { return }
    let name = text[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
    let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    headers[name] = value
    if name == "content-length" { expectedLength = Int(value) }
  }

  /// Appends body bytes; false when memory runs out (libcurl then aborts the transfer).
  func takeBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
    let needed = count + bytes.count
    if needed > capacity {
      // The first chunk reserves the announced length; a body without one (or longer than
      // announced) grows by doubling.
      let announced = buffer == nil ? (expectedLength ?? 0) : 0
      let grown = max(needed, announced, capacity * 2, 64 << 10)
      guard let moved = realloc(buffer, grown) else { return false }
      buffer = moved
      capacity = grown
    }
    (buffer! + count).copyMemory(from: base, byteCount: bytes.count)
    count = needed
    return true
  }

  /// The body received, handed over without a copy; the sink is empty afterwards.
  func takeBody() -> Data {
    guard let buffer, count > 0 else { return Data() }
    self.buffer = nil
    defer { count = 0; capacity = 0 }
    return Data(bytesNoCopy: buffer, count: count, deallocator: .free)
  }
}
