import ArgumentParser
import CKEngine
import Dispatch
import Foundation

/// `ckbench engine-train`: digits-model step time and transformer throughput.
struct EngineTraining: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "engine-train",
    abstract:
      "Training step time (forward + backward + Adam) for the digits MLP and the transformer.")

  @Option(help: "Timed digits steps per repetition.")
  var digitsSteps: Int = 2000

  @Option(help: "Timed transformer steps per repetition.")
  var transformerSteps: Int = 20

  @Option(help: "Repetitions; the median is reported.")
  var repeats: Int = 5

  @Option(help: "Thread counts to measure.")
  var threads: [Int] = [1, 2]

  func run() throws {
    print(pad("workload", 44) + pad("threads", 9) + pad("median", 14) + "throughput")
    for threads in self.threads {
      CKEngine.threadCount = threads
      let (step, cpu) = try digitsStepSeconds()
      print(
        pad("digits MLP 64-64-10, batch 32, Adam", 44) + pad("\(threads)", 9)
          + pad(String(format: "%.1f µs/step", step * 1e6), 14)
          + String(format: "%.0f examples/s (thread CPU time %.1f µs/step)", 32 / step, cpu * 1e6))
    }
    var census = ""
    for threads in self.threads {
      CKEngine.threadCount = threads
      let (step, cpu, tokens, subnormals) = transformerStepSeconds()
      census = subnormals
      print(
        pad("transformer 2×(w64,h4), batch 32×64 tokens", 44) + pad("\(threads)", 9)
          + pad(String(format: "%.2f ms/step", step * 1e3), 14)
          + String(
            format: "%.0f tokens/s (process CPU time %.2f ms/step, %.0f tokens per CPU-second)",
            Double(tokens) / step, cpu * 1e3, Double(tokens) / cpu))
    }
    if !census.isEmpty { print("subnormal floats after the transformer steps: \(census)") }
    CKEngine.threadCount = 2
  }

  /// Median wall time and median thread CPU time of one digits training step on real batches.
  ///
  /// The step runs on the calling thread (its products are too small to split), so CPU time is
  /// the step's cost without the time other processes on a shared machine take from it.
  func digitsStepSeconds() throws -> (Double, Double) {
    let (train, _) = try DigitsDataset.load().split(seed: 0)
    let g = RandomGenerator(seed: 0)
    let model = Sequential([
      Dense(inputSize: 64, outputSize: 64, activation: .relu, generator: g),
      Dense(inputSize: 64, outputSize: 10, generator: g),
    ])
    let opt = Adam(learningRate: .constant(1e-3))
    let batches = try MinibatchIterator(count: train.count, batchSize: 32, seed: 1)
    let data = (0..<64).map { _ in train.batch(batches.next()) }
    var i = 0
    var cpuTimes: [Double] = []
    let total = medianSeconds(repeats) {
      let c0 = threadCPUSeconds()
      defer { cpuTimes.append(threadCPUSeconds() - c0) }
      for _ in 0..<digitsSteps {
        let (x, y) = data[i % data.count]
        i += 1
        let tape = GradientTape()
        let loss = tape.record { softmaxCrossEntropy(logits: model(x), labels: y) }
        try! opt.update(model, gradients: tape.gradients(of: loss, for: model))
      }
    }
    cpuTimes.sort()
    return (total / Double(digitsSteps), cpuTimes[cpuTimes.count / 2] / Double(digitsSteps))
  }

  /// Median wall and process CPU time of one transformer training step, the tokens it processes,
  /// and a census of subnormal numbers in the last step's gradients and in the Adam moments.
  func transformerStepSeconds() -> (Double, Double, Int, String) {
    let (batch, length, vocab) = (32, 64, 64)
    let g = RandomGenerator(seed: 0)
    let lm = TransformerLM(
      vocabularySize: vocab, width: 64, heads: 4, layers: 2, maxLength: length, generator: g)
    let opt = Adam(learningRate: .constant(1e-3))
    let ids = try! IntTensor(
      shape: [batch, length],
      scalars: (0..<(batch * length)).map { _ in Int32(g.nextInt(below: vocab)) })
    let targets = try! IntTensor(
      shape: [batch * length],
      scalars: (0..<(batch * length)).map { _ in Int32(g.nextInt(below: vocab)) })
    var gradients: [String: Tensor] = [:]
    let (total, cpu) = medianWallAndCPU(repeats) {
      for _ in 0..<transformerSteps {
        let tape = GradientTape()
        let loss = tape.record {
          softmaxCrossEntropy(logits: lm(ids).reshaped([batch * length, vocab]), labels: targets)
        }
        gradients = tape.gradients(of: loss, for: lm)
        try! opt.update(lm, gradients: gradients)
      }
    }
    let census = [
      ("gradients", Array(gradients.values)), ("Adam moments", opt.stateTensors().map(\.tensor)),
    ].map { name, tensors in
      let all = tensors.reduce(0) { $0 + $1.count }
      let sub = tensors.reduce(0) { $0 + $1.scalars.lazy.filter(\.isSubnormal).count }
      return "\(name) \(sub) of \(all)"
    }
    let steps = Double(transformerSteps)
    return (total / steps, cpu / steps, batch * length, census.joined(separator: ", "))
  }
}

/// CPU time consumed by the calling thread.
func threadCPUSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
