import Foundation

/// Wall-clock measurement helpers for benchmarks.
enum Timing {
  /// Seconds since an arbitrary origin, monotonic.
  static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  /// Runs `body` `repeats` times and returns the median duration in seconds.
  static func median(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<repeats {
      settle()
      let start = now()
      try body()
      times.append(now() - start)
    }
    return medianOf(times)
  }

  /// Flushes dirty pages left by earlier figures, so their writeback does not run during the
  /// next measurement and take a core from it.
  static func settle() {
    sync()
  }

  /// The median of some durations.
  static func medianOf(_ times: [Double]) -> Double {
    let sorted = times.sorted()
    return sorted[sorted.count / 2]
  }
}
