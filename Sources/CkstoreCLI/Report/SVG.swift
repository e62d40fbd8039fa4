import Foundation

/// Small helpers for writing the report's HTML and SVG by hand (no dependencies, no scripts).
enum SVG {
  /// Escapes text for HTML/SVG content and quoted attribute values: tensor, branch and tag names
  /// and messages are user data and must never become markup.
  static func esc(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
      switch ch {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default:
        // Control characters are not allowed in XML-ish text; show them as U+FFFD.
        out.unicodeScalars.append(ch.value < 0x20 && ch != "\n" && ch != "\t" ? "\u{FFFD}" : ch)
      }
    }
    return out
  }

  /// A number for a data attribute: the shortest text that reads back as the same Double.
  static func data(_ x: Double) -> String { x.isFinite ? "\(x)" : "\(x)".lowercased() }

  /// A coordinate with two decimals.
  static func f(_ x: Double) -> String { String(format: "%.2f", x) }

  /// Series colours (colour-blind friendly, Okabe–Ito), by index.
  static func color(_ i: Int) -> String {
    let palette = [
      "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#332288",
      "#999933",
    ]
    return palette[i % palette.count]
  }

  /// Round tick values covering [lo, hi], about `count` of them.
  static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
    guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
    let raw = (hi - lo) / Double(max(1, count))
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
    var out: [Double] = []
    var t = ceil(lo / step) * step
    while t <= hi + step * 1e-9 {
      out.append(abs(t) < step * 1e-9 ? 0 : t)
      t += step
    }
    return out
  }

  /// A linear map from a data range onto a pixel range (degenerate ranges map to the middle).
  struct Scale {
    var lo: Double, hi: Double, from: Double, to: Double
    func callAsFunction(_ x: Double) -> Double {
      hi > lo ? from + (x - lo) / (hi - lo) * (to - from) : (from + to) / 2
    }
  }

  /// Axes with ticks, grid lines and labels for a plot area.
  static func axes(
    x: Scale, y: Scale, xTicks: [Double], yTicks: [Double], xLabel: String, yLabel: String,
    label: (Double) -> String = { Format.number($0) }
  ) -> String {
    var s = "<g class=\"axes\">"
    for t in yTicks {
      let py = f(y(t))
      s += "<line class=\"grid\" x1=\"\(f(x.from))\" x2=\"\(f(x.to))\" y1=\"\(py)\" y2=\"\(py)\"/>"
      s +=
        "<text class=\"tick\" x=\"\(f(x.from - 6))\" y=\"\(py)\" text-anchor=\"end\" "
        + "dominant-baseline=\"middle\">\(esc(label(t)))</text>"
    }
    for t in xTicks {
      let px = f(x(t))
      s +=
        "<line class=\"tickmark\" x1=\"\(px)\" x2=\"\(px)\" y1=\"\(f(y.from))\" "
        + "y2=\"\(f(y.from + 4))\"/>"
      s +=
        "<text class=\"tick\" x=\"\(px)\" y=\"\(f(y.from + 16))\" text-anchor=\"middle\">"
        + "\(esc(Format.number(t)))</text>"
    }
    s +=
      "<line class=\"axis\" x1=\"\(f(x.from))\" x2=\"\(f(x.to))\" y1=\"\(f(y.from))\" "
      + "y2=\"\(f(y.from))\"/>"
    s +=
      "<line class=\"axis\" x1=\"\(f(x.from))\" x2=\"\(f(x.from))\" y1=\"\(f(y.from))\" "
      + "y2=\"\(f(y.to))\"/>"
    s +=
      "<text class=\"label\" x=\"\(f((x.from + x.to) / 2))\" y=\"\(f(y.from + 34))\" "
      + "text-anchor=\"middle\">\(esc(xLabel))</text>"
    s +=
      "<text class=\"label\" transform=\"translate(\(f(x.from - 52)) \(f((y.from + y.to) / 2))) "
      + "rotate(-90)\" text-anchor=\"middle\">\(esc(yLabel))</text>"
    return s + "</g>"
  }
}
