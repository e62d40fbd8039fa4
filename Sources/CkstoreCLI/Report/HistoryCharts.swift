import CKStore
import Foundation

/// The commit graph (lanes per branch, pruned commits hollow) and stored versus logical bytes.
enum HistoryCharts {
  static let left = 120.0, laneHeight = 46.0, top = 34.0

  /// Commits left to right in time order, one lane per chosen branch, parents joined by lines.
  static func graph(_ data: ReportData) -> String {
    let nodes = data.nodes
    if nodes.isEmpty { return "<p class=\"empty\">No commits.</p>" }
    let dx = max(14, min(48, 900 / Double(max(1, nodes.count))))
    let w = left + Double(nodes.count) * dx + 60
    let h = top + Double(max(1, data.lanes.count)) * laneHeight + 20
    var index: [ObjectID: Int] = [:]
    for (i, n) in nodes.enumerated() { index[n.commit.id] = i }
    func x(_ i: Int) -> Double { left + Double(i) * dx + dx / 2 }
    func lane(_ n: ReportData.Node) -> Int { data.lanes.firstIndex(of: n.lane) ?? 0 }
    func y(_ l: Int) -> Double { top + Double(l) * laneHeight + laneHeight / 2 }
    var s =
      "<figure class=\"chart\" data-chart=\"graph\"><svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" "
      + "width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\" aria-label=\"commit graph\">"
    for (l, name) in data.lanes.enumerated() {
      s +=
        "<text class=\"lanelabel\" x=\"\(SVG.f(left - 10))\" y=\"\(SVG.f(y(l)))\" "
        + "text-anchor=\"end\" dominant-baseline=\"middle\" fill=\"\(SVG.color(l))\">"
        + "\(SVG.esc(name))</text>"
    }
    for (i, n) in nodes.enumerated() {
      for p in n.commit.parents {
        guard let j = index[p] else { continue }
        let (x1, y1, x2, y2) = (x(j), y(lane(nodes[j])), x(i), y(lane(n)))
        let mid = (x1 + x2) / 2
        s +=
          "<path class=\"edge\" d=\"M\(SVG.f(x1)) \(SVG.f(y1))C\(SVG.f(mid)) \(SVG.f(y1)) "
          + "\(SVG.f(mid)) \(SVG.f(y2)) \(SVG.f(x2)) \(SVG.f(y2))\" "
          + "stroke=\"\(SVG.color(lane(n)))\"/>"
      }
    }
    for (i, n) in nodes.enumerated() {
      let c = n.commit
      let color = SVG.color(lane(n))
      let tip =
        "\(c.id.short) step-\(c.step)\(n.pruned ? " [pruned]" : "")"
        + (n.refs.isEmpty ? "" : " (" + n.refs.joined(separator: ", ") + ")")
        + (c.metrics.isEmpty ? "" : "\n" + Format.metrics(c.metrics))
        + (c.message.isEmpty ? "" : "\n" + c.message)
      s +=
        "<g class=\"commit\" data-id=\"\(c.id.hex)\" data-step=\"\(c.step)\" "
        + "data-pruned=\"\(n.pruned)\" data-lane=\"\(SVG.esc(n.lane))\" "
        + "data-refs=\"\(SVG.esc(n.refs.joined(separator: ",")))\"><circle cx=\"\(SVG.f(x(i)))\" "
        + "cy=\"\(SVG.f(y(lane(n))))\" r=\"6\" "
        + (n.pruned
          ? "fill=\"#fff\" stroke=\"\(color)\" stroke-dasharray=\"2 2\""
          : "fill=\"\(color)\" stroke=\"#fff\"")
        + " stroke-width=\"2\"/><title>\(SVG.esc(tip))</title></g>"
      for (k, ref) in n.refs.enumerated() {
        let tag = ref.hasPrefix("tag: ")
        s +=
          "<text class=\"ref \(tag ? "tag" : "branch")\" x=\"\(SVG.f(x(i)))\" "
          + "y=\"\(SVG.f(y(lane(n)) - 12 - Double(k) * 12))\" text-anchor=\"middle\">"
          + "\(SVG.esc(ref))</text>"
      }
    }
    return s + "</svg></figure>"
  }

