/// Layer normalisation over the last axis: (x − mean) / √(var + ε) · gamma + beta.
///
/// `gamma` and `beta` have the shape of the last axis. Fused forward and backward; the variance is
/// the biased one (divided by n), as in most frameworks. Rows are split across threads; the
/// gradients of gamma and beta, sums over rows, are split by column instead and summed in row
/// order, so the results do not depend on the thread count.
public func layerNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, epsilon: Float = 1e-5) -> Tensor {
  let n = x.shape[x.rank - 1]
  precondition(
    gamma.shape == [n] && beta.shape == [n],
    "layerNorm: gamma \(gamma.shape), beta \(beta.shape) for \(x.shape)")
  let rows = n == 0 ? 0 : x.count / n
  let rowGrain = max(1, _elementwiseGrain / max(n, 1))
  let xp = _SendablePointer(x.storage.base)
  let gp = _SendablePointer(gamma.storage.base)
  let bp = _SendablePointer(beta.storage.base)
  let xhat = Tensor(shape: x.shape, repeating: 0)
  let rstd = Tensor(shape: [rows], repeating: 0)
  let hp = _SendablePointer(xhat.storage.base)
  let rp = _SendablePointer(rstd.storage.base)
  let out = Tensor(shape: x.shape) { o in
    let op = _SendablePointer(o)
    _parallelRanges(rows, grain: rowGrain) { range in
      for r in range {
        let (src, h, y) = (xp.p + r * n, hp.p + r * n, op.p + r * n)
        var mean: Float = 0
        for j in 0..<n { mean += src[j] }
        mean /= Float(n)
        var v: Float = 0
        for j in 0..<n {
          let d = src[j] - mean
          v += d * d
        }
        let inv = 1 / (v / Float(n) + epsilon).squareRoot()
        rp.p[r] = inv
        for j in 0..<n {
          h[j] = (src[j] - mean) * inv
          y[j] = h[j] * gp.p[j] + bp.p[j]
        }
      }
    }
  }
  guard let tape = GradientTape._current,
    _needs(x, tape) || _needs(gamma, tape) || _needs(beta, tape)
  else { return out }
  return tape._append(out, inputs: [x, gamma, beta]) { g in
    let gg = _SendablePointer(g.storage.base)
    let hp = _SendablePointer(xhat.storage.base)
    let rp = _SendablePointer(rstd.storage.base)
    let gp = _SendablePointer(gamma.storage.base)
    let dgamma = Tensor(shape: [n], repeating: 0)
    let dbeta = Tensor(shape: [n], repeating: 0)
    let dgp = _SendablePointer(dgamma.storage.base)
    let dbp = _SendablePointer(dbeta.storage.base)
    _parallelRanges(n, grain: max(1, _elementwiseGrain / max(rows, 1))) { cols in
      for r in 0..<rows {
        let (gr, h) = (gg.p + r * n, hp.p + r * n)
        for j in cols {
          dgp.p[j] += gr[j] * h[j]
          dbp.p[j] += gr[j]
        }
      }
    }
    let dx = Tensor(shape: x.shape) { d in
      let dp = _SendablePointer(d)
      _parallelRanges(rows, grain: rowGrain) { range in
        for r in range {
          let (gr, h, dr) = (gg.p + r * n, hp.p + r * n, dp.p + r * n)
          var meanD: Float = 0
          var meanDH: Float = 0
          for j in 0..<n {
            let dh = gr[j] * gp.p[j]
            meanD += dh
            meanDH += dh * h[j]
          }
          meanD /= Float(n)
          meanDH /= Float(n)
          for j in 0..<n {
            let dh = gr[j] * gp.p[j]
            dr[j] = rp.p[r] * (dh - meanD - h[j] * meanDH)
          }
        }
      }
    }
    return [dx, dgamma, dbeta]
  }
}

/// Rows of `table` [V, D] picked by `indices` (any shape): the result is [indices.shape..., D].
///
/// The gradient scatter-adds into a zero table in index order, so repeated indices accumulate
/// deterministically.
///
/// - Precondition: every index is in 0..<V.
public func embedding(_ table: Tensor, _ indices: IntTensor) -> Tensor {
  precondition(table.rank == 2, "embedding table must be [V, D], got \(table.shape)")
  let (v, d) = (table.shape[0], table.shape[1])
  let idx = indices.storage.base
  let tp = table.storage.base
  let count = indices.count
  for i in 0..<count {
    precondition(idx[i] >= 0 && Int(idx[i]) < v, "index \(idx[i]) out of range 0..<\(v)")
  }
  let out = Tensor(shape: indices.shape + [d]) { o in
    for i in 0..<count { (o + i * d).update(from: tp + Int(idx[i]) * d, count: d) }
  }
  guard let tape = _activeTape(table) else { return out }
  return tape._append(out, inputs: [table]) { g in
    let gp = g.storage.base
    let idx = indices.storage.base
    return [
      Tensor(shape: [v, d]) { t in
        t.update(repeating: 0, count: v * d)
        for i in 0..<count {
          let dst = t + Int(idx[i]) * d
          let src = gp + i * d
          for j in 0..<d { dst[j] += src[j] }
        }
      }
    ]
  }
}

/// Inverted dropout: zeroes each element with probability `rate` and scales the rest by
/// 1/(1 − rate), drawing the mask from `generator`. Returns `x` unchanged when `rate` is 0.
public func dropout(_ x: Tensor, rate: Float, generator: RandomGenerator) -> Tensor {
  precondition(rate >= 0 && rate < 1, "dropout rate \(rate) not in [0, 1)")
  if rate == 0 { return x }
  let scale = 1 / (1 - rate)
  let mask = Tensor(shape: x.shape) { m in
    for i in 0..<x.count { m[i] = generator.nextFloat() < rate ? 0 : scale }
  }
  return x * mask
}
