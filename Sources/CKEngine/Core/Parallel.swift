import Dispatch

/// Runs `body(i)` for `i` in `0..<count`, on up to `CKEngine.threadCount` threads.
///
/// Callers partition by output so that every element is produced by exactly one iteration in a
/// fixed order; the split itself never depends on the thread count, so results do not either.
@inline(__always)
func _parallelFor(_ count: Int, _ body: @Sendable (Int) -> Void) {
  if count <= 1 || CKEngine.threadCount == 1 {
    for i in 0..<count { body(i) }
  } else {
    DispatchQueue.concurrentPerform(iterations: count, execute: body)
  }
}

/// Runs `body` over `0..<count` split into one contiguous range per thread, or over the whole
/// range at once when `count` is below `grain` items per thread.
///
/// For work where each index is independent (elementwise maps, per-row softmax), so the result is
/// the same however the range is split.
@inline(__always)
func _parallelRanges(_ count: Int, grain: Int, _ body: @Sendable (Range<Int>) -> Void) {
  let threads = CKEngine.threadCount
  if threads == 1 || count < 2 * grain {
    body(0..<count)
    return
  }
  let pieces = min(threads, count / grain)
  DispatchQueue.concurrentPerform(iterations: pieces) { t in
    body((count * t / pieces)..<(count * (t + 1) / pieces))
  }
}
