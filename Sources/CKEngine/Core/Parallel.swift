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