  /// Per commit (time order), its logical bytes beside the bytes it added to the store.
  static func bytes(_ data: ReportData) -> String {
    let nodes = data.nodes
    if nodes.isEmpty { return "" }
    let width = 760.0, height = 280.0, l = 80.0, r = 20.0, t = 20.0, b = 50.0
    let maxBytes = Double(
      nodes.map { max($0.commit.logicalBytes, $0.commit.addedBytes) }.max() ?? 1)
    let x = SVG.Scale(lo: 0, hi: Double(nodes.count), from: l, to: width - r)
    let y = SVG.Scale(lo: 0, hi: max(1, maxBytes * 1.08), from: height - b, to: t)
    let slot = (width - l - r) / Double(nodes.count)
    let bar = max(1, slot * 0.4)
    var s =
      "<figure class=\"chart\" data-chart=\"bytes\"><figcaption>logical bytes (what the "
      + "checkpoint holds) vs. bytes it added to the store</figcaption><svg viewBox=\"0 0 "
      + "\(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
      + "role=\"img\" aria-label=\"stored versus logical bytes\">"
    s += SVG.axes(
      x: x, y: y, xTicks: [], yTicks: SVG.ticks(0, maxBytes),
      xLabel: "commits, oldest first (step; colour: line)",
      yLabel: "bytes", label: { Format.bytes(Int64($0)) })
    for (i, n) in nodes.enumerated() {
      let c = n.commit
      let x0 = x(Double(i)) + slot * 0.1
      let saved = c.logicalBytes > 0 ? 1 - Double(c.addedBytes) / Double(c.logicalBytes) : 0
      s +=
        "<g class=\"bytes\" data-id=\"\(c.id.hex)\" data-step=\"\(c.step)\" "
        + "data-logical-bytes=\"\(c.logicalBytes)\" data-added-bytes=\"\(c.addedBytes)\">"
        + "<title>\(c.id.short) step-\(c.step): \(Format.bytes(c.logicalBytes)) logical, "
        + "\(Format.bytes(c.addedBytes)) added (\(String(format: "%.0f", max(0, saved) * 100))% "
        + "reused)</title>"
        + "<rect class=\"logical\" x=\"\(SVG.f(x0))\" y=\"\(SVG.f(y(Double(c.logicalBytes))))\" "
        + "width=\"\(SVG.f(bar))\" height=\"\(SVG.f(y(0) - y(Double(c.logicalBytes))))\"/>"
        + "<rect class=\"added\" x=\"\(SVG.f(x0 + bar))\" y=\"\(SVG.f(y(Double(c.addedBytes))))\" "
        + "width=\"\(SVG.f(bar))\" height=\"\(SVG.f(y(0) - y(Double(c.addedBytes))))\"/></g>"
    }
    let every = max(1, nodes.count / 16)
    for (i, n) in nodes.enumerated() where i % every == 0 {
      let cx = x(Double(i)) + slot / 2
      s +=
        "<text class=\"tick\" x=\"\(SVG.f(cx))\" y=\"\(SVG.f(height - b + 14))\" "
        + "text-anchor=\"middle\" fill=\"\(SVG.color(data.lanes.firstIndex(of: n.lane) ?? 0))\">"
        + "\(n.commit.step)</text>"
    }
    s +=
      "<g class=\"legend\"><rect class=\"logical\" x=\"\(SVG.f(width - 230))\" y=\"8\" "
      + "width=\"12\" height=\"12\"/><text x=\"\(SVG.f(width - 214))\" y=\"18\">logical</text>"
      + "<rect class=\"added\" x=\"\(SVG.f(width - 150))\" y=\"8\" width=\"12\" height=\"12\"/>"
      + "<text x=\"\(SVG.f(width - 134))\" y=\"18\">added to store</text></g>"
    return s + "</svg></figure>"
  }
}
