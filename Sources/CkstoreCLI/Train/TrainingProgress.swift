import CKStore
import Foundation

/// Training progress. When standard error is a terminal: a bar with loss, steps/s and ETA,
/// redrawn in place on stderr (`\r`, the line, then "erase to end of line", so a shorter line
/// never keeps characters of a longer one) and cleared before each "saved" line. Otherwise
/// nothing but the plain "saved" lines, written by `say` (stdout, or stderr under `--json`).
final class TrainingProgress {
  private let total: Int64
  private let terminal = isatty(2) != 0
  private var lastDraw = 0.0
  private var start = Date()
  private var startStep: Int64?
  private var shown = false
  private let say: (String) -> Void

  init(total: Int64, say: @escaping (String) -> Void) {
    self.total = total
    self.say = say
  }

  func stepped(_ step: Int64, loss: Float) {
    if startStep == nil {
      startStep = step - 1
      start = Date()
    }
    guard terminal else { return }
    let now = Date().timeIntervalSince1970
    guard now - lastDraw > 0.1 || step == total else { return }
    lastDraw = now
    StandardError.write("\r" + bar(step, loss: loss) + "\u{1B}[K")
    shown = true
  }

  /// The bar line: `step 120/1000 [###---] loss 0.4523  812 steps/s  ETA 1s`.
  func bar(_ step: Int64, loss: Float) -> String {
    let width = 30
    let filled = total == 0 ? width : Int(Int64(width) * min(step, total) / total)
    let line =
      "step \(step)/\(total) [" + String(repeating: "#", count: filled)
      + String(repeating: "-", count: width - filled) + "] " + String(format: "loss %.4f", loss)
    // The first few steps say nothing reliable about the rate.
    let elapsed = Date().timeIntervalSince(start)
    guard elapsed >= 0.25 else { return line }
    let rate = Double(step - (startStep ?? 0)) / elapsed
    let eta = rate > 0 ? Double(max(0, total - step)) / rate : .infinity
    return line + String(format: "  %.0f steps/s", rate)
      + (step < total ? "  ETA " + Format.duration(eta) : "")
  }

  func saved(_ commit: Commit, metrics: [String: Double]) {
    clear()
    say(
      "saved step-\(commit.step) \(commit.id.short)  " + Format.metrics(metrics)
        + "  +\(Format.bytes(commit.addedBytes))")
    fflush(nil)
  }

  /// Removes the bar, if drawn, so what follows starts on a clean line.
  func finish() { clear() }

  private func clear() {
    if shown { StandardError.write("\r\u{1B}[K") }
    shown = false
  }
}
