import CKStore
import Foundation

/// The report as one self-contained HTML page: inline CSS and SVG, no scripts, nothing fetched.
enum ReportPage {
  static func html(_ data: ReportData, stats: StoreStats, storePath: String) -> String {
    let heatBytes = data.heatmaps.reduce(0) { $0 + $1.bytesRead }
    let summary = [
      ("commits", "\(stats.commits) (\(stats.prunedCommits) pruned)"),
      ("logical", Format.bytes(stats.logicalBytes)),
      ("stored", Format.bytes(stats.storedBytes)),
      ("dedup", String(format: "%.2fx", stats.dedupRatio)),
      ("compression", String(format: "%.2fx", stats.compressionRatio)),
    ]
    var s = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
      <title>ckstore report: \(SVG.esc(storePath))</title>
      <style>\(css)</style></head><body>
      <header><h1>ckstore report</h1><p class="path">\(SVG.esc(storePath))</p>
      <dl class="summary" data-dedup="\(SVG.data(stats.dedupRatio))" data-logical-bytes="\(stats.logicalBytes)" data-stored-bytes="\(stats.storedBytes)">
      """
    for (k, v) in summary { s += "<div><dt>\(k)</dt><dd>\(SVG.esc(v))</dd></div>" }
    s += "</dl></header><main>"
    s += section(
      "metrics", "Metrics over steps",
      "Dots: the metrics saved with each checkpoint; thin lines: the values logged between "
        + "saves (<code>ckstore/metrics/…</code>).",
      CurveChart.render(data.curves, lanes: data.lanes))
    s += section(
      "heatmap", "Which tensors changed",
      "Relative change ‖new − old‖ / ‖old‖ of each tensor (rows) between each pair of "
        + "consecutive checkpoints with data (columns, by the newer one's step), from "
        + "<code>ckstore diff</code>'s statistics; reading them took \(Format.bytes(heatBytes)) of "
        + "tensor data (unchanged tensors are recognised by id and not read).",
      HeatmapChart.render(data.heatmaps))
    s += section(
      "bytes", "What deduplication saved",
      "Bytes each commit holds versus the object bytes it added to the store.",
      HistoryCharts.bytes(data))
    s += section(
      "graph", "History",
      "Branches and tags; hollow dashed commits are pruned (their data was freed, the metadata "
        + "stays).", HistoryCharts.graph(data))
    s +=
      "</main><footer>written by ckstore report · \(Format.time(Date()))</footer></body></html>\n"
    return s
  }

  private static func section(_ id: String, _ title: String, _ note: String, _ body: String)
    -> String
  {
    "<section id=\"\(id)\"><h2>\(title)</h2><p class=\"note\">\(note)</p>\(body)</section>"
  }

  private static let css = """
    :root{--fg:#1d2330;--muted:#5b6475;--line:#d9dee7;--bg:#f7f8fb}
    *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",\
    Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
    header{padding:20px 32px;background:#fff;border-bottom:1px solid var(--line)}
    h1{margin:0;font-size:22px}h2{font-size:17px;margin:0 0 4px}.path{margin:2px 0 10px;\
    color:var(--muted);font-family:ui-monospace,monospace}
    .summary{display:flex;gap:28px;margin:0}.summary dt{color:var(--muted);font-size:12px;\
    text-transform:uppercase;letter-spacing:.04em}.summary dd{margin:0;font-size:18px;font-weight:600}
    main{padding:8px 32px 32px;display:grid;gap:18px}
    section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;\
    overflow-x:auto}.note{color:var(--muted);margin:0 0 10px}.empty{color:var(--muted)}
    figure{margin:0 18px 14px 0;display:inline-block;vertical-align:top}\
    figure[data-chart=graph],figure[data-chart=bytes]{display:block}
    figcaption{font-weight:600;margin:0 0 4px}
    svg text{font-size:11px;fill:var(--fg)}.tick{fill:var(--muted)}.label{font-size:12px}
    .grid{stroke:#eef1f5}.axis{stroke:#9aa3b2}.tickmark{stroke:#9aa3b2}
    .line{fill:none;stroke-width:2}.series .line{stroke-width:1;opacity:.45}
    .legend line{stroke-width:2}.legend line.series{stroke-width:1;opacity:.6}
    .edge{fill:none;stroke-width:2;opacity:.7}.lanelabel{font-weight:600;font-size:12px}
    .ref{font-size:10px;font-weight:600}.ref.tag{fill:#8a5a00}
    rect.logical{fill:#b9c4d6}rect.added{fill:#0072B2}
    .rowlabel{font-family:ui-monospace,monospace;font-size:10px}
    footer{color:var(--muted);padding:0 32px 24px;font-size:12px}
    """
}
