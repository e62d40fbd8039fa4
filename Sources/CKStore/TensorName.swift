/// The naming rule for tensors (docs/FORMAT.md, "Tensor names").
///
/// A name is a path of segments separated by `.` or `/` (`model.dense1.weight`,
/// `optimizer/dense1.weight/adam.m`). Each segment is non-empty; control characters and NUL are
/// refused. The tree stores a name as one key per segment, each key keeping the separator that
/// follows it (`model.`, `dense1.`, `weight`), so the full name is the concatenation of keys.
public enum TensorName {
  /// Checks `name` against the naming rule; the error names the tensor and what is wrong.
  public static func validate(_ name: String) throws {
    func fail(_ why: String) -> StoreError {
      StoreError(.invalidName, "invalid tensor name '\(printable(name))': \(why)")
    }
    if name.isEmpty { throw fail("the name is empty") }
    if name.utf8.count > 4096 { throw fail("longer than 4096 bytes") }
    for scalar in name.unicodeScalars where scalar.value < 0x20 || scalar.value == 0x7F {
      throw fail(
        scalar.value == 0 ? "contains NUL" : "contains control character U+\(hex4(scalar.value))")
    }
    for segment in segments(of: name) {
      if segment == "" {
        let why =
          name.contains("..") || name.contains("/./") || name.hasPrefix("./")
          ? "'.' and '..' segments are not allowed"
          : "empty segment (a name may not start or end with '.' or '/', or repeat them)"
        throw fail(why)
      }
    }
  }

  /// The tree keys of a valid name: every segment but the last keeps its trailing separator.
  static func keys(of name: String) -> [String] {
    var keys: [String] = []
    var current = ""
    for ch in name {
      current.append(ch)
      if ch == "." || ch == "/" {
        keys.append(current)
        current = ""
      }
    }
    keys.append(current)
    return keys
  }

  private static func segments(of name: String) -> [Substring] {
    name.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "." || $0 == "/" })
  }

  static func printable(_ name: String) -> String {
    var out = ""
    for scalar in name.unicodeScalars {
      if scalar.value < 0x20 || scalar.value == 0x7F {
        out += "\\u{\(String(scalar.value, radix: 16))}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  private static func hex4(_ v: UInt32) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
  }
}
