import ArgumentParser
import CKEngine
import Dispatch
import Foundation

/// `ckbench engine-gemm`: GEMM throughput of the engine next to a naive loop and NumPy's matmul
/// measured in the same run, 1 and 2 threads.
struct EngineGEMM: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "engine-gemm",
    abstract: "GEMM GFLOP/s: square sizes and the training shapes, 1 and 2 threads, next to NumPy.")

  @Option(help: "Square sizes to measure.")
  var sizes: [Int] = [256, 512, 1024, 2048]

  @Option(help: "Largest size for which the naive loop is also timed.")
  var naiveLimit: Int = 1024

  @Option(help: "Repetitions per shape; the median is reported.")
  var repeats: Int = 7

  @Flag(help: "Use the portable Swift SIMD16 micro-kernel instead of the AVX2/FMA one.")
  var swiftKernel = false

  @Option(help: "Python interpreter for the NumPy baseline (skipped when NumPy is not importable).")
  var python = "python3"

  @Flag(help: "Skip the NumPy baseline.")
  var noNumpy = false

  func run() throws {
    CKEngine.useNativeKernel = !swiftKernel
    let kernelName = CKEngine.useNativeKernel ? "AVX2/FMA (C)" : "Swift SIMD16<Float>"
    print("micro-kernel: \(kernelName); median of \(repeats) runs")
    var shapes: [(String, Int, Int, Int, Bool, Bool)] = sizes.map {
      ("square", $0, $0, $0, false, false)
    }
    // Digits MLP at batch 32: forward x·W1, h·W2 and the backward products (transposed operands).
    shapes += [
      ("digits fwd x·W1", 32, 64, 64, false, false),
      ("digits fwd h·W2", 32, 10, 64, false, false),
      ("digits bwd dY·W2ᵀ", 32, 64, 10, false, true),
      ("digits bwd hᵀ·dY", 64, 10, 32, true, false),
      ("digits bwd xᵀ·dH", 64, 64, 32, true, false),
    ]
    // The transformer of `engine-train` (2048 tokens, width 64, MLP 256, 4 heads of 16): dense
    // layers forward and backward, and one (batch, head) slice of attention.
    shapes += [
      ("tf dense x·W", 2048, 64, 64, false, false),
      ("tf mlp x·W1", 2048, 256, 64, false, false),
      ("tf mlp h·W2", 2048, 64, 256, false, false),
      ("tf bwd dY·W1ᵀ", 2048, 64, 256, false, true),
      ("tf bwd xᵀ·dY", 64, 256, 2048, true, false),
      ("tf bwd hᵀ·dY", 256, 64, 2048, true, false),
      ("tf attn q·kᵀ", 64, 64, 16, false, true),
      ("tf attn p·v", 64, 16, 64, false, false),
      ("tf attn pᵀ·dO", 64, 16, 64, true, false),
    ]
    print("GFLOP/s from wall time; in brackets from process CPU time ÷ threads (what an otherwise")
    print("idle machine would give, when other processes share the cores)")
    var rows: [(label: String, dims: String, engine: [String], wall2: Double, naive: String)] = []
    for (label, m, n, k, ta, tb) in shapes {
      let gen = RandomGenerator(seed: 1)
      let a = Initializer.normal(standardDeviation: 1).make(
        shape: ta ? [k, m] : [m, k], generator: gen)
      let b = Initializer.normal(standardDeviation: 1).make(
        shape: tb ? [n, k] : [k, n], generator: gen)
      let flops = 2.0 * Double(m) * Double(n) * Double(k)
      let reps = m * n * k >= 1 << 30 ? max(3, repeats / 2) : repeats
      // Small products are timed in batches so that each sample is well above clock resolution.
      let inner = max(1, (1 << 24) / (m * n * k))
      var results: [String] = []
      var wall2 = 0.0
      for threads in [1, 2] {
        CKEngine.threadCount = threads
        let (wall, cpu) = medianWallAndCPU(reps) {
          for _ in 0..<inner { _ = matmul(a, b, transposeA: ta, transposeB: tb) }
        }
        let perCall = (wall: wall / Double(inner), cpu: cpu / Double(inner))
        // Below the engine's threading threshold a product runs on one thread whatever the setting.
        let used = m * n * k >= 1 << 21 ? threads : 1
        wall2 = flops / perCall.wall / 1e9
        results.append(
          String(format: "%.1f [%.1f]", wall2, flops / (perCall.cpu / Double(used)) / 1e9))
      }
      var naive = "-"
      if max(m, n, k) <= naiveLimit {
        let t =
          medianSeconds(max(3, reps / 2)) {
            for _ in 0..<inner { naiveGEMM(a, b, m, n, k, ta, tb) }
          } / Double(inner)
        naive = String(format: "%.2f", flops / t / 1e9)
      }
      rows.append((label, "\(m)×\(n)×\(k)", results, wall2, naive))
    }
    var numpy: NumPyBaseline? = nil
    if noNumpy {
      print("NumPy baseline: skipped (--no-numpy)")
    } else {
      let specs = shapes.map { NumPyBaseline.Shape(m: $0.1, n: $0.2, k: $0.3, ta: $0.4, tb: $0.5) }
      switch NumPyBaseline.measure(python: python, shapes: specs, threads: 2, repeats: repeats) {
      case .success(let baseline):
        numpy = baseline
        print("NumPy baseline (same run, OPENBLAS_NUM_THREADS=2): \(baseline.blas)")
      case .failure(let why):
        print("NumPy baseline: skipped (\(why.reason))")
      }
    }
    print(
      pad("shape", 22) + pad("M×N×K", 16) + pad("1 thread", 16) + pad("2 threads", 16)
        + pad("naive", 8) + (numpy == nil ? "" : pad("NumPy 2 thr", 16) + "engine÷NumPy"))
    for (i, row) in rows.enumerated() {
      var line =
        pad(row.label, 22) + pad(row.dims, 16) + pad(row.engine[0], 16) + pad(row.engine[1], 16)
        + pad(row.naive, 8)
      if let f = numpy?.gflops[i] {
        line += pad(String(format: "%.1f [%.1f]", f.wall, f.cpu), 16)
        line += String(format: "%.2f", row.wall2 / f.wall)
      }
      print(line)
    }
    CKEngine.threadCount = 2
    CKEngine.useNativeKernel = true
  }
}

