import Foundation

/// Runs `body` for 0..<count on `width` threads (default: one per core) and returns the results
/// in order; rethrows the first error (by index) after every iteration has finished.
///
/// A width above the core count suits work that blocks on fsync: while one thread waits for the
/// disk, another hashes or compresses. `body` runs on many threads at once, so it is `@Sendable`.
func parallelMap<T: Sendable>(
  _ count: Int, width: Int? = nil, _ body: @Sendable (Int) throws -> T
) throws -> [T] {
  try withoutActuallyEscaping(body) { body in
    let box = ParallelResults(count: count, body: body)
    let threads = min(count, width ?? ProcessInfo.processInfo.activeProcessorCount)
    if threads <= 1 {
      for i in 0..<count { box.run(i) }
    } else {
      // Plain threads, not concurrentPerform: libdispatch caps that at the core count, and
      // the point of a wider pool is to overlap fsync waits.
      let done = DispatchSemaphore(value: 0)
      for _ in 0..<threads {
        Thread {
          while let i = box.claim() { box.run(i) }
          done.signal()
        }.start()
      }
      for _ in 0..<threads { done.wait() }
      // Threads may outlive this call by a moment; they must not keep the non-escaping body.
      box.releaseBody()
    }
    return try box.takeResults().map { try $0.get() }
  }
}

/// The shared state of one `parallelMap`, every field behind one lock.
private final class ParallelResults<T: Sendable>: @unchecked Sendable {
  private struct State {
    var results: [Result<T, Error>?]
    var body: (@Sendable (Int) throws -> T)?
    var next = 0
  }
  private let state: LockedState<State>

  init(count: Int, body: @escaping @Sendable (Int) throws -> T) {
    state = LockedState(State(results: Array(repeating: nil, count: count), body: body))
  }

  func claim() -> Int? {
    state.withLock { s in
      guard s.next < s.results.count else { return nil }
      defer { s.next += 1 }
      return s.next
    }
  }

  func releaseBody() { state.withLock { $0.body = nil } }

  func run(_ i: Int) {
    guard let body = state.withLock({ $0.body }) else { return }
    let r = Result { try body(i) }
    state.withLock { $0.results[i] = r }
  }

  func takeResults() -> [Result<T, Error>] { state.withLock { $0.results.map { $0! } } }
}

/// A value whose every access goes through one lock: `withLock { state in … }` cannot forget it.
final class LockedState<State>: @unchecked Sendable {
  private let lock = NSLock()
  private var state: State

  init(_ state: State) { self.state = state }

  func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
    try lock.withLock { try body(&state) }
  }
}

/// A thread-safe counter for progress reports.
final class Counter: Sendable {
  private let value = LockedState(0)

  /// Adds one and returns the new value.
  func increment() -> Int {
    value.withLock {
      $0 += 1; return $0
    }
  }
}

/// Counts work items in flight (chunks being hashed, compressed, written or read) and keeps the
/// highest count seen: tests check it against the documented bound.
package final class InFlightGauge: Sendable {
  private let counts = LockedState((current: 0, peak: 0))

  package init() {}

  func enter() {
    counts.withLock {
      $0.current += 1
      $0.peak = max($0.peak, $0.current)
    }
  }

  func leave() { counts.withLock { $0.current -= 1 } }

  /// The highest number in flight at once since the last `reset`.
  package var peak: Int { counts.withLock { $0.peak } }

  /// Starts a new measurement.
  package func reset() { counts.withLock { $0 = (0, 0) } }
}
