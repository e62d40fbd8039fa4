import CKEngine

/// Compares tape gradients with central finite differences.
///
/// The scalar checked is L(x) = Σᵢ rᵢ·f(x)ᵢ with fixed random weights r, so every output element
/// contributes. L is evaluated from Float32 outputs but summed in Double. With h = 1e-2 the
/// truncation error of the central difference is O(h²·f‴) ≈ 1e-4 and the rounding error is
/// O(n·ε·|f|/h) ≈ 1e-5 for the small shapes used, so a tolerance of 2e-3 (absolute plus relative)
/// is ten times above the noise and far below a wrong gradient, which is off by O(0.1) or more
/// (`GradientCheckTests.checkerRejectsWrongGradient` shows the checker failing).
struct GradientChecker {
  var h: Float = 1e-2
  var tolerance: Double = 2e-3

  /// The largest scaled difference between analytic and numeric gradients over all inputs.
  ///
  /// `numeric` defaults to `f`; passing another function shows the checker can fail.
  func maxError(
    _ inputs: [Tensor], seed: UInt64 = 99, _ f: ([Tensor]) -> Tensor,
    numeric: (([Tensor]) -> Tensor)? = nil
  ) -> Double {
    let out = f(inputs)
    let gen = RandomGenerator(seed: seed)
    let r = randomTensor(out.shape, gen)
    let rd = r.scalars.map(Double.init)
    let tape = GradientTape()
    let watched = inputs.map { tape.watch($0) }
    let loss = tape.record { (f(watched) * r).sum() }
    let analytic = tape.gradient(of: loss, wrt: watched)
    func objective(_ xs: [Tensor]) -> Double {
      let y = numeric.map { $0(xs) } ?? f(xs)
      return zip(y.scalars, rd).reduce(0.0) { $0 + Double($1.0) * $1.1 }
    }
    var worst = 0.0
    for (i, x) in inputs.enumerated() {
      let base = x.scalars
      let grad = analytic[i].scalars
      for j in 0..<base.count {
        var plus = base
        var minus = base
        plus[j] += h
        minus[j] -= h
        var xs = inputs
        xs[i] = try! Tensor(shape: x.shape, scalars: plus)
        let lp = objective(xs)
        xs[i] = try! Tensor(shape: x.shape, scalars: minus)
        let lm = objective(xs)
        let numericGrad = (lp - lm) / (Double(plus[j]) - Double(minus[j]))
        let err = abs(numericGrad - Double(grad[j])) / (1 + abs(numericGrad))
        worst = max(worst, err)
      }
    }
    return worst
  }

  /// The same check for a module's parameters: `loss` is re-evaluated after perturbing each one.
  func maxError(parametersOf model: any Module, _ loss: () -> Tensor) -> Double {
    let tape = GradientTape()
    let l = tape.record { loss() }
    let grads = tape.gradients(of: l, for: model)
    var worst = 0.0
    for (name, p) in model.trainableParameters() {
      let base = p.value.scalars
      let grad = grads[name]?.scalars ?? [Float](repeating: 0, count: base.count)
      for j in 0..<base.count {
        var plus = base
        var minus = base
        plus[j] += h
        minus[j] -= h
        try! p.assign(Tensor(shape: p.shape, scalars: plus))
        let lp = Double(loss().item)
        try! p.assign(Tensor(shape: p.shape, scalars: minus))
        let lm = Double(loss().item)
        let numericGrad = (lp - lm) / (Double(plus[j]) - Double(minus[j]))
        worst = max(worst, abs(numericGrad - Double(grad[j])) / (1 + abs(numericGrad)))
      }
      try! p.assign(Tensor(shape: p.shape, scalars: base))
    }
    return worst
  }
}
