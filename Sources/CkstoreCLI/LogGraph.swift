import CKStore

/// The ASCII history graph of `log --graph`, drawn like git's: one column ("lane") per line of
/// history in flight, `*` for the commit, `|` for lanes passing by, `/` where a lane joins the
/// one to its left, `\` where a merge opens a lane for its second parent.
enum LogGraph {
  /// Prefixes each commit's text (`lines[i]` for `commits[i]`, which must list children before
  /// parents) with its graph cells; continuation lines get the lanes alone. Parents outside
  /// `commits` end their lane.
  static func draw(_ commits: [Commit], _ lines: [String]) -> [String] {
    let shown = Set(commits.map(\.id))
    var lanes: [ObjectID] = []
    var out: [String] = []
    func bars(_ count: Int) -> String { String(repeating: "| ", count: count) }
    for (c, text) in zip(commits, lines) {
      var column = lanes.firstIndex(of: c.id) ?? lanes.count
      if column == lanes.count { lanes.append(c.id) }
      // Other lanes waiting for this commit join it: one `/` line per lane, right to left.
      while let extra = lanes.indices.last(where: { $0 != column && lanes[$0] == c.id }) {
        out.append(joinLine(lanes.count, removing: extra))
        lanes.remove(at: extra)
        if extra < column { column -= 1 }
      }
      let textLines = text.split(separator: "\n", omittingEmptySubsequences: false)
      let cells = (0..<lanes.count).map { $0 == column ? "* " : "| " }.joined()
      out.append(cells + textLines[0])
      let parents = c.parents.filter { shown.contains($0) }
      let after = lanes.count - (parents.isEmpty ? 1 : 0)
      for more in textLines.dropFirst() {
        out.append((bars(after) + more).trimmingTrailingSpaces())
      }
      if let first = parents.first {
        lanes[column] = first
        for p in parents.dropFirst() where !lanes.contains(p) {
          lanes.append(p)
          out.append(bars(lanes.count - 1).dropLast() + "\\")
        }
      } else {
        lanes.remove(at: column)
        // Lanes right of a root shift left.
        if column < lanes.count { out.append(joinLine(lanes.count + 1, removing: column)) }
      }
    }
    return out
  }

  /// The line where lane `k` of `count` ends and the lanes right of it move one left.
  private static func joinLine(_ count: Int, removing k: Int) -> String {
    var chars = [Character](repeating: " ", count: 2 * count)
    for j in 0..<count where j < k { chars[2 * j] = "|" }
    for j in k..<count where j > 0 { chars[2 * j - 1] = "/" }
    return String(chars).trimmingTrailingSpaces()
  }
}

extension StringProtocol {
  fileprivate func trimmingTrailingSpaces() -> String {
    var s = String(self)
    while s.last == " " { s.removeLast() }
    return s
  }
}
