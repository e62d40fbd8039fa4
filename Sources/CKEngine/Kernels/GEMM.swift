import CKKernels

/// Whether the CPU can run the AVX2/FMA micro-kernel; asked once.
let _nativeKernelAvailable: Bool = ck_has_avx2_fma() != 0

/// A strided read-only matrix view: element (i, j) is at `base[i * rowStride + j * colStride]`.
///
/// Transposed operands are the same memory with the strides swapped, so no copy is made.
@usableFromInline
struct _MatrixView: @unchecked Sendable {
  @usableFromInline let base: UnsafePointer<Float>
  @usableFromInline let rowStride: Int
  @usableFromInline let colStride: Int

  @usableFromInline
  init(_ base: UnsafePointer<Float>, rowStride: Int, colStride: Int) {
    self.base = base
    self.rowStride = rowStride
    self.colStride = colStride
  }

  /// A row-major `rows × cols` matrix, or its transpose when `transposed` (stored `cols × rows`).
  @usableFromInline
  init(_ base: UnsafePointer<Float>, rows: Int, cols: Int, transposed: Bool) {
    self.base = base
    if transposed {
      rowStride = 1
      colStride = rows
    } else {
      rowStride = cols
      colStride = 1
    }
  }
}

/// Single-precision GEMM, BLIS style: C (+)= A·B with packed panels, a 6×16 register micro-kernel,
/// cache blocking (`kc` for L1, `mc` for L2, `nc` for L3) and a split of C across threads.
///
/// Every C element is an unbroken chain of multiply-adds over k in increasing order, whatever the
/// thread count or the tile it falls in, so results are bit-identical with 1 or 2 threads.
enum _GEMM {
  static let mr = 6
  static let nr = 16
  static let kc = 256
  static let mc = 120
  static let nc = 3072
  /// Below this many multiply-adds a second thread costs more than it saves.
  static let parallelThreshold = 1 << 21

  /// C[m×n] = A[m×k]·B[k×n] (`accumulate == false`) or C += A·B. `ldc` is C's row stride.
  static func run(
    m: Int, n: Int, k: Int, a: _MatrixView, b: _MatrixView,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, allowThreads: Bool = true
  ) {
    if m == 0 || n == 0 { return }
    if k == 0 {
      if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
      return
    }
    let native = CKEngine.useNativeKernel
    // One piece per thread: each piece packs its own copy of the shared operand, so cutting
    // finer (to balance load on a shared machine) cost more in packing than it saved.
    let tasks = allowThreads && m * n * k >= parallelThreshold ? CKEngine.threadCount : 1
    if tasks == 1 {
      block(
        rows: 0..<m, cols: 0..<n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate,
        native: native)
      return
    }
    if 2 * m >= n {
      runSharedB(
        m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate, native: native,
        tasks: tasks)
      return
    }
    // A wide C: split its columns; each thread packs its own copy of the (smaller) A.
    let cp = _SendablePointer(c)
    let units = (n + nr - 1) / nr
    _parallelFor(tasks) { t in
      let lo = min(n, (units * t / tasks) * nr)
      let hi = min(n, (units * (t + 1) / tasks) * nr)
      if lo >= hi { return }
      block(
        rows: 0..<m, cols: lo..<hi, k: k, a: a, b: b, c: cp.p, ldc: ldc, accumulate: accumulate,
        native: native)
    }
  }

  /// Threads split C's rows and share one packed copy of B: for each (nc, kc) block they first
  /// pack disjoint panels of B, then each multiplies its rows by the whole packed block.
  static func runSharedB(
    m: Int, n: Int, k: Int, a: _MatrixView, b: _MatrixView, c: UnsafeMutablePointer<Float>,
    ldc: Int, accumulate: Bool, native: Bool, tasks: Int
  ) {
    let kcMax = min(kc, k)
    let ncMax = min(nc, (n + nr - 1) / nr * nr)
    let packB = UnsafeMutableRawPointer.allocate(byteCount: kcMax * ncMax * 4, alignment: 64)
      .bindMemory(to: Float.self, capacity: kcMax * ncMax)
    defer { packB.deallocate() }
    let (pb, cp) = (_SendablePointer(packB), _SendablePointer(c))
    let rowUnits = (m + mr - 1) / mr
    var jc = 0
    while jc < n {
      let ncb = min(nc, n - jc)
      let panels = (ncb + nr - 1) / nr
      var pc = 0
      while pc < k {
        let (j0, k0, kcb) = (jc, pc, min(kc, k - pc))
        _parallelFor(tasks) { t in
          let (p0, p1) = (panels * t / tasks, panels * (t + 1) / tasks)
          if p0 >= p1 { return }
          packPanelsB(
            b, k0: k0, kcb: kcb, j0: j0 + p0 * nr, ncb: min(ncb, p1 * nr) - p0 * nr,
            into: pb.p + p0 * kcb * nr)
        }
        let acc = accumulate || pc > 0
        _parallelFor(tasks) { t in
          let lo = min(m, rowUnits * t / tasks * mr)
          let hi = min(m, rowUnits * (t + 1) / tasks * mr)
          if lo >= hi { return }
          let floats = kcb * min(mc, hi - lo + mr) + mr * nr
          withUnsafeTemporaryAllocation(byteCount: floats * 4, alignment: 64) { raw in
            let packA = raw.baseAddress!.bindMemory(to: Float.self, capacity: floats)
            computeBlock(
              rows: lo..<hi, jc: j0, ncb: ncb, pc: k0, kcb: kcb, a: a, c: cp.p, ldc: ldc,
              accumulate: acc, native: native, packB: pb.p, packA: packA,
              edge: packA + (floats - mr * nr))
          }
        }
        pc += kcb
      }
      jc += ncb
    }
  }

