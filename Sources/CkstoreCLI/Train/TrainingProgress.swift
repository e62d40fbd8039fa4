import CKCheckpoint
import Foundation

/// A progress bar with loss and throughput on a terminal; a plain line per save otherwise.
final class TrainingProgress {
  private let total: Int64
  private let terminal = isatty(1) != 0
  private var lastDraw = 0.0
  private var start = Date()
  private var startStep: Int64?
  private var loss: Float = 0

  init(total: Int64) { self.total = total }

  func stepped(_ step: Int64, loss: Float) {
    if startStep == nil {
      startStep = step - 1
      start = Date()
    }
    self.loss = loss
    guard terminal else { return }
    let now = Date().timeIntervalSince1970
    guard now - lastDraw > 0.1 || step == total else { return }
    lastDraw = now
    let width = 30
    let filled = total == 0 ? width : Int(Int64(width) * min(step, total) / total)
    let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
    print(
      String(
        format: "\rstep %lld/%lld [%@] loss %.4f  %.0f steps/s", step, total, bar, loss,
        rate(step)),
      terminator: "")
    fflush(nil)
  }

  func saved(_ checkpoint: SavedCheckpoint, metrics: [String: Double]) {
    let line =
      "saved \(checkpoint.name) \(checkpoint.commit.id.short)  "
      + Format.metrics(metrics) + "  +\(Format.bytes(checkpoint.commit.addedBytes))"
    print(terminal ? "\r\u{1B}[K" + line : line)
  }

  func finish() {
    if terminal { print("") }
  }

  private func rate(_ step: Int64) -> Double {
    let elapsed = Date().timeIntervalSince(start)
    return elapsed > 0 ? Double(step - (startStep ?? 0)) / elapsed : 0
  }
}
