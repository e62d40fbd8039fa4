import Dispatch
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Turns SIGINT and SIGTERM into a flag the training loop polls, so that a preempted job saves a
/// final checkpoint and exits instead of dying mid-step.
final class StopSignal: @unchecked Sendable {
  private let lock = NSLock()
  private var received: Int32?
  private var sources: [DispatchSourceSignal] = []

  /// Starts catching SIGINT and SIGTERM.
  init() {
    for sig in [SIGINT, SIGTERM] {
      Glibc.signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      source.setEventHandler { [weak self] in self?.lock.withLock { self?.received = sig } }
      source.resume()
      sources.append(source)
    }
  }

  /// The signal received, if any.
  var signal: Int32? { lock.withLock { received } }

  /// The signal's name for messages.
  static func name(_ sig: Int32) -> String { sig == SIGINT ? "SIGINT" : "SIGTERM" }
}
