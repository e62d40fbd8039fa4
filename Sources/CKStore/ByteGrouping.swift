/// The float-aware transform in front of zstd: the bytes of W-byte elements are regrouped into W
/// planes (every element's byte 0, then every element's byte 1, …). Sign/exponent planes of
/// floats are highly repetitive and compress well; mantissa planes do not, and no longer dilute
/// the others. A trailing partial element is copied as it is.
enum ByteGrouping {
  /// Writes the planes of `input` (elements of `width` bytes) to `output` (same size).
  static func group(
    _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, width: Int
  ) {
    precondition(output.count == input.count)
    let n = input.count / width
    let src = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let dst = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
    switch width {
    case 2:
      for i in 0..<n {
        dst[i] = src[2 * i]
        dst[n + i] = src[2 * i + 1]
      }
    case 4:
      for i in 0..<n {
        dst[i] = src[4 * i]
        dst[n + i] = src[4 * i + 1]
        dst[2 * n + i] = src[4 * i + 2]
        dst[3 * n + i] = src[4 * i + 3]
      }
    default:
      for b in 0..<width {
        let plane = dst + b * n
        for i in 0..<n { plane[i] = src[width * i + b] }
      }
    }
    for t in (n * width)..<input.count { dst[t] = src[t] }
  }

  /// Inverts `group`.
  static func ungroup(
    _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, width: Int
  ) {
    precondition(output.count == input.count)
    let n = input.count / width
    let src = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let dst = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
    switch width {
    case 2:
      for i in 0..<n {
        dst[2 * i] = src[i]
        dst[2 * i + 1] = src[n + i]
      }
    case 4:
      for i in 0..<n {
        dst[4 * i] = src[i]
        dst[4 * i + 1] = src[n + i]
        dst[4 * i + 2] = src[2 * n + i]
        dst[4 * i + 3] = src[3 * n + i]
      }
    default:
      for b in 0..<width {
        let plane = src + b * n
        for i in 0..<n { dst[width * i + b] = plane[i] }
      }
    }
    for t in (n * width)..<input.count { dst[t] = src[t] }
  }
}
