/// "Did you mean …?" for mistyped names: commands, branches, tags, metrics.
public enum Suggestion {
  /// The candidates closest to `typed` by edit distance (insertions, deletions, substitutions and
  /// swaps of neighbours each count 1), best first; only those within a third of the longer
  /// name's length (at least 1, at most 3), so unrelated names are never offered.
  public static func closest(to typed: String, among candidates: [String]) -> [String] {
    let scored = Set(candidates).compactMap { candidate -> (String, Int)? in
      let limit = min(3, max(1, max(typed.count, candidate.count) / 3))
      let d = distance(Array(typed.lowercased()), Array(candidate.lowercased()))
      return d <= limit && candidate != typed ? (candidate, d) : nil
    }
    return scored.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
  }

  /// `; did you mean 'a' or 'b'?` for an error message, or "" when nothing is close.
  public static func hint(for typed: String, among candidates: [String]) -> String {
    let close = closest(to: typed, among: candidates).prefix(3).map { "'\($0)'" }
    guard !close.isEmpty else { return "" }
    return "; did you mean " + close.joined(separator: " or ") + "?"
  }

  /// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a span).
  static func distance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous2 = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
          current[j] = min(current[j], previous2[j - 2] + 1)
        }
      }
      (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[b.count]
  }
}
