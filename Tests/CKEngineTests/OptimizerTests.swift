import CKEngine
import Testing

/// A one-parameter model for hand-computed updates.
final class Scalar: Module {
  let w: Parameter
  init(_ values: [Float]) { w = Parameter(try! Tensor(shape: [values.count], scalars: values)) }
}

extension EngineTests {
  @Suite struct OptimizerTests {
    func run(_ opt: any Optimizer, start: [Float], grads: [[Float]]) throws -> [[Float]] {
      let m = Scalar(start)
      var trace: [[Float]] = []
      for g in grads {
        try opt.update(m, gradients: ["w": Tensor(shape: [g.count], scalars: g)])
        trace.append(m.w.value.scalars)
      }
      return trace
    }

    func close(_ a: [[Float]], _ b: [[Float]], _ tol: Float = 1e-6) -> Bool {
      zip(a, b).allSatisfy { zip($0, $1).allSatisfy { abs($0 - $1) <= tol * max(1, abs($1)) } }
    }

    @Test func sgdPlainMomentumNesterov() throws {
      // p=1, g=0.5, lr=0.1: 1 − 0.05 = 0.95, then 0.90.
      #expect(
        close(
          try run(SGD(learningRate: .constant(0.1)), start: [1], grads: [[0.5], [0.5]]),
          [[0.95], [0.9]]))
      // μ=0.9, g=1 twice: v=1 → p=0.9; v=1.9 → p=0.9−0.19=0.71.
      #expect(
        close(
          try run(SGD(learningRate: .constant(0.1), momentum: 0.9), start: [1], grads: [[1], [1]]),
          [[0.9], [0.71]]))
      // Nesterov: step g+μv: 1+0.9·1=1.9 → 0.81; v=1.9, 1+0.9·1.9=2.71 → 0.539.
      #expect(
        close(
          try run(
            SGD(learningRate: .constant(0.1), momentum: 0.9, nesterov: true), start: [1],
            grads: [[1], [1]]), [[0.81], [0.539]]))
      // Weight decay 0.5: g' = 0.5 + 0.5·2 = 1.5 → 2 − 0.15 = 1.85.
      #expect(
        close(
          try run(SGD(learningRate: .constant(0.1), weightDecay: 0.5), start: [2], grads: [[0.5]]),
          [[1.85]]))
    }

    @Test func adamWithBiasCorrection() throws {
      // Step 1, g=2: m=0.2, v=0.004, m̂=2, v̂=4 → p = 1 − 0.1·2/(2+1e-8) = 0.9 (to 1e-9).
      // Step 2, g=1: m=0.28, v=0.004996, m̂=0.28/0.19=1.4736842, v̂=0.004996/0.001999=2.4992496,
      // √v̂=1.5809015 → p = 0.9 − 0.1·0.9321796 = 0.80678204.
      let trace = try run(
        Adam(learningRate: .constant(0.1), epsilon: 1e-8), start: [1], grads: [[2], [1]])
      #expect(close(trace, [[0.9], [0.80678204]]))
      // AdamW, wd=0.1, lr=0.1: p ← p·(1−0.01) first: 0.99 − 0.1 = 0.89.
      let w = try run(
        AdamW(learningRate: .constant(0.1), weightDecay: 0.1), start: [1], grads: [[2]])
      #expect(close(w, [[0.89]]))
      // Adam with L2 wd=0.1 on p=1: g' = 2.1; the first step is still lr·sign → 0.9.
      let l2 = try run(
        Adam(learningRate: .constant(0.1), epsilon: 1e-8, weightDecay: 0.1), start: [1],
        grads: [[2]])
      #expect(close(l2, [[0.9]]))
    }

    @Test func schedulesAndClipping() {
      let s = LearningRateSchedule.warmupCosine(
        peak: 1, warmupSteps: 4, totalSteps: 14, minimum: 0.1)
      #expect(s(step: 0) == 0.25 && s(step: 3) == 1)
      #expect(abs(s(step: 9) - (0.1 + 0.9 * 0.5)) < 1e-6)  // halfway through the cosine
      #expect(s(step: 14) == 0.1 && s(step: 100) == 0.1)
      let grads = ["a": try! Tensor(shape: [2], scalars: [3, 0]), "b": Tensor(4)]
      let (clipped, norm) = clipByGlobalNorm(grads, maxNorm: 1)
      #expect(norm == 5)
      #expect(clipped["a"]!.scalars == [0.6, 0] && clipped["b"]!.item == 0.8)
      #expect(clipByGlobalNorm(grads, maxNorm: 10).gradients["a"]!.scalars == [3, 0])
    }

    @Test(arguments: ["adam", "adamw", "sgd"])
    func restoredStateContinuesExactly(kind: String) throws {
      func make() -> any Optimizer {
        switch kind {
        case "adam": return Adam(learningRate: .constant(0.01))
        case "adamw":
          return AdamW(
            learningRate: .warmupCosine(peak: 0.01, warmupSteps: 2, totalSteps: 10, minimum: 0))
        default: return SGD(learningRate: .constant(0.01), momentum: 0.9, nesterov: true)
        }
      }
      let g = RandomGenerator(seed: 8)
      let grads = (0..<6).map { _ in ["w": randomTensor([3], g)] }
      let a = Scalar([1, 2, 3])
      let optA = make()
      for i in 0..<3 { try optA.update(a, gradients: grads[i]) }
      // Save, then restore into a fresh optimizer and a copy of the parameters.
      let tensors = Dictionary(
        uniqueKeysWithValues: optA.stateTensors().map { ($0.name, $0.tensor) })
      let counters = Dictionary(
        uniqueKeysWithValues: optA.stateCounters().map { ($0.name, $0.value) })
      #expect(tensors.keys.allSatisfy { $0.hasPrefix("w/") })
      if kind != "sgd" {
        #expect(tensors.keys.sorted() == ["w/adam.m", "w/adam.v"] && counters["w/adam.step"] == 3)
      }
      let b = Scalar([])
      _ = b
      let b2 = Scalar(a.w.value.scalars)
      let optB = make()
      try optB.loadState(tensors: tensors, counters: counters)
      for i in 3..<6 {
        try optA.update(a, gradients: grads[i])
        try optB.update(b2, gradients: grads[i])
      }
      #expect(a.w.value.bitwiseEquals(b2.w.value))
      #expect(optA.step == 6 && optB.step == 6)
    }

    @Test func updateChecksNamesAndShapesBeforeChangingAnything() throws {
      let m = Scalar([1, 2])
      let opt = Adam(learningRate: .constant(0.1))
      let e = #expect(throws: EngineError.self) {
        try opt.update(
          m, gradients: ["w": Tensor(shape: [3]), "nope": Tensor(1), "nada": Tensor(1)])
      }
      #expect(e?.code == .unknownName && e!.message.contains("nada, nope"))
      let s = #expect(throws: EngineError.self) {
        try opt.update(m, gradients: ["w": Tensor(shape: [3])])
      }
      #expect(s?.code == .shapeMismatch && s!.message.contains("w"))
      #expect(m.w.value.scalars == [1, 2] && opt.step == 0)
      let l = #expect(throws: EngineError.self) {
        try opt.loadState(tensors: ["w/sgd.momentum": Tensor(1)], counters: ["step": 1])
      }
      #expect(l?.code == .unknownName)
    }
  }
}
