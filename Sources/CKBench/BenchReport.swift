import Foundation

/// Figures with the baseline each is compared against, printed as a table or JSON.
struct BenchReport: Encodable {
  /// One measured figure.
  struct Row: Encodable {
    var section: String
    var name: String
    var value: Double
    var unit: String
    var baseline: String?
    var baselineValue: Double?
    /// value / baselineValue.
    var ratio: Double? {
      guard let b = baselineValue, b != 0 else { return nil }
      return value / b
    }

    enum CodingKeys: String, CodingKey {
      case section, name, value, unit, baseline, baselineValue, ratio
    }

    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(section, forKey: .section)
      try c.encode(name, forKey: .name)
      try c.encode(value, forKey: .value)
      try c.encode(unit, forKey: .unit)
      try c.encodeIfPresent(baseline, forKey: .baseline)
      try c.encodeIfPresent(baselineValue, forKey: .baselineValue)
      try c.encodeIfPresent(ratio, forKey: .ratio)
    }
  }

  var machine: String
  var rows: [Row] = []

  mutating func add(
    _ section: String, _ name: String, _ value: Double, _ unit: String,
    baseline: String? = nil, _ baselineValue: Double? = nil
  ) {
    rows.append(
      Row(
        section: section, name: name, value: value, unit: unit, baseline: baseline,
        baselineValue: baselineValue))
  }

  func printTable() {
    print("machine: \(machine)")
    var section = ""
    for r in rows {
      if r.section != section {
        section = r.section
        print("\n## \(section)")
      }
      var line = String(
        format: "%-44@ %10.3f %-6@", r.name as NSString, r.value, r.unit as NSString)
      if let b = r.baseline, let v = r.baselineValue {
        line += String(format: "  vs %@ %.3f", b, v)
        if let ratio = r.ratio { line += String(format: "  (×%.2f)", ratio) }
      }
      print(line)
    }
  }

  func printJSON() throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(self), as: UTF8.self))
  }

  /// "AMD EPYC, 2 cores" from /proc/cpuinfo.
  static func machine() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model =
      info.split(separator: "\n").first { $0.hasPrefix("model name") }.map {
        $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
          ?? ""
      } ?? "unknown CPU"
    return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores"
  }
}