/// The textbook triple loop (i, j, k), for comparison.
func naiveGEMM(_ a: Tensor, _ b: Tensor, _ m: Int, _ n: Int, _ k: Int, _ ta: Bool, _ tb: Bool) {
  var c = [Float](repeating: 0, count: m * n)
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      c.withUnsafeMutableBufferPointer { pc in
        for i in 0..<m {
          for j in 0..<n {
            var s: Float = 0
            for p in 0..<k {
              s += pa[ta ? p * m + i : i * k + p] * pb[tb ? j * k + p : p * n + j]
            }
            pc[i * n + j] = s
          }
        }
      }
    }
  }
  blackHole(c[0])
}

/// The median wall time of `body` over `repeats` runs, after one warm-up run.
func medianSeconds(_ repeats: Int, _ body: () -> Void) -> Double {
  body()
  var times: [Double] = []
  for _ in 0..<max(1, repeats) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
  }
  times.sort()
  return times[times.count / 2]
}

/// Median wall time and median process CPU time of `body` over `repeats` runs, after a warm-up.
func medianWallAndCPU(_ repeats: Int, _ body: () -> Void) -> (wall: Double, cpu: Double) {
  body()
  var walls: [Double] = []
  var cpus: [Double] = []
  for _ in 0..<max(1, repeats) {
    let c0 = processCPUSeconds()
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    walls.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    cpus.append(processCPUSeconds() - c0)
  }
  walls.sort()
  cpus.sort()
  return (walls[walls.count / 2], cpus[cpus.count / 2])
}

/// CPU time consumed by all threads of this process.
func processCPUSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Keeps a value alive so the optimiser cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

/// `s` left-aligned in a column of `width`.
func pad(_ s: String, _ width: Int) -> String {
  s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}
