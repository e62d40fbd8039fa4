/// Mean softmax cross-entropy between `logits` [N, C] and integer `labels` [N].
///
/// Rows whose label is negative are ignored (a padding or "no target" mark); the mean is over the
/// remaining rows. Fused: the gradient is (softmax − one-hot) / count.
///
/// - Precondition: `labels` has one entry per row and every non-negative label is < C.
public func softmaxCrossEntropy(logits: Tensor, labels: IntTensor) -> Tensor {
  let c = logits.shape[logits.rank - 1]
  let rows = logits.count / Swift.max(c, 1)
  precondition(labels.count == rows, "labels \(labels.shape) do not match logits \(logits.shape)")
  let logp = _softmaxKernel(logits.detached, log: true)
  let lp = logp.storage.base
  let lab = labels.storage.base
  var total: Double = 0
  var used = 0
  for r in 0..<rows {
    let y = Int(lab[r])
    if y < 0 { continue }
    precondition(y < c, "label \(y) out of range for \(c) classes")
    total -= Double(lp[r * c + y])
    used += 1
  }
  let out = Tensor(used == 0 ? 0 : Float(total / Double(used)))
  guard let tape = _activeTape(logits) else { return out }
  let shape = logits.shape
  return tape._append(out, inputs: [logits]) { g in
    let lp = logp.storage.base
    let lab = labels.storage.base
    let scale = used == 0 ? 0 : g.item / Float(used)
    return [
      Tensor(shape: shape) { d in
        for r in 0..<rows {
          let y = Int(lab[r])
          let dst = d + r * c
          let src = lp + r * c
          if y < 0 {
            dst.update(repeating: 0, count: c)
            continue
          }
          for j in 0..<c { dst[j] = _exp(src[j]) * scale }
          dst[y] -= scale
        }
      }
    ]
  }
}

/// Mean squared error: mean((prediction − target)²) over all elements (with broadcasting).
public func meanSquaredError(_ prediction: Tensor, _ target: Tensor) -> Tensor {
  (prediction - target).squared().mean()
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
