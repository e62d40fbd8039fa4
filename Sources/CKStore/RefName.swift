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
    // `REF@{N}` names a reflog entry.
    if name.contains("@{") { throw fail("may not contain '@{'") }
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
      if segment.hasSuffix(".lock") { throw fail("a segment may not end with '.lock'") }
      if segment.utf8.count > maxSegmentBytes {
        throw fail(
          "a segment is \(segment.utf8.count) bytes long; at most \(maxSegmentBytes) are allowed")
      }
    }
    if lockFileName(name).utf8.count > maxLockNameBytes {
      throw fail(
        "the name is too long: \(name.utf8.count) bytes, where each '/' and '%' counts 3; at most "
          + "\(maxLockNameBytes) are allowed")
    }
  }

  /// The longest segment: a file name is at most 255 bytes, and `NAME.lock` must fit too.
  public static let maxSegmentBytes = 255 - ".lock".utf8.count

  /// The longest branch writer lock name (`lockFileName`), one file name under `locks/heads/`.
  public static let maxLockNameBytes = 255

  /// The branch writer lock's file name: the branch with `%` escaped as `%25` and `/` as `%2F`,
  /// so distinct branches never share a lock (`a/b` is `a%2Fb`, `a%2Fb` is `a%252Fb`).
  static func lockFileName(_ branch: String) -> String {
    branch.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F")
  }
}
