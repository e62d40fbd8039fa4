import Foundation

/// A `--keep-best METRIC[:min|max]=N` rule: keep the N commits of each governed branch with the
/// best value of a metric (Lightning's `save_top_k`, Orbax's `best_fn`).
public struct KeepBest: Equatable, Sendable {
  /// The metric compared (a key of `Commit.metrics`).
  public var metric: String
  /// Whether larger is better (accuracy); false means smaller is better (loss).
  public var maximize: Bool
  /// How many commits the rule keeps per branch.
  public var count: Int

  /// A rule; `count` must be at least 1 (`parse` checks it).
  public init(metric: String, maximize: Bool = false, count: Int) {
    self.metric = metric
    self.maximize = maximize
    self.count = count
  }

  /// Parses `METRIC[:min|max]=N` (min is the default). Throws `invalidArgument` naming the text.
  public static func parse(_ text: String) throws -> KeepBest {
    let fail = { (why: String) in
      StoreError(.invalidArgument, "keep-best '\(text)': \(why) (expected METRIC[:min|max]=N)")
    }
    guard let equals = text.lastIndex(of: "=") else { throw fail("no '=N'") }
    guard let count = Int(text[text.index(after: equals)...]), count >= 1 else {
      throw fail("N must be a whole number of at least 1")
    }
    var metric = String(text[..<equals])
    var maximize = false
    if metric.hasSuffix(":max") || metric.hasSuffix(":min") {
      maximize = metric.hasSuffix(":max")
      metric.removeLast(4)
    }
    guard !metric.isEmpty else { throw fail("no metric name") }
    return KeepBest(metric: metric, maximize: maximize, count: count)
  }

  /// The ids of the `count` best commits among `commits` that have a finite value of the metric;
  /// of equal values the higher step (then the newer commit) wins.
  func best(of commits: [Commit]) -> [ObjectID] {
    let scored = commits.compactMap { c in
      c.metrics[metric].flatMap { $0.isFinite ? (c, $0) : nil }
    }
    let ranked = scored.sorted { a, b in
      if a.1 != b.1 { return maximize ? a.1 > b.1 : a.1 < b.1 }
      if a.0.step != b.0.step { return a.0.step > b.0.step }
      return a.0.time > b.0.time
    }
    return ranked.prefix(count).map(\.0.id)
  }
}

/// Durations for `--keep-within`: restic's style, a sequence of whole numbers with units.
public enum RetentionDuration {
  private static let units: [Character: Double] = ["s": 1, "h": 3600, "d": 86400, "w": 604_800]

  /// Parses `36h`, `7d`, `2w`, `1w3d12h` or `90s` into seconds. Throws `invalidArgument`.
  public static func parse(_ text: String) throws -> TimeInterval {
    let fail = StoreError(
      .invalidArgument,
      "duration '\(text)': expected whole numbers with units s, h, d or w (such as 36h, 7d, 2w)")
    var total = 0.0
    var digits = ""
    for ch in text {
      if ch.isASCII && ch.isNumber {
        digits.append(ch)
      } else if let unit = units[ch], let n = Double(digits) {
        total += n * unit
        digits = ""
      } else {
        throw fail
      }
    }
    guard digits.isEmpty, !text.isEmpty else { throw fail }
    return total
  }
}
