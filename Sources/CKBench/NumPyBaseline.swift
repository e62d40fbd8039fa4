import Foundation

/// NumPy's `matmul` (OpenBLAS in the NumPy wheels) on the engine's GEMM shapes, timed in a
/// `python3` subprocess so that `engine-gemm` can print a same-run baseline next to its figures.
struct NumPyBaseline {
  /// Which BLAS NumPy runs and which kernel it picked (threadpoolctl's report, or OpenBLAS's own
  /// configuration string when threadpoolctl is not installed).
  let blas: String
  /// Median GFLOP/s per shape: from wall time, and from process CPU time ÷ threads.
  let gflops: [(wall: Double, cpu: Double)]

  /// One product to time: C[m×n] = op(A)·op(B), with A stored [k, m] when `ta`, B [n, k] when `tb`.
  struct Shape: Encodable {
    let m: Int
    let n: Int
    let k: Int
    let ta: Bool
    let tb: Bool
  }

  /// Runs the measurement, or says why it could not (no python3, NumPy not importable, a crash).
  ///
  /// OpenBLAS reads `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` from the environment; both are
  /// removed for the subprocess alone so that OpenBLAS picks its kernel for this CPU itself.
  static func measure(
    python: String, shapes: [Shape], threads: Int, repeats: Int
  ) -> Result<NumPyBaseline, BaselineUnavailable> {
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_CORETYPE"] = nil
    env["OPENBLAS_L2_SIZE"] = nil
    env["OPENBLAS_NUM_THREADS"] = String(threads)
    let shapesJSON = String(decoding: try! JSONEncoder().encode(shapes), as: UTF8.self)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [python, "-c", script, shapesJSON, String(repeats), String(threads)]
    process.environment = env
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch {
      return .failure(BaselineUnavailable(reason: "cannot start \(python): \(error)"))
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    if process.terminationStatus == 3 {
      return .failure(BaselineUnavailable(reason: "NumPy is not importable by \(python)"))
    }
    guard process.terminationStatus == 0, let first = lines.first, first.hasPrefix("blas "),
      lines.count == shapes.count + 1
    else {
      return .failure(
        BaselineUnavailable(
          reason: "\(python) exited with status \(process.terminationStatus) before reporting"))
    }
    let figures = lines.dropFirst().map { line -> (wall: Double, cpu: Double) in
      let f = line.split(separator: " ").compactMap { Double($0) }
      return (f.first ?? .nan, f.last ?? .nan)
    }
    return .success(NumPyBaseline(blas: String(first.dropFirst(5)), gflops: figures))
  }

  /// Prints `blas <description>`, then one `<wall GFLOP/s> <CPU GFLOP/s>` line per shape; exits
  /// with status 3 when NumPy is missing.
  static let script = """
    import json, os, sys, time
    try:
        import numpy as np
    except ImportError:
        sys.exit(3)
    shapes, reps, threads = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info
        blas = "; ".join("%s %s, kernel %s, %s threads" % (i.get("internal_api"), i.get("version"),
                         i.get("architecture"), i.get("num_threads"))
                         for i in threadpool_info() if i.get("user_api") == "blas")
    except ImportError:
        import ctypes, glob
        libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
        for path in glob.glob(os.path.join(libs, "*openblas*")):
            lib = ctypes.CDLL(path)
            for name in ("scipy_openblas_get_config64_", "openblas_get_config64_",
                         "openblas_get_config"):
                f = getattr(lib, name, None)
                if f is not None:
                    f.restype = ctypes.c_char_p
                    blas = f().decode() + " (openblas_get_config; threadpoolctl not installed)"
                    break
    print("blas NumPy %s, %s" % (np.__version__, blas), flush=True)
    rng = np.random.default_rng(1)
    for s in shapes:
        m, n, k = s["m"], s["n"], s["k"]
        a = rng.standard_normal((k, m) if s["ta"] else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if s["tb"] else (k, n), dtype=np.float32)
        a, b = (a.T if s["ta"] else a), (b.T if s["tb"] else b)
        out = np.empty((m, n), dtype=np.float32)
        inner = max(1, (1 << 24) // (m * n * k))
        np.matmul(a, b, out=out)
        walls, cpus = [], []
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(inner):
                np.matmul(a, b, out=out)
            walls.append((time.perf_counter() - t0) / inner)
            cpus.append((time.process_time() - c0) / inner)
        walls.sort(); cpus.sort()
        flops = 2.0 * m * n * k
        used = threads if m * n * k >= 1 << 21 else 1
        print("%.3f %.3f" % (flops / walls[len(walls) // 2] / 1e9,
                             flops / max(cpus[len(cpus) // 2] / used, 1e-12) / 1e9), flush=True)
    """
}

/// Why the NumPy baseline was skipped.
struct BaselineUnavailable: Error {
  let reason: String
}
