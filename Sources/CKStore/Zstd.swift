import CZstd

/// zstd compression of whole buffers, wrapped so that callers never see `ZSTD_*`.
public enum Zstd {
  /// Compresses `input` at `level` (1...19).
  public static func compress(_ input: UnsafeRawBufferPointer, level: Int32) throws -> [UInt8] {
    let bound = ZSTD_compressBound(input.count)
    var output = [UInt8].uninitialized(count: bound)
    let written = output.withUnsafeMutableBytes { out in
      ZSTD_compress(out.baseAddress, bound, input.baseAddress, input.count, level)
    }
    if ZSTD_isError(written) != 0 {
      throw StoreError(.compression, "zstd compress failed: \(errorName(written))")
    }
    output.removeSubrange(written...)
    return output
  }

  /// Decompresses `input`, which must expand to exactly `expectedSize` bytes, into `output`.
  public static func decompress(
    _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, object: String
  ) throws {
    let got = ZSTD_decompress(output.baseAddress, output.count, input.baseAddress, input.count)
    if ZSTD_isError(got) != 0 {
      throw StoreError(.corruptObject, "object \(object): zstd: \(errorName(got))")
    }
    if got != output.count {
      throw StoreError(
        .corruptObject,
        "object \(object): decompressed to \(got) bytes, header says \(output.count)")
    }
  }

  /// The content size a zstd frame declares in its header; nil if it declares none or `input`
  /// is not a frame.
  static func frameContentSize(_ input: UnsafeRawBufferPointer) -> UInt64? {
    let size = ZSTD_getFrameContentSize(input.baseAddress, input.count)
    // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest values.
    return size >= UInt64.max - 1 ? nil : UInt64(size)
  }

  private static func errorName(_ code: Int) -> String {
    String(cString: ZSTD_getErrorName(code))
  }
}
