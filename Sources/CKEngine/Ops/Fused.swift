/// Fused operations: what a sequence of elementwise ops computes, in one pass over memory each
/// way (forward and backward), for the patterns the layers use on every step.

/// `activation(y + bias)` with `bias` broadcast over the rows of `y` (a Dense layer's output).
///
/// Forward and gradients are bit-identical to `activation(y + bias)` through the separate ops:
/// the same float operations in the same order, without the intermediate tensors. Activations
/// whose gradient is not a function of the input alone (tanh, sigmoid) and the identity use the
/// separate ops.
func _biasActivation(_ y: Tensor, _ bias: Tensor, _ activation: Activation) -> Tensor {
  switch activation {
  case .relu: return _biasActivation(y, bias, _ReluOp.self, _ReluGradOp.self)
  case .gelu: return _biasActivation(y, bias, _GeluOp.self, _GeluGradOp.self)
  case .identity, .tanh, .sigmoid: return activation(y + bias)
  }
}

func _biasActivation<Op: _UnaryOp, Grad: _UnaryOp>(
  _ y: Tensor, _ bias: Tensor, _: Op.Type, _: Grad.Type
) -> Tensor {
  precondition(
    bias.rank == 1 && y.rank >= 1 && y.shape[y.rank - 1] == bias.count,
    "bias \(bias.shape) does not match the last axis of \(y.shape)")
  let n = bias.count
  let rows = n == 0 ? 0 : y.count / n
  let grain = max(1, _elementwiseGrain / max(n, 1))
  let (py, pb) = (_SendablePointer(y.storage.base), _SendablePointer(bias.storage.base))
  // The loops are written out here rather than passed as closures: a closure call per element
  // kept them scalar and made this op a third of a transformer step.
  let out = Tensor(shape: y.shape) { o in
    let po = _SendablePointer(o)
    _parallelRanges(rows, grain: grain) { r in
      for i in r {
        let (yi, oi) = (py.p + i * n, po.p + i * n)
        for j in 0..<n { oi[j] = Op.apply(yi[j] + pb.p[j]) }
      }
    }
  }
  guard let tape = _activeTape(y, bias) else { return out }
  let biasShape = bias.shape
  return tape._append(out, inputs: [y, bias]) { g in
    // Pointers taken from the captured tensors, which keep their storage alive until now.
    let (py, pb) = (_SendablePointer(y.storage.base), _SendablePointer(bias.storage.base))
    let pg = _SendablePointer(g.storage.base)
    let pre = Tensor(shape: g.shape) { o in
      let po = _SendablePointer(o)
      _parallelRanges(rows, grain: grain) { r in
        for i in r {
          let (yi, gi, oi) = (py.p + i * n, pg.p + i * n, po.p + i * n)
          for j in 0..<n { oi[j] = gi[j] * Grad.apply(yi[j] + pb.p[j]) }
        }
      }
    }
    return [pre, pre._sumTo(biasShape)]
  }
}

/// softmax(scale · x) along the last axis; with `causal`, over the trailing [t, t] matrices with
/// row i seeing columns 0...i only (attention's mask).
///
/// Masked entries are exactly 0, and no exponential is computed for them. Adding −10⁹ before a
/// plain softmax left them at about 10⁻³⁸ / row sum, subnormal numbers that then flowed through
/// the backward pass; see docs/ENGINE.md ("Denormals").
public func scaledSoftmax(_ x: Tensor, scale: Float, causal: Bool) -> Tensor {
  precondition(x.rank >= 1, "softmax of a scalar")
  let n = x.shape[x.rank - 1]
  precondition(
    !causal || (x.rank >= 2 && x.shape[x.rank - 2] == n),
    "a causal softmax needs square trailing matrices, got \(x.shape)")
  let rows = n == 0 ? 0 : x.count / n
  let grain = max(1, _elementwiseGrain / max(n, 1))
  let px = _SendablePointer(x.storage.base)
  let out = Tensor(shape: x.shape) { o in
    let po = _SendablePointer(o)
    _parallelRanges(rows, grain: grain) { range in
      for r in range {
        let (src, dst) = (px.p + r * n, po.p + r * n)
        let valid = causal ? r % n + 1 : n
        var m = -Float.infinity
        for j in 0..<valid { m = Swift.max(m, src[j] * scale) }
        for j in 0..<valid { dst[j] = _exp(src[j] * scale - m) }
        var s: Float = 0
        for j in 0..<valid { s += dst[j] }
        let inv = 1 / s
        for j in 0..<valid { dst[j] *= inv }
        for j in valid..<n { dst[j] = 0 }
      }
    }
  }
  guard let tape = _activeTape(x) else { return out }
  return tape._append(out, inputs: [x]) { g in
    // d/dx = scale · P ⊙ (g − Σⱼ gⱼPⱼ), row by row.
    let (pp, pg) = (_SendablePointer(out.storage.base), _SendablePointer(g.storage.base))
    let dx = Tensor(shape: out.shape) { o in
      let po = _SendablePointer(o)
      _parallelRanges(rows, grain: grain) { range in
        for r in range {
          let (p, gr, d) = (pp.p + r * n, pg.p + r * n, po.p + r * n)
          var dot: Float = 0
          for j in 0..<n { dot += gr[j] * p[j] }
          for j in 0..<n { d[j] = p[j] * (gr[j] - dot) * scale }
        }
      }
    }
    return [dx]
  }
}
