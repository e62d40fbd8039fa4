/// Matrix product of the last two axes: `op(a) · op(b)`, where `op` transposes when asked.
///
/// - Rank 2 × rank 2: a plain GEMM.
/// - Rank ≥ 3 × rank 2 (`transposeA == false`): the leading axes of `a` are flattened into rows,
///   as for a Dense layer applied to [batch, time, features].
/// - Rank ≥ 3 × rank ≥ 3 with equal leading axes: a batched product (attention); batches run in
///   parallel, each on one thread.
///
/// Transposed operands are read through strides; no transposed copy is made. Shapes that do not
/// fit stop with a precondition naming both shapes.
public func matmul(
  _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
) -> Tensor {
  precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
  let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
  let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
  let (m, k) = transposeA ? (ac, ar) : (ar, ac)
  let (k2, n) = transposeB ? (bc, br) : (br, bc)
  precondition(
    k == k2,
    "matmul inner extents differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")"
  )
  let out: Tensor
  if b.rank == 2 && (a.rank == 2 || !transposeA) {
    let rows = a.rank == 2 ? m : _product(Array(a.shape.dropLast()))
    let outShape = Array(a.shape.dropLast(2)) + [m, n]
    let av = _MatrixView(a.storage.base, rows: rows, cols: k, transposed: transposeA)
    let bv = _MatrixView(b.storage.base, rows: k, cols: n, transposed: transposeB)
    out = Tensor(shape: outShape) { c in
      _GEMM.run(m: rows, n: n, k: k, a: av, b: bv, c: c, ldc: n, accumulate: false)
    }
  } else {
    precondition(
      a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2),
      "batched matmul needs equal batch axes, got \(a.shape) and \(b.shape)")
    let batch = _product(Array(a.shape.dropLast(2)))
    let (pa, pb) = (_SendablePointer(a.storage.base), _SendablePointer(b.storage.base))
    let (sa, sb) = (ar * ac, br * bc)
    out = Tensor(shape: Array(a.shape.dropLast(2)) + [m, n]) { c in
      let pc = _SendablePointer(c)
      _parallelFor(batch) { i in
        let av = _MatrixView(UnsafePointer(pa.p + i * sa), rows: m, cols: k, transposed: transposeA)
        let bv = _MatrixView(UnsafePointer(pb.p + i * sb), rows: k, cols: n, transposed: transposeB)
        _GEMM.run(
          m: m, n: n, k: k, a: av, b: bv, c: pc.p + i * m * n, ldc: n, accumulate: false,
          allowThreads: false)
      }
    }
  }
  guard let tape = _activeTape(a, b) else { return out }
  let (na, nb) = (_needs(a, tape), _needs(b, tape))
  return tape._append(out, inputs: [a, b]) { g in
    var da: Tensor? = nil
    var db: Tensor? = nil
    if na {
      da =
        transposeA
        ? matmul(b, g, transposeA: transposeB, transposeB: true)
        : matmul(g, b, transposeB: !transposeB)
    }
    if nb {
      if b.rank == 2 && a.rank > 2 {
        // `a` was flattened into rows; so is its gradient partner.
        let a2 = a.reshaped([-1, k])
        let g2 = g.reshaped([-1, n])
        db = transposeB ? matmul(g2, a2, transposeA: true) : matmul(a2, g2, transposeA: true)
      } else {
        db =
          transposeB
          ? matmul(g, a, transposeA: true, transposeB: transposeA)
          : matmul(a, g, transposeA: !transposeA)
      }
    }
    return [da, db]
  }
}
