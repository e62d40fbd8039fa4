import CKStore
import Foundation
import Testing

/// `ckstore report` rendered by a real browser (issue 12, point 6): headless Chromium loads the
/// page from disk, and the charts in its DOM hold the store's numbers.
@Suite(.serialized) struct ReportBrowserTests {
  /// Debian's chromium (CI installs it with apt in `.ci/run`). Missing is a failure, never a skip.
  static func chromium() throws -> String {
    for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    where FileManager.default.isExecutableFile(atPath: path) {
      return path
    }
    throw MissingBrowser()
  }

  /// Thrown (so the test fails with this message) when no browser is installed.
  struct MissingBrowser: Error, CustomStringConvertible {
    var description: String {
      "chromium is not installed: the report's browser test needs it "
        + "(`apt-get install -y chromium`, which .ci/run does)"
    }
  }

  /// Runs the browser headless on a local file with `flags`; returns stdout.
  static func browse(_ file: String, _ flags: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try chromium())
    p.arguments =
      ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"] + flags
      + ["file://" + file]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle(forWritingAtPath: "/dev/null")
    try p.run()
    let data = CLI.drain(out.fileHandleForReading.fileDescriptor)
    p.waitUntilExit()
    try #require(p.terminationStatus == 0, "chromium exited \(p.terminationStatus)")
    return String(decoding: data, as: UTF8.self)
  }

  /// The start tags of `element` in serialized HTML, as attribute dictionaries.
  static func elements(_ element: String, in html: String) -> [[String: String]] {
    let tag = try! Regex("<\(element)\\b([^>]*)>")
    let attribute = try! Regex("([a-zA-Z-]+)=\"([^\"]*)\"")
    return html.matches(of: tag).map { m in
      let text = String(m.output[1].substring ?? "")
      var out: [String: String] = [:]
      for a in text.matches(of: attribute) {
        out[String(a.output[1].substring!)] = unescape(String(a.output[2].substring!))
      }
      return out
    }
  }

  static func unescape(_ s: String) -> String {
    s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
      .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
      .replacingOccurrences(of: "&amp;", with: "&")
  }

  /// `log --json` as commit objects, whether printed as an array or inside `{"commits": …}`.
  static func logCommits(_ box: Sandbox, _ rev: String) throws -> [[String: Any]] {
    let text = try box.ok("log", rev, "--json").stdout
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    if let list = value as? [[String: Any]] { return list }
    return try #require((value as? [String: Any])?["commits"] as? [[String: Any]])
  }

  @Test func theBrowserShowsTheStoresNumbers() throws {
    _ = try Self.chromium()
    let box = try Sandbox()
    try box.ok("train", "--steps", "120", "--save-every", "30", "--keep-last", "10", "--seed", "3")
    try box.ok("tag", "good", "step-60")
    try box.ok("gc", "--keep-last", "2")  // prunes step-30
    try box.ok("branch", "ft", "step-90")
    try box.ok(
      "train", "--branch", "ft", "--freeze-base", "--steps", "150", "--save-every", "30",
      "--seed", "3")
    // A hostile tensor name on its own branch: it must come out as text, never markup.
    let evil = "evil<script>alert(1)</script>\"x'"
    try box.commit([try floatTensor(evil, [4], seed: 1)], step: 1, branch: "x<b>")
    try box.commit([try floatTensor(evil, [4], seed: 2)], step: 2, branch: "x<b>")
    let page = box.path("report.html")
    let text = try box.ok("report", "-o", page).stdout
    #expect(text.hasPrefix("wrote \(page): "))

    let html = try String(contentsOfFile: page, encoding: .utf8)
    #expect(!html.contains("<script"), "the page runs no scripts")
    #expect(!html.contains("http://") && !html.contains("https://"), "nothing is fetched")
    let dom = try Self.browse(page, ["--dump-dom"])
    #expect(!dom.contains("<script"), "a name became markup")
    #expect(dom.contains("evil&lt;script&gt;alert(1)&lt;/script&gt;"))

    // Metric charts: one per metric; the saved-loss dots of main are the commits' metrics.
    let figures = Self.elements("figure", in: dom)
    let metrics = Set(
      figures.filter { $0["data-chart"] == "metric" }.compactMap { $0["data-metric"] })
    #expect(metrics == ["accuracy", "loss", "lr"])
    let store = try Store.open(at: box.store)
    let log = try Self.logCommits(box, "main")
    var expected: [String: Double] = [:]
    for c in log {
      let step = try #require(c["step"] as? Int)
      let loss = try #require((c["metrics"] as? [String: Any])?["loss"] as? Double)
      expected["\(step)"] = loss
    }
    let groups = Self.elements("g", in: dom)
    #expect(
      groups.contains {
        $0["data-branch"] == "main" && $0["data-metric"] == "loss" && $0["data-source"] == "commit"
          && $0["data-count"] == "4"
      })
    var drawn: [String: Double] = [:]
    for d in Self.elements("circle", in: dom)
    where d["data-branch"] == "main" && d["data-metric"] == "loss" {
      drawn[d["data-step"] ?? "?"] = d["data-value"].flatMap(Double.init)
    }
    #expect(drawn == expected, "main's loss dots: \(drawn) vs log \(expected)")

    // The per-step series: main's steps 1…90 (its own commits), ft's 91…150, as stored.
    let descs = Self.elements("desc", in: dom).filter { $0["data-steps"] != nil }
    #expect(descs.count == 2)
    let ftHead = try store.resolve("ft")
    let ftSeries = try #require(try store.metricSeries(in: ftHead).first { $0.name == "loss" })
    let ftDrawn = try #require(descs.first { ($0["data-steps"] ?? "").hasSuffix(",150") })
    let drawnValues = (ftDrawn["data-values"] ?? "").split(separator: ",").compactMap {
      Double(String($0))
    }
    #expect(Array(drawnValues.suffix(ftSeries.values.count)) == ftSeries.values)
    #expect(ftDrawn["data-steps"]!.split(separator: ",").count == 60)

    // Heatmap cells: tensors × pairs of consecutive checkpoints with data, values from diff.
    let json =
      try JSONSerialization.jsonObject(
        with: Data(try box.ok("report", "--json").stdout.utf8)) as? [String: Any]
    let maps = try #require(json?["heatmaps"] as? [[String: Any]])
    let cells = Self.elements("rect", in: dom).filter { $0["data-tensor"] != nil }
    var expectedCells = 0
    for m in maps {
      let tensors = try #require(m["tensors"] as? [String])
      let steps = try #require(m["steps"] as? [Int])
      expectedCells += tensors.count * steps.count
    }
    #expect(cells.count == expectedCells && expectedCells > 0)
    let ftMap = try #require(maps.first { $0["branch"] as? String == "ft" })
    let ftTensors = try #require(ftMap["tensors"] as? [String])
    let base = "model/layers.0.weight"
    let row = try #require(ftTensors.firstIndex(of: base))
    let baseCells = cells.filter {
      $0["data-tensor"] == base && ($0["data-commit"] ?? "").count == 64
    }
    #expect(
      baseCells.contains { $0["data-value"] == "0.0" }, "the frozen base is unchanged on ft")
    let baseRow = try #require(ftMap["cells"] as? [[Any]])[row]
    #expect(baseRow.allSatisfy { ($0 as? Double) == 0 })
    let headRow = try #require(ftTensors.firstIndex(of: "model/layers.1.weight"))
    let headChanges = try #require(ftMap["cells"] as? [[Any]])[headRow].compactMap { $0 as? Double }
    #expect(headChanges.count == 2 && headChanges.allSatisfy { $0 > 0 })
    let diff = try store.diff(try store.resolve("ft~1"), ftHead)
    let changed = try #require(diff.tensors.first { $0.name == "model/layers.1.weight" })
    // JSONSerialization may round the last bit; the DOM check below is exact.
    let relative = try #require(changed.statistics?.relative)
    #expect(abs(headChanges.last! - relative) <= 1e-12 * relative)
    #expect(
      cells.contains {
        $0["data-tensor"] == "model/layers.1.weight" && $0["data-commit"] == ftHead.id.hex
          && Double($0["data-value"] ?? "") == changed.statistics?.relative
      })

    // Bytes: every commit, its logical and added bytes as `log` reports them.
    let bars = groups.filter { $0["data-logical-bytes"] != nil }
    let all = try Self.logCommits(box, "ft") + (try Self.logCommits(box, "x<b>"))
    for c in all {
      let id = try #require(c["id"] as? String)
      let bar = try #require(bars.first { $0["data-id"] == id }, "no bar for \(id)")
      #expect(bar["data-logical-bytes"] == "\(try #require(c["logicalBytes"] as? Int))")
      #expect(bar["data-added-bytes"] == "\(try #require(c["addedBytes"] as? Int))")
    }
    // Graph: every commit once, pruned ones marked, branches and the tag labelled.
    let nodes = groups.filter { $0["class"] == "commit" }
    let history = try store.history(from: try store.resolve("main").id)
    let ids = Set((all + (try Self.logCommits(box, "main"))).compactMap { $0["id"] as? String })
    #expect(nodes.count == ids.count && Set(nodes.compactMap { $0["data-id"] }) == ids)
    #expect(ids.count == 8, "main 4, ft 2 of its own, x<b> 2")
    let pruned = Set(nodes.filter { $0["data-pruned"] == "true" }.compactMap { $0["data-id"] })
    #expect(pruned == Set(history.filter { store.isPruned($0.id) }.map(\.id.hex)))
    #expect(!pruned.isEmpty)
    #expect(nodes.contains { ($0["data-refs"] ?? "").contains("tag: good") })
    #expect(nodes.contains { $0["data-refs"] == "x<b>" })

    // The screenshot: a real PNG of a real size.
    let shot = box.path("report.png")
    _ = try Self.browse(page, ["--screenshot=" + shot])
    let png = try [UInt8](Data(contentsOf: URL(fileURLWithPath: shot)))
    #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
    let height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
    #expect(width == 1280 && height == 2000)
    #expect(png.count > 20_000, "a blank page compresses to almost nothing: \(png.count) bytes")
  }
}
