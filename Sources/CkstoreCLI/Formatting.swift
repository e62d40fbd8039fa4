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

/// Progress on a terminal (stderr), silent otherwise; safe to update from worker threads.
final class Progress: @unchecked Sendable {
  private let label: String
  private let enabled = isatty(2) != 0
  private let lock = NSLock()
  private var last = Date.distantPast

  init(_ label: String) { self.label = label }

  func update(_ done: Int, _ total: Int) {
    guard enabled else { return }
    lock.lock()
    defer { lock.unlock() }
    guard Date().timeIntervalSince(last) > 0.1 || done == total else { return }
    last = Date()
    let width = 30
    let filled = total == 0 ? width : width * done / total
    let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
    StandardError.write("\r\(label) [\(bar)] \(done)/\(total)" + (done == total ? "\n" : ""))
  }
}
