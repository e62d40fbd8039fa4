import CKStore
import Foundation

/// One end of the pipe pair between `ckstore train --ranks` and one rank worker.
///
/// A message is a JSON header and raw bytes (tensor slices, little-endian float32, in the order
/// the header names them): u32 header length, header, u64 payload length, payload, all
/// little-endian. The protocol is lockstep — each side knows which message comes next — so the
/// header's type is given by the receiver. A closed pipe is `RankChannel.Closed`, so a dead peer
/// is told apart from a broken message.
final class RankChannel {
  /// The peer closed its end (exited, or was killed).
  struct Closed: Error {}

  private let input: Int32
  private let output: Int32

  /// A channel reading `input` and writing `output` (file descriptors it does not close).
  init(input: Int32, output: Int32) {
    self.input = input
    self.output = output
  }

  /// Sends `header` with `payload`.
  func send(_ header: some Encodable, payload: [UInt8] = []) throws {
    let json = try JSONEncoder().encode(header)
    var frame: [UInt8] = []
    frame.reserveCapacity(12 + json.count + payload.count)
    withUnsafeBytes(of: UInt32(json.count).littleEndian) { frame += $0 }
    frame += json
    withUnsafeBytes(of: UInt64(payload.count).littleEndian) { frame += $0 }
    frame += payload
    try frame.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = write(output, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 && errno == EINTR { continue }
        if n < 0 && errno == EPIPE { throw Closed() }
        guard n > 0 else { throw StoreError(.io, "rank channel: write failed: errno \(errno)") }
        offset += n
      }
    }
  }

  /// Receives the next message, its header decoded as `Header`.
  func receive<Header: Decodable>(_: Header.Type) throws -> (Header, [UInt8]) {
    let headerLength = try readInteger(UInt32.self)
    let header = try JSONDecoder().decode(Header.self, from: Data(try readBytes(Int(headerLength))))
    let payloadLength = try readInteger(UInt64.self)
    guard payloadLength < 1 << 40 else {
      throw StoreError(.io, "rank channel: a payload of \(payloadLength) bytes")
    }
    return (header, try readBytes(Int(payloadLength)))
  }

  private func readInteger<T: FixedWidthInteger>(_: T.Type) throws -> T {
    try readBytes(MemoryLayout<T>.size).withUnsafeBytes {
      T(littleEndian: $0.loadUnaligned(as: T.self))
    }
  }

  private func readBytes(_ count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var offset = 0
    try bytes.withUnsafeMutableBytes { raw in
      while offset < count {
        let n = read(input, raw.baseAddress! + offset, count - offset)
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw StoreError(.io, "rank channel: read failed: errno \(errno)") }
        guard n > 0 else { throw Closed() }
        offset += n
      }
    }
    return bytes
  }
}