  /// One thread's share: the C block `rows × cols`, looping nc → kc → mc → micro-tiles.
  static func block(
    rows: Range<Int>, cols: Range<Int>, k: Int, a: _MatrixView, b: _MatrixView,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, native: Bool
  ) {
    let kcMax = min(kc, k)
    let ncMax = min(nc, (cols.count + nr - 1) / nr * nr)
    let mcMax = min(mc, (rows.count + mr - 1) / mr * mr)
    // One scratch block for the packed panels and the edge tile; small products (the digits
    // model) get it from the stack instead of malloc.
    let floats = kcMax * ncMax + kcMax * mcMax + mr * nr
    withUnsafeTemporaryAllocation(byteCount: floats * 4, alignment: 64) { raw in
      let base = raw.baseAddress!.bindMemory(to: Float.self, capacity: floats)
      blockLoop(
        rows: rows, cols: cols, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate,
        native: native, packB: base, packA: base + kcMax * ncMax,
        edge: base + kcMax * ncMax + kcMax * mcMax)
    }
  }

  /// The loops of `block` over scratch buffers it provides.
  static func blockLoop(
    rows: Range<Int>, cols: Range<Int>, k: Int, a: _MatrixView, b: _MatrixView,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, native: Bool,
    packB: UnsafeMutablePointer<Float>, packA: UnsafeMutablePointer<Float>,
    edge: UnsafeMutablePointer<Float>
  ) {
    var jc = cols.lowerBound
    while jc < cols.upperBound {
      let ncb = min(nc, cols.upperBound - jc)
      var pc = 0
      while pc < k {
        let kcb = min(kc, k - pc)
        packPanelsB(b, k0: pc, kcb: kcb, j0: jc, ncb: ncb, into: packB)
        computeBlock(
          rows: rows, jc: jc, ncb: ncb, pc: pc, kcb: kcb, a: a, c: c, ldc: ldc,
          accumulate: accumulate || pc > 0, native: native, packB: packB, packA: packA, edge: edge)
        pc += kcb
      }
      jc += ncb
    }
  }

  /// C[rows, jc..<jc+ncb] (+)= A[rows, pc..<pc+kcb] · (packed B block): packs A `mc` rows at a
  /// time and runs the micro-kernel over every tile.
  static func computeBlock(
    rows: Range<Int>, jc: Int, ncb: Int, pc: Int, kcb: Int, a: _MatrixView,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate acc: Bool, native: Bool,
    packB: UnsafeMutablePointer<Float>, packA: UnsafeMutablePointer<Float>,
    edge: UnsafeMutablePointer<Float>
  ) {
    var ic = rows.lowerBound
    while ic < rows.upperBound {
      let mcb = min(mc, rows.upperBound - ic)
      packPanelsA(a, i0: ic, mcb: mcb, k0: pc, kcb: kcb, into: packA)
      var jr = 0
      while jr < ncb {
        let nb = min(nr, ncb - jr)
        let bp = packB + (jr / nr) * kcb * nr
        var ir = 0
        while ir < mcb {
          let mb = min(mr, mcb - ir)
          let ap = packA + (ir / mr) * kcb * mr
          let cp = c + (ic + ir) * ldc + jc + jr
          if mb == mr && nb == nr {
            kernel(kcb, ap, bp, cp, ldc, acc, native)
          } else {
            // Partial tile: run the same kernel on a padded copy so the arithmetic matches.
            if acc {
              for i in 0..<mb { (edge + i * nr).update(from: cp + i * ldc, count: nb) }
            }
            kernel(kcb, ap, bp, edge, nr, acc, native)
            for i in 0..<mb { (cp + i * ldc).update(from: edge + i * nr, count: nb) }
          }
          ir += mr
        }
        jr += nr
      }
      ic += mcb
    }
  }

  @inline(__always)
  static func kernel(
    _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ native: Bool
  ) {
    if native {
      ck_sgemm_6x16_avx2(kc, a, b, c, ldc, accumulate ? 1 : 0)
    } else {
      _microKernelSwift(kc, a, b, c, ldc, accumulate)
    }
  }

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

/// The portable micro-kernel: six `SIMD16<Float>` accumulators for a 6×16 tile of C.
///
/// Written with separate multiply and add: `addingProduct` would call `fmaf` on baseline x86-64.
@inline(__always)
func _microKernelSwift(
  _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
  _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool
) {
  typealias V = SIMD16<Float>
  @inline(__always) func load(_ p: UnsafePointer<Float>) -> V {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
  }
  var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V()
  if accumulate {
    c0 = load(c)
    c1 = load(c + ldc)
    c2 = load(c + 2 * ldc)
    c3 = load(c + 3 * ldc)
    c4 = load(c + 4 * ldc)
    c5 = load(c + 5 * ldc)
  }
  var ap = a
  var bp = b
  for _ in 0..<kc {
    let bv = load(bp)
    c0 += V(repeating: ap[0]) * bv
    c1 += V(repeating: ap[1]) * bv
    c2 += V(repeating: ap[2]) * bv
    c3 += V(repeating: ap[3]) * bv
    c4 += V(repeating: ap[4]) * bv
    c5 += V(repeating: ap[5]) * bv
    ap += 6
    bp += 16
  }
  @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
  }
  store(c0, c)
  store(c1, c + ldc)
  store(c2, c + 2 * ldc)
  store(c3, c + 3 * ldc)
  store(c4, c + 4 * ldc)
  store(c5, c + 5 * ldc)
}
