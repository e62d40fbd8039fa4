/// The INI dialect of `~/.aws/credentials` and `~/.aws/config`: `[section]` headers, `key = value`
/// lines, `#`/`;` comments, and indented sub-settings under a key with an empty value
/// (`s3 =` then `  endpoint_url = …`), stored as `s3.endpoint_url`.
struct AWSConfigFile {
  /// Settings by section name exactly as written in the brackets (`default`, `profile dev`).
  var sections: [String: [String: String]] = [:]

  /// Parses `text`; lines that fit no rule are ignored, as the AWS CLI ignores them.
  init(parsing text: String) {
    var section: String?
    var parent: String?
    for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
      let indented = raw.first == " " || raw.first == "\t"
      let line = raw.trimmingCharacters(in: " \t\r")
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
      if line.hasPrefix("["), line.hasSuffix("]") {
        section = line.dropFirst().dropLast().trimmingCharacters(in: " \t")
        parent = nil
        if sections[section!] == nil { sections[section!] = [:] }
        continue
      }
      guard let name = section, let eq = line.firstIndex(of: "=") else { continue }
      let key = line[..<eq].trimmingCharacters(in: " \t").lowercased()
      let value = line[line.index(after: eq)...].trimmingCharacters(in: " \t")
      if indented, let parent {
        sections[name]![parent + "." + key] = value
      } else {
        sections[name]![key] = value
        parent = value.isEmpty ? key : nil
      }
    }
  }
}

extension StringProtocol {
  fileprivate func trimmingCharacters(in set: String) -> String {
    let chars = Set(set)
    var s = Substring(self)
    while let f = s.first, chars.contains(f) { s = s.dropFirst() }
    while let l = s.last, chars.contains(l) { s = s.dropLast() }
    return String(s)
  }
}
