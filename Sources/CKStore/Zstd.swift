import CZstd

/// zstd compression of whole buffers, wrapped so that callers never see `ZSTD_*`.
public enum Zstd {
  /// Compression and decompression contexts, reused across calls and threads: making one per
  /// call (what `ZSTD_compress` does) costs more than compressing a small byte plane.
  private static let compressionContexts = ContextPool(make: { ZSTD_createCCtx() })
  private static let decompressionContexts = ContextPool(make: { ZSTD_createDCtx() })

  /// Compresses `input` at `level` (1...19).
  public static func compress(_ input: UnsafeRawBufferPointer, level: Int32) throws -> [UInt8] {
    let bound = ZSTD_compressBound(input.count)
    var output = [UInt8].uninitialized(count: bound)
    let written = output.withUnsafeMutableBytes { out in
      compressionContexts.with {
        $0.map {
          ZSTD_compressCCtx($0, out.baseAddress, bound, input.baseAddress, input.count, level)
        }
          ?? ZSTD_compress(out.baseAddress, bound, input.baseAddress, input.count, level)
      }
    }
    if ZSTD_isError(written) != 0 {
      throw StoreError(.compression, "zstd compress failed: \(errorName(written))")
    }
    output.removeSubrange(written...)
    return output
  }

  /// Compresses `input` into `output`; nil when the frame would not fit (the data does not
  /// compress below `output.count`).
  static func compress(
    _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, level: Int32
  ) throws -> Int? {
    let written = compressionContexts.with {
      $0.map {
        ZSTD_compressCCtx(
          $0, output.baseAddress, output.count, input.baseAddress, input.count, level)
      } ?? ZSTD_compress(output.baseAddress, output.count, input.baseAddress, input.count, level)
    }
    if ZSTD_isError(written) != 0 {
      if ZSTD_getErrorCode(written) == ZSTD_error_dstSize_tooSmall { return nil }
      throw StoreError(.compression, "zstd compress failed: \(errorName(written))")
    }
    return written
  }

  /// Decompresses `input`, which must expand to exactly `expectedSize` bytes, into `output`.
  public static func decompress(
    _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, object: String
  ) throws {
    let got = decompressionContexts.with {
      $0.map {
        ZSTD_decompressDCtx($0, output.baseAddress, output.count, input.baseAddress, input.count)
      } ?? ZSTD_decompress(output.baseAddress, output.count, input.baseAddress, input.count)
    }
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
  ///
  /// A size no frame of `input.count` bytes can reach is treated as none (nil), so a damaged frame
  /// header cannot make a reader allocate it: every zstd block takes at least 3 bytes and yields at
  /// most 128 KiB.
  static func frameContentSize(_ input: UnsafeRawBufferPointer) -> UInt64? {
    let size = ZSTD_getFrameContentSize(input.baseAddress, input.count)
    // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest values.
    guard size < UInt64.max - 1 else { return nil }
    let reachable = (UInt64(input.count) / 3 + 1) * (128 << 10)
    return size <= reachable ? UInt64(size) : nil
  }

  private static func errorName(_ code: Int) -> String {
    String(cString: ZSTD_getErrorName(code))
  }
}

/// A free list of zstd contexts: a thread takes one, uses it alone, and gives it back.
private final class ContextPool: @unchecked Sendable {
  private let free = LockedState<[OpaquePointer]>([])
  private let make: () -> OpaquePointer?

  init(make: @escaping () -> OpaquePointer?) { self.make = make }

  /// Calls `body` with a context of its own, or nil when none can be made (out of memory: the
  /// caller then uses zstd's context-free call).
  func with<R>(_ body: (OpaquePointer?) -> R) -> R {
    guard let context = free.withLock({ $0.popLast() }) ?? make() else { return body(nil) }
    defer { free.withLock { $0.append(context) } }
    return body(context)
  }
}
