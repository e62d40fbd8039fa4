import ArgumentParser
import CKStore
import Foundation

extension Ckstore {
  /// `ckstore log`.
  struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List commits, newest first, following first parents.",
      discussion: """
        Each commit shows its id, step, time, metrics, logical size and the bytes it added to the \
        store. Commits whose data retention freed are marked [pruned]. REV may be a range A..B: \
        the commits reachable from B and not from A. --all lists every commit any branch or tag \
        reaches (children before parents, then newest first); --graph draws the history as an \
        ASCII graph, branches and tags in parentheses. --sort METRIC orders by a metric, lowest \
        first (commits without it last); --reverse flips the order.

        --format placeholders: %H id, %h short id, %T tree, %p parents (short), %s message, \
        %step step, %t time (UTC), %d decorations " (main, tag: v1)", %D the same without \
        parentheses, %M all metrics (name=value), %{NAME} the metric NAME (empty if absent), \
        %L logical bytes, %A added bytes, %P "pruned" or "", %n newline, %% a percent sign.
        """)

    @Argument(help: "Where to start, or a range A..B (default: HEAD).") var revision: String?
    @Option(name: .short, help: "Show at most N commits.") var n: Int?
    @Flag(help: "One line per commit.") var oneline = false
    @Flag(help: "Every commit of every branch and tag.") var all = false
    @Flag(help: "Draw the history as an ASCII graph.") var graph = false
    @Option(help: "Print each commit with this template (placeholders above).") var format: String?
    @Option(help: "Order by this metric, lowest first.") var sort: String?
    @Flag(help: "Print in the opposite order.") var reverse = false
    @Flag(
      help: ArgumentHelp(
        "Also summarise the metrics logged between saves (text only; `ckstore metrics` prints "
          + "them whole, also as JSON)."))
    var series = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
      if all && revision != nil { throw ValidationError("--all takes no revision") }
      if graph && (sort != nil || reverse) {
        throw ValidationError("--graph draws history order; it cannot be sorted or reversed")
      }
      if let n, n < 0 { throw ValidationError("-n must not be negative") }
    }

    func run() throws {
      let store = try storeOptions.open()
      var commits: [Commit]
      if all {
        commits = try store.allCommits()
      } else if let revision, revision.contains("..") {
        commits = try store.history(range: revision)
      } else {
        commits = try store.history(from: store.resolve(revision ?? "HEAD").id)
      }
      if let sort {
        // Stable: equal values (and commits without the metric, last) keep history order.
        commits = commits.enumerated().sorted { x, y in
          let a = x.element.metrics[sort].flatMap { $0.isNaN ? nil : $0 }
          let b = y.element.metrics[sort].flatMap { $0.isNaN ? nil : $0 }
          switch (a, b) {
          case (let a?, let b?): return a != b ? a < b : x.offset < y.offset
          case (.some, nil): return true
          case (nil, .some): return false
          case (nil, nil): return x.offset < y.offset
          }
        }.map(\.element)
      }
      if reverse { commits.reverse() }
      if let n { commits = Array(commits.prefix(n)) }
      let refs = try store.decorations()
      if output.json {
        struct LogJSON: Encodable { var commits: [CommitJSON] }
        return try printJSON(
          LogJSON(commits: commits.map { CommitJSON($0, in: store, refs: refs) }))
      }
      let lines = try commits.map { c in
        let pruned = store.isPruned(c.id)
        let text = render(c, pruned: pruned, refs: refs[c.id] ?? [])
        guard series, !pruned else { return text }
        return try Self.seriesSummary(store.metricSeries(in: c), after: text)
      }
      if graph {
        for line in LogGraph.draw(commits, lines) { print(line) }
      } else {
        for line in lines { print(line) }
      }
    }

    /// `text` followed by one line per logged series: its length, step range, lowest and last
    /// value ("-" when it has no finite value).
    private static func seriesSummary(_ all: [MetricSeries], after text: String) -> String {
      guard !all.isEmpty else { return text }
      let lines = all.map { s -> String in
        let finite = zip(s.steps, s.values).filter { $0.1.isFinite }
        let low = finite.min { $0.1 < $1.1 }
        let range = "steps \(s.steps.first ?? 0)-\(s.steps.last ?? 0)"
        let lowest = low.map { "min \(Format.number($0.1)) at \($0.0)" } ?? "min -"
        let last = s.values.last.map(Format.number) ?? "-"
        return "series:  \(s.name) \(s.values.count) points, \(range), \(lowest), last \(last)"
      }
      let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
      return ([body] + lines).joined(separator: "\n") + (text.hasSuffix("\n") ? "\n" : "")
    }

    /// One commit's text (several lines unless --oneline or --format).
    private func render(_ c: Commit, pruned: Bool, refs: [String]) -> String {
      if let format { return LogFormat.expand(format, c, pruned: pruned, refs: refs) }
      let marker = pruned ? " [pruned]" : ""
      let decoration = refs.isEmpty ? "" : " (" + refs.joined(separator: ", ") + ")"
      if oneline || graph {
        return [
          c.id.short + decoration, "step-\(c.step)", Format.metrics(c.metrics),
          "+" + Format.bytes(c.addedBytes), c.message,
        ].filter { !$0.isEmpty }.joined(separator: "  ") + marker
      }
      var out = ["commit \(c.id.hex)\(decoration)\(marker)", "step:    \(c.step)"]
      out.append("date:    \(Format.time(c.time))")
      if !c.metrics.isEmpty { out.append("metrics: \(Format.metrics(c.metrics))") }
      out.append(
        "size:    \(Format.bytes(c.logicalBytes)) logical, \(Format.bytes(c.addedBytes)) added")
      if !c.message.isEmpty { out.append("\n    \(c.message)") }
      return out.joined(separator: "\n") + "\n"
    }
  }
}

/// `log --format` templates.
enum LogFormat {
  /// Expands the placeholders `log --help` lists; an unknown `%x` stays as it is.
  static func expand(_ template: String, _ c: Commit, pruned: Bool, refs: [String]) -> String {
    var out = ""
    var rest = Substring(template)
    let fixed: [(String, () -> String)] = [
      ("step", { "\(c.step)" }), ("H", { c.id.hex }), ("h", { c.id.short }),
      ("T", { c.tree.hex }), ("p", { c.parents.map(\.short).joined(separator: " ") }),
      ("s", { c.message }), ("t", { Format.time(c.time) }),
      ("d", { refs.isEmpty ? "" : " (" + refs.joined(separator: ", ") + ")" }),
      ("D", { refs.joined(separator: ", ") }), ("M", { Format.metrics(c.metrics) }),
      ("L", { "\(c.logicalBytes)" }), ("A", { "\(c.addedBytes)" }),
      ("P", { pruned ? "pruned" : "" }), ("n", { "\n" }), ("%", { "%" }),
    ]
    while let percent = rest.firstIndex(of: "%") {
      out += rest[..<percent]
      rest = rest[rest.index(after: percent)...]
      if rest.hasPrefix("{"), let close = rest.firstIndex(of: "}") {
        let name = String(rest[rest.index(after: rest.startIndex)..<close])
        out += c.metrics[name].map(Format.number) ?? ""
        rest = rest[rest.index(after: close)...]
        continue
      }
      if let (key, value) = fixed.first(where: { rest.hasPrefix($0.0) }) {
        out += value()
        rest = rest.dropFirst(key.count)
      } else {
        out += "%"
      }
    }
    return out + rest
  }
}
