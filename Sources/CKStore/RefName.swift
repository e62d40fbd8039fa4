/// The naming rule for branches and tags (a subset of git's `check-ref-format`).
public enum RefName {
  /// Checks a branch or tag name; the error names it and says what is wrong.
  public static func validate(_ name: String, kind: String) throws {
    func fail(_ why: String) -> StoreError {
      StoreError(.invalidName, "invalid \(kind) name '\(TensorName.printable(name))': \(why)")
    }
    if name.isEmpty { throw fail("the name is empty") }
    if name == "HEAD" || name == "@" { throw fail("'\(name)' is reserved") }
    if name.hasPrefix("-") { throw fail("may not start with '-'") }
    if name.hasSuffix(".lock") { throw fail("may not end with '.lock'") }
    if name.contains("..") { throw fail("may not contain '..'") }
    if name.hasPrefix("step-") { throw fail("'step-N' is a revision form") }
    for scalar in name.unicodeScalars {
      if scalar.value < 0x21 || scalar.value == 0x7F {
        throw fail("contains a space or control character")
      }
      if "~^:?*[\\".unicodeScalars.contains(scalar) {
        throw fail("contains '\(scalar)'")
      }
    }
    for segment in name.split(separator: "/", omittingEmptySubsequences: false) {
      if segment.isEmpty { throw fail("empty path segment") }
      if segment.hasPrefix(".") { throw fail("a segment may not start with '.'") }
    }
  }
}
