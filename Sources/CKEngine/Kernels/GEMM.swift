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

/// Single-precision GEMM, BLIS style: C (+)= A·B with a 6×16 register micro-kernel, cache
/// blocking (`kc` for L1, `mc` for L2, `nc` for L3) and a split of C across threads.
///
/// Large operands are packed into contiguous panels; small ones (the shapes training uses:
/// K or N of 10–256) are read in place by the strided micro-kernel, because packing them cost as
/// much as the multiply. Only edge tiles (fewer than 6 rows or 16 columns) are copied then.
///
/// Every C element is an unbroken chain of fused multiply-adds over k in increasing order, whatever
/// the thread count, the tile it falls in or whether its operands were packed, so results are
/// bit-identical with 1 or 2 threads and between the packed and in-place paths.
enum _GEMM {
  static let mr = 6
  static let nr = 16
  static let kc = 256
  static let mc = 120
  static let nc = 3072
  /// Below this many multiply-adds a second thread costs more than it saves.
  static let parallelThreshold = 1 << 21
  /// Operands up to this many floats (256 KiB, half of this machine's L2) are read in place.
  static let inPlaceLimit = 1 << 16

  /// Which operands a product packs.
  struct Plan {
    let packA: Bool
    let packB: Bool

    init(m: Int, n: Int, k: Int, a: _MatrixView, b: _MatrixView) {
      // A transposed A is read one column (6 rows) per k step: fine while it stays in cache.
      packA = m * k >= (a.colStride == 1 ? 16 : 4) * inPlaceLimit
      // The kernel needs 16 consecutive floats of B per k step, so a transposed B is packed; so
      // is one with rows over 256 bytes apart: its k rows fall in a few L1 sets and evict each
      // other (N = 256 ran at a third of the packed speed).
      packB = b.colStride != 1 || n > 64 || n * k > inPlaceLimit
    }
  }

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
    let plan = Plan(m: m, n: n, k: k, a: a, b: b)
    // One piece per thread: each piece packs its own copy of the shared operand, so cutting
    // finer (to balance load on a shared machine) cost more in packing than it saved.
    let tasks = allowThreads && m * n * k >= parallelThreshold ? CKEngine.threadCount : 1
    if tasks == 1 {
      block(
        rows: 0..<m, cols: 0..<n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate,
        native: native, plan: plan)
      return
    }
    let cp = _SendablePointer(c)
    if 2 * m >= n {
      if plan.packB {
        runSharedB(
          m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate, native: native,
          plan: plan, tasks: tasks)
        return
      }
      // A tall C over a small B read in place: split the rows, nothing is shared.
      let units = (m + mr - 1) / mr
      _parallelFor(tasks) { t in
        let lo = min(m, units * t / tasks * mr)
        let hi = min(m, units * (t + 1) / tasks * mr)
        if lo >= hi { return }
        block(
          rows: lo..<hi, cols: 0..<n, k: k, a: a, b: b, c: cp.p, ldc: ldc,
          accumulate: accumulate, native: native, plan: plan)
      }
      return
    }
    // A wide C: split its columns; each thread packs its own copy of the (smaller) A.
    let units = (n + nr - 1) / nr
    _parallelFor(tasks) { t in
      let lo = min(n, (units * t / tasks) * nr)
      let hi = min(n, (units * (t + 1) / tasks) * nr)
      if lo >= hi { return }
      block(
        rows: 0..<m, cols: lo..<hi, k: k, a: a, b: b, c: cp.p, ldc: ldc, accumulate: accumulate,
        native: native, plan: plan)
    }
  }

  /// Threads split C's rows and share one packed copy of B: for each (nc, kc) block they first
  /// pack disjoint panels of B, then each multiplies its rows by the whole packed block.
  static func runSharedB(
    m: Int, n: Int, k: Int, a: _MatrixView, b: _MatrixView, c: UnsafeMutablePointer<Float>,
    ldc: Int, accumulate: Bool, native: Bool, plan: Plan, tasks: Int
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
          withScratch(kcb: kcb, packA: plan.packA ? kcb * min(mc, hi - lo + mr) : 0) { s, _ in
            computeBlock(
              rows: lo..<hi, jc: j0, ncb: ncb, pc: k0, kcb: kcb, a: a, b: b, c: cp.p, ldc: ldc,
              accumulate: acc, native: native, packedB: pb.p, scratch: s)
          }
        }
        pc += kcb
      }
      jc += ncb
    }
  }

  /// Buffers one thread's block needs: packed A (optional) and the edge-tile copies.
  struct Scratch {
    let packA: UnsafeMutablePointer<Float>?
    let edgeA: UnsafeMutablePointer<Float>
    let edgeB: UnsafeMutablePointer<Float>
    let edgeC: UnsafeMutablePointer<Float>
  }

  /// Runs `body` with scratch for `kcb`-deep edge panels and `packA` floats of packed A, plus
  /// `extra` floats in front (a packed B block); small products get it from the stack.
  static func withScratch(
    kcb: Int, packA: Int, extra: Int = 0,
    _ body: (Scratch, UnsafeMutablePointer<Float>) -> Void
  ) {
    let floats = extra + packA + kcb * (mr + nr) + mr * nr
    withUnsafeTemporaryAllocation(byteCount: floats * 4, alignment: 64) { raw in
      let base = raw.baseAddress!.bindMemory(to: Float.self, capacity: floats)
      let p = base + extra
      let s = Scratch(
        packA: packA > 0 ? p : nil, edgeA: p + packA, edgeB: p + packA + kcb * mr,
        edgeC: p + packA + kcb * (mr + nr))
      body(s, base)
    }
  }

  /// One thread's share: the C block `rows × cols`, looping nc → kc → mc → micro-tiles.
  static func block(
    rows: Range<Int>, cols: Range<Int>, k: Int, a: _MatrixView, b: _MatrixView,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, native: Bool, plan: Plan
  ) {
    let kcMax = min(kc, k)
    let ncMax = min(nc, (cols.count + nr - 1) / nr * nr)
    let mcMax = min(mc, (rows.count + mr - 1) / mr * mr)
    let packBFloats = plan.packB ? kcMax * ncMax : 0
    withScratch(kcb: kcMax, packA: plan.packA ? kcMax * mcMax : 0, extra: packBFloats) {
      s, packB in
      var jc = cols.lowerBound
      while jc < cols.upperBound {
        let ncb = min(nc, cols.upperBound - jc)
        var pc = 0
        while pc < k {
          let kcb = min(kc, k - pc)
          if plan.packB { packPanelsB(b, k0: pc, kcb: kcb, j0: jc, ncb: ncb, into: packB) }
          computeBlock(
            rows: rows, jc: jc, ncb: ncb, pc: pc, kcb: kcb, a: a, b: b, c: c, ldc: ldc,
            accumulate: accumulate || pc > 0, native: native,
            packedB: plan.packB ? packB : nil, scratch: s)
          pc += kcb
        }
        jc += ncb
      }
    }
  }

  /// C[rows, jc..<jc+ncb] (+)= A[rows, pc..<pc+kcb] · B[pc..<pc+kcb, jc..<jc+ncb], with B from
  /// `packedB` (the packed block) or read in place, and A packed `mc` rows at a time when
  /// `scratch.packA` is given or read in place.
  static func computeBlock(
    rows: Range<Int>, jc: Int, ncb: Int, pc: Int, kcb: Int, a: _MatrixView, b: _MatrixView,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate acc: Bool, native: Bool,
    packedB: UnsafeMutablePointer<Float>?, scratch s: Scratch
  ) {
    let fullCols = ncb / nr * nr
    if packedB == nil && fullCols < ncb {
      packPanelsB(b, k0: pc, kcb: kcb, j0: jc + fullCols, ncb: ncb - fullCols, into: s.edgeB)
    }
    var ic = rows.lowerBound
    while ic < rows.upperBound {
      let mcb = min(mc, rows.upperBound - ic)
      let fullRows = mcb / mr * mr
      if let packA = s.packA {
        packPanelsA(a, i0: ic, mcb: mcb, k0: pc, kcb: kcb, into: packA)
      } else if fullRows < mcb {
        packPanelsA(a, i0: ic + fullRows, mcb: mcb - fullRows, k0: pc, kcb: kcb, into: s.edgeA)
      }
      var jr = 0
      while jr < ncb {
        let nb = min(nr, ncb - jr)
        let (bp, bks): (UnsafePointer<Float>, Int)
        if let packedB {
          (bp, bks) = (UnsafePointer(packedB + (jr / nr) * kcb * nr), nr)
        } else if jr < fullCols {
          (bp, bks) = (b.base + pc * b.rowStride + jc + jr, b.rowStride)
        } else {
          (bp, bks) = (UnsafePointer(s.edgeB), nr)
        }
        var ir = 0
        while ir < mcb {
          let mb = min(mr, mcb - ir)
          let (ap, ars, aks): (UnsafePointer<Float>, Int, Int)
          if let packA = s.packA {
            (ap, ars, aks) = (UnsafePointer(packA + (ir / mr) * kcb * mr), 1, mr)
          } else if ir < fullRows {
            let p = a.base + (ic + ir) * a.rowStride + pc * a.colStride
            (ap, ars, aks) = (p, a.rowStride, a.colStride)
          } else {
            (ap, ars, aks) = (UnsafePointer(s.edgeA), 1, mr)
          }
          let cp = c + (ic + ir) * ldc + jc + jr
          if mb == mr && nb == nr {
            kernel(kcb, ap, ars, aks, bp, bks, cp, ldc, acc, native)
          } else {
            // Partial tile: run the same kernel on a padded copy so the arithmetic matches.
            let edge = s.edgeC
            if acc {
              for i in 0..<mb { (edge + i * nr).update(from: cp + i * ldc, count: nb) }
            }
            kernel(kcb, ap, ars, aks, bp, bks, edge, nr, acc, native)
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
    _ kc: Int, _ a: UnsafePointer<Float>, _ ars: Int, _ aks: Int, _ b: UnsafePointer<Float>,
    _ bks: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ native: Bool
  ) {
    if native {
      ck_sgemm_6x16_avx2(kc, a, ars, aks, b, bks, c, ldc, accumulate ? 1 : 0)
    } else {
      _microKernelSwift(kc, a, ars, aks, b, bks, c, ldc, accumulate)
    }
  }
}
/// The portable micro-kernel: six `SIMD16<Float>` accumulators for a 6×16 tile of C, with the
/// same strided operands as `ck_sgemm_6x16_avx2`.
///
/// Written with separate multiply and add: `addingProduct` would call `fmaf` on baseline x86-64.
@inline(__always)
func _microKernelSwift(
  _ kc: Int, _ a: UnsafePointer<Float>, _ ars: Int, _ aks: Int, _ b: UnsafePointer<Float>,
  _ bks: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool
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
    c1 += V(repeating: ap[ars]) * bv
    c2 += V(repeating: ap[2 &* ars]) * bv
    c3 += V(repeating: ap[3 &* ars]) * bv
    c4 += V(repeating: ap[4 &* ars]) * bv
    c5 += V(repeating: ap[5 &* ars]) * bv
    ap += aks
    bp += bks
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
