import CKStore
import Foundation

/// Text formatting shared by the commands.
enum Format {
  /// 1536 → "1.5 KiB".
  static func bytes<T: BinaryInteger>(_ n: T) -> String {
    let value = Double(n)
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var scaled = value
    var unit = 0
    while abs(scaled) >= 1024 && unit < units.count - 1 {
      scaled /= 1024
      unit += 1
    }
    return unit == 0 ? "\(n) B" : String(format: "%.1f %@", scaled, units[unit])
  }

  /// A compact number for metrics and statistics.
  static func number(_ x: Double) -> String {
    if x.isNaN || x.isInfinite { return "\(x)" }
    if x != 0 && (abs(x) < 1e-3 || abs(x) >= 1e6) { return String(format: "%.3e", x) }
    return String(format: "%.4g", x)
  }

  static func time(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
    return f.string(from: date)
  }

  /// Seconds as `42s`, `3m07s` or `2h05m`, for ETAs.
  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let t = Int(seconds.rounded())
    if t < 60 { return "\(t)s" }
    if t < 3600 { return String(format: "%dm%02ds", t / 60, t % 60) }
    return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60)
  }

  /// A transfer rate: `812 MB/s`, `3.4 MB/s` (decimal megabytes, as disks and networks count).
  static func rate(_ bytesPerSecond: Double) -> String {
    let mb = bytesPerSecond / 1e6
    return String(format: mb >= 10 ? "%.0f MB/s" : "%.1f MB/s", mb)
  }

  static func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

  static func metrics(_ m: [String: Double]) -> String {
    m.sorted { $0.key < $1.key }.map { "\($0.key)=\(number($0.value))" }.joined(separator: " ")
  }

  /// Left-aligned columns separated by two spaces.
  static func table(_ rows: [[String]]) -> String {
    guard let width = rows.map(\.count).max() else { return "" }
    var widths = [Int](repeating: 0, count: width)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
      row.enumerated().map { i, cell in
        i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
      }.joined(separator: "  ")
    }.joined(separator: "\n")
  }
}

/// Progress of long work on stderr, safe to update from worker threads: on a terminal one line
/// redrawn in place (bytes, MB/s, ETA), otherwise, once it has run a second, a plain line at
/// every further tenth of the work.
final class Progress: @unchecked Sendable {
  private let label: String
  private let totalBytes: Int?
  private let terminal = isatty(2) != 0
  private let start = Date()
  private let state = NSLock()
  private var lastDraw = Date.distantPast
  private var lastTenth = 0

  /// `totalBytes`, when known, turns (done, total) item counts into bytes, rate and ETA.
  init(_ label: String, totalBytes: Int? = nil) {
    self.label = label
    self.totalBytes = totalBytes
  }

  func update(_ done: Int, _ total: Int) {
    state.lock()
    defer { state.unlock() }
    let fraction = total == 0 ? 1 : Double(done) / Double(total)
    if terminal {
      guard Date().timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
      lastDraw = Date()
      // \r then "erase to end of line": a shorter line never leaves characters of a longer one.
      StandardError.write("\r\(describe(fraction, done, total))\u{1B}[K")
      if done == total { StandardError.write("\n") }
    } else {
      // Short work prints nothing; long work a line per tenth done.
      let tenth = Int(fraction * 10)
      guard tenth > lastTenth, Date().timeIntervalSince(start) > 1 else { return }
      lastTenth = tenth
      StandardError.write(describe(fraction, done, total) + "\n")
    }
  }

  private func describe(_ fraction: Double, _ done: Int, _ total: Int) -> String {
    let elapsed = max(Date().timeIntervalSince(start), 1e-3)
    guard let totalBytes else { return "\(label) \(done)/\(total)" }
    let bytes = Int(fraction * Double(totalBytes))
    let rate = Double(bytes) / elapsed
    let eta = rate > 0 ? Double(totalBytes - bytes) / rate : .infinity
    return "\(label) \(Format.bytes(bytes)) / \(Format.bytes(totalBytes)) "
      + String(format: "(%.0f%%) ", fraction * 100) + Format.rate(rate)
      + (done == total ? "" : " ETA " + Format.duration(eta))
  }
}
