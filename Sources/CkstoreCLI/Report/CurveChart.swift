import Foundation

/// The metric charts: one per metric, a line per branch (the values saved with each checkpoint as
/// dots joined by a line, the values logged between saves as a thin line under them).
enum CurveChart {
  static let width = 540.0, height = 280.0
  static let left = 70.0, right = 150.0, top = 20.0, bottom = 50.0

  /// One chart per metric name, in name order.
  static func render(_ curves: [ReportData.Curve], lanes: [String]) -> String {
    let metrics = Array(Set(curves.map(\.metric))).sorted()
    if metrics.isEmpty { return "<p class=\"empty\">No metrics recorded.</p>" }
    return metrics.map { m in chart(m, curves.filter { $0.metric == m }, lanes: lanes) }
      .joined()
  }

  private static func chart(_ metric: String, _ curves: [ReportData.Curve], lanes: [String])
    -> String
  {
    let finite = curves.flatMap(\.points).filter { $0.value.isFinite }
    let steps = finite.map { Double($0.step) }
    let values = finite.map(\.value)
    let (x0, x1) = (steps.min() ?? 0, steps.max() ?? 1)
    var (y0, y1) = (values.min() ?? 0, values.max() ?? 1)
    if y0 == y1 {
      let half = y0 == 0 ? 1 : abs(y0) / 2
      (y0, y1) = (y0 - half, y1 + half)
    }
    let pad = (y1 - y0) * 0.05
    y0 -= pad
    y1 += pad
    let x = SVG.Scale(lo: x0, hi: x1, from: left, to: width - right)
    let y = SVG.Scale(lo: y0, hi: y1, from: height - bottom, to: top)
    var s =
      "<figure class=\"chart\" data-chart=\"metric\" data-metric=\"\(SVG.esc(metric))\">"
      + "<figcaption>\(SVG.esc(metric))</figcaption>"
      + "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" "
      + "height=\"\(Int(height))\" role=\"img\" aria-label=\"\(SVG.esc(metric)) over steps\">"
    s += SVG.axes(
      x: x, y: y, xTicks: SVG.ticks(x0, x1), yTicks: SVG.ticks(y0, y1), xLabel: "step",
      yLabel: metric)
    var legend: [(String, String, Bool)] = []
    for curve in curves.sorted(by: { $0.source > $1.source }) {
      let color = SVG.color(lanes.firstIndex(of: curve.branch) ?? 0)
      let series = curve.source == "series"
      let path = polyline(curve.points, x: x, y: y)
      let who = SVG.esc(curve.branch)
      s +=
        "<g class=\"curve \(series ? "series" : "saved")\" data-branch=\"\(who)\" "
        + "data-metric=\"\(SVG.esc(metric))\" data-source=\"\(curve.source)\" "
        + "data-count=\"\(curve.points.count)\">"
      s +=
        "<path d=\"\(path)\" stroke=\"\(color)\" class=\"line\"><title>\(who) · "
        + "\(SVG.esc(metric)) (\(series ? "logged every step" : "at saves"))</title></path>"
      if series {
        // The points as data only: thousands of dots would hide the line.
        s +=
          "<desc data-steps=\"\(curve.points.map { String($0.step) }.joined(separator: ","))\" "
          + "data-values=\"\(curve.points.map { SVG.data($0.value) }.joined(separator: ","))\">"
          + "</desc>"
      } else {
        for p in curve.points where p.value.isFinite {
          s +=
            "<circle class=\"point\" cx=\"\(SVG.f(x(Double(p.step))))\" "
            + "cy=\"\(SVG.f(y(p.value)))\" r=\"3.5\" fill=\"\(color)\" data-branch=\"\(who)\" "
            + "data-metric=\"\(SVG.esc(metric))\" data-step=\"\(p.step)\" "
            + "data-value=\"\(SVG.data(p.value))\"><title>\(who) step \(p.step): "
            + "\(SVG.esc(metric)) = \(SVG.esc(Format.number(p.value)))</title></circle>"
        }
      }
      s += "</g>"
      legend.append((curve.branch + (series ? " · per step" : " · saves"), color, series))
    }
    for (i, item) in legend.enumerated() {
      let ly = top + 8 + Double(i) * 18
      let lx = width - right + 14
      s +=
        "<g class=\"legend\"><line x1=\"\(SVG.f(lx))\" x2=\"\(SVG.f(lx + 18))\" "
        + "y1=\"\(SVG.f(ly))\" y2=\"\(SVG.f(ly))\" stroke=\"\(item.1)\" "
        + "class=\"\(item.2 ? "series" : "saved")\"/><text x=\"\(SVG.f(lx + 24))\" "
        + "y=\"\(SVG.f(ly))\" dominant-baseline=\"middle\">\(SVG.esc(item.0))</text></g>"
    }
    return s + "</svg></figure>"
  }

  /// An SVG path through the finite points in step order; a non-finite value breaks the line.
  private static func polyline(
    _ points: [(step: Int64, value: Double)], x: SVG.Scale, y: SVG.Scale
  ) -> String {
    var d = ""
    var pen = false
    for p in points {
      guard p.value.isFinite else {
        pen = false
        continue
      }
      d += (pen ? "L" : "M") + SVG.f(x(Double(p.step))) + " " + SVG.f(y(p.value))
      pen = true
    }
    return d
  }
}
