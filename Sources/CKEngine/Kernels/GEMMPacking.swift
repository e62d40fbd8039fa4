/// Packing of operand blocks into the panel layouts the micro-kernel reads.
extension _GEMM {
  /// Packs A[i0..<i0+mcb, k0..<k0+kcb] into `mr`-row panels: for each k, `mr` consecutive rows.
  static func packPanelsA(
    _ a: _MatrixView, i0: Int, mcb: Int, k0: Int, kcb: Int, into dst: UnsafeMutablePointer<Float>
  ) {
    var d = dst
    var r = 0
    while r < mcb {
      let rows = min(mr, mcb - r)
      if a.colStride == 1 && rows == mr {
        // Six row streams interleaved: sequential writes, six sequential reads. Pointer steps,
        // not index arithmetic, so no overflow checks sit in the loop.
        var s0 = a.base + (i0 + r) * a.rowStride + k0
        let rs = a.rowStride
        var o = d
        for _ in 0..<kcb {
          o[0] = s0[0]
          o[1] = s0[rs]
          o[2] = s0[2 &* rs]
          o[3] = s0[3 &* rs]
          o[4] = s0[4 &* rs]
          o[5] = s0[5 &* rs]
          o += mr
          s0 += 1
        }
      } else if a.colStride == 1 {
        for i in 0..<mr {
          if i < rows {
            let src = a.base + (i0 + r + i) * a.rowStride + k0
            for p in 0..<kcb { d[p * mr + i] = src[p] }
          } else {
            for p in 0..<kcb { d[p * mr + i] = 0 }
          }
        }
      } else {
        for p in 0..<kcb {
          let src = a.base + (i0 + r) * a.rowStride + (k0 + p) * a.colStride
          for i in 0..<rows { d[p * mr + i] = src[i * a.rowStride] }
          for i in rows..<mr { d[p * mr + i] = 0 }
        }
      }
      d += kcb * mr
      r += mr
    }
  }

  /// Packs B[k0..<k0+kcb, j0..<j0+ncb] into `nr`-column panels: for each k, `nr` consecutive columns.
  static func packPanelsB(
    _ b: _MatrixView, k0: Int, kcb: Int, j0: Int, ncb: Int, into dst: UnsafeMutablePointer<Float>
  ) {
    var d = dst
    var j = 0
    while j < ncb {
      let cols = min(nr, ncb - j)
      if b.colStride == 1 && cols == nr {
        // A full panel of a row-major B: one 16-wide vector per row of the panel.
        var src = b.base + k0 * b.rowStride + j0 + j
        for p in 0..<kcb {
          UnsafeMutableRawPointer(d + p * nr).storeBytes(
            of: UnsafeRawPointer(src).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
          src += b.rowStride
        }
      } else if b.colStride == 1 {
        for p in 0..<kcb {
          let src = b.base + (k0 + p) * b.rowStride + j0 + j
          for jj in 0..<cols { d[p * nr + jj] = src[jj] }
          for jj in cols..<nr { d[p * nr + jj] = 0 }
        }
      } else {
        for jj in 0..<nr {
          if jj < cols {
            let src = b.base + k0 * b.rowStride + (j0 + j + jj) * b.colStride
            for p in 0..<kcb { d[p * nr + jj] = src[p * b.rowStride] }
          } else {
            for p in 0..<kcb { d[p * nr + jj] = 0 }
          }
        }
      }
      d += kcb * nr
      j += nr
    }
  }
}
