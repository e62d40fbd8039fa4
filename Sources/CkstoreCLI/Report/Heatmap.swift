import Foundation

/// The heatmap of relative change ‖new − old‖ / ‖old‖ per tensor between consecutive
/// checkpoints of a branch, on a log colour scale from 1e-6 to 1.
enum HeatmapChart {
  static let cell = 16.0, labelWidth = 250.0, top = 24.0

  static func render(_ maps: [ReportData.Heatmap]) -> String {
    let drawn = maps.filter { !$0.columns.isEmpty }
    if drawn.isEmpty {
      return "<p class=\"empty\">Fewer than two consecutive checkpoints with data.</p>"
    }
    return drawn.map(chart).joined() + legend()
  }

  /// Colour for a relative change: grey for none, else viridis-like by log10 in [-6, 0].
  static func color(_ value: Double?) -> String {
    guard let value else { return "url(#hatch)" }
    if value == 0 { return "#eceff3" }
    let t = min(1, max(0, (log10(value) + 6) / 6))
    let stops: [(Double, Double, Double)] = [
      (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
    ]
    let p = t * Double(stops.count - 1)
    let i = min(stops.count - 2, Int(p))
    let u = p - Double(i)
    let (a, b) = (stops[i], stops[i + 1])
    return String(
      format: "#%02x%02x%02x", Int(a.0 + (b.0 - a.0) * u), Int(a.1 + (b.1 - a.1) * u),
      Int(a.2 + (b.2 - a.2) * u))
  }

  private static func chart(_ map: ReportData.Heatmap) -> String {
    let w = max(labelWidth + Double(map.columns.count) * cell + 20, labelWidth + 200)
    let h = top + Double(map.tensors.count) * cell + 60
    let who = SVG.esc(map.branch)
    var s =
      "<figure class=\"chart\" data-chart=\"heatmap\" data-branch=\"\(who)\" "
      + "data-bytes-read=\"\(map.bytesRead)\"><figcaption>\(who)</figcaption>"
      + "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" "
      + "role=\"img\" aria-label=\"heatmap of \(who)\">"
      + "<defs><pattern id=\"hatch\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">"
      + "<path d=\"M0 4L4 0\" stroke=\"#b0b6c0\" stroke-width=\"1\"/></pattern></defs>"
    for (row, name) in map.tensors.enumerated() {
      let y = top + Double(row) * cell
      s +=
        "<text class=\"rowlabel\" x=\"\(SVG.f(labelWidth - 6))\" y=\"\(SVG.f(y + cell / 2))\" "
        + "text-anchor=\"end\" dominant-baseline=\"middle\">\(SVG.esc(short(name)))"
        + "<title>\(SVG.esc(name))</title></text>"
      for (column, commit) in map.columns.enumerated() {
        let value = map.cells[row][column]
        let text =
          value.map { $0 == 0 ? "unchanged" : "relative change \(Format.number($0))" }
          ?? "not comparable (added, removed, reshaped or not numeric)"
        s +=
          "<rect class=\"cell\" x=\"\(SVG.f(labelWidth + Double(column) * cell))\" "
          + "y=\"\(SVG.f(y))\" width=\"\(SVG.f(cell - 1))\" height=\"\(SVG.f(cell - 1))\" "
          + "fill=\"\(color(value))\" data-tensor=\"\(SVG.esc(name))\" data-step=\"\(commit.step)\" "
          + "data-commit=\"\(commit.id.hex)\" data-value=\"\(value.map(SVG.data) ?? "")\">"
          + "<title>\(SVG.esc(name)) at step \(commit.step): \(SVG.esc(text))</title></rect>"
      }
    }
    let base = top + Double(map.tensors.count) * cell
    let every = max(1, map.columns.count / 12)
    for (column, commit) in map.columns.enumerated() where column % every == 0 {
      let x = labelWidth + Double(column) * cell + cell / 2
      s +=
        "<text class=\"tick\" transform=\"translate(\(SVG.f(x)) \(SVG.f(base + 8))) rotate(45)\">"
        + "\(commit.step)</text>"
    }
    s +=
      "<text class=\"label\" x=\"\(SVG.f(labelWidth))\" y=\"\(SVG.f(h - 6))\">"
      + "step of the newer checkpoint</text>"
    return s + "</svg></figure>"
  }

  /// Long names keep their end, which names the layer and parameter.
  private static func short(_ name: String) -> String {
    name.count <= 38 ? name : "…" + name.suffix(37)
  }

  private static func legend() -> String {
    var s =
      "<figure class=\"legendbar\"><svg viewBox=\"0 0 460 44\" width=\"460\" height=\"44\" "
      + "role=\"img\" aria-label=\"colour scale\">"
    for i in 0..<60 {
      let v = pow(10, -6 + Double(i) / 10)
      s +=
        "<rect x=\"\(SVG.f(80 + Double(i) * 5))\" y=\"4\" width=\"5\" height=\"14\" "
        + "fill=\"\(color(v))\"/>"
    }
    for e in 0...6 {
      s +=
        "<text class=\"tick\" x=\"\(SVG.f(80 + Double(e) * 50))\" y=\"32\" "
        + "text-anchor=\"middle\">1e-\(6 - e)</text>"
    }
    s +=
      "<rect x=\"2\" y=\"4\" width=\"14\" height=\"14\" fill=\"#eceff3\"/>"
      + "<text class=\"tick\" x=\"20\" y=\"15\">same</text>"
      + "<rect x=\"400\" y=\"4\" width=\"14\" height=\"14\" fill=\"url(#hatch)\" "
      + "stroke=\"#b0b6c0\"/><text class=\"tick\" x=\"418\" y=\"15\">n/a</text>"
    return s + "</svg></figure>"
  }
}
