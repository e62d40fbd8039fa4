import Foundation

/// A parsed JSON document, keeping what JSONSerialization blurs (booleans versus numbers).
/// Shared by the CLI and remote test targets, which validate `--json` output with it.
public enum JSONValue: Decodable, Equatable, Sendable {
  /// `null`.
  case null
  /// `true` or `false`.
  case bool(Bool)
  /// Any number (integers included).
  case number(Double)
  /// A string.
  case string(String)
  /// An array.
  case array([JSONValue])
  /// An object.
  case object([String: JSONValue])

  /// Decodes any JSON value.
  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let n = try? c.decode(Double.self) {
      self = .number(n)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else if let a = try? c.decode([JSONValue].self) {
      self = .array(a)
    } else {
      self = .object(try c.decode([String: JSONValue].self))
    }
  }

  /// Parses one JSON document.
  public static func parse(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
  }

  /// The member `key` of an object; nil for a missing key or a value that is no object.
  public subscript(key: String) -> JSONValue? {
    if case .object(let o) = self { return o[key] }
    return nil
  }

  /// The elements, if this is an array.
  public var array: [JSONValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  /// The text, if this is a string.
  public var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The value, if this is a number.
  public var number: Double? {
    if case .number(let n) = self { return n }
    return nil
  }
}

/// The subset of JSON Schema 2020-12 that docs/json-schema/ uses (docs/JSON.md, "Schema
/// dialect"); a keyword outside it is reported as an error, so a schema never claims more than
/// this checks.
public struct JSONSchemaValidator: Sendable {
  /// docs/json-schema, found from this file's path (Tests/CKTestSupport/ is two levels below
  /// the package root), so every test target that links this one finds the same folder.
  public static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
      "docs/json-schema")

  private static let keywords: Set<String> = [
    "$schema", "$id", "title", "description", "$defs", "type", "properties", "required",
    "additionalProperties", "items", "enum", "const", "minimum", "pattern", "$ref", "oneOf",
  ]

  private var documents: [String: JSONValue] = [:]

  /// Loads every schema file of the folder.
  public init() throws {
    for name in try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
    where name.hasSuffix(".json") {
      let text = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
      documents[name] = try JSONValue.parse(text)
    }
  }

  /// The schema files loaded.
  public var names: [String] { documents.keys.sorted() }

  /// Keywords outside the supported subset, anywhere in any schema file, as `file: keyword`.
  public func unsupportedKeywords() -> [String] {
    var found: [String] = []
    func walk(_ schema: JSONValue, _ file: String) {
      guard case .object(let s) = schema else { return }
      for key in s.keys where !Self.keywords.contains(key) { found.append("\(file): \(key)") }
      for group in ["properties", "$defs"] {
        if case .object(let members)? = s[group] { for m in members.values { walk(m, file) } }
      }
      for key in ["items", "additionalProperties"] { if let sub = s[key] { walk(sub, file) } }
      for choice in s["oneOf"]?.array ?? [] { walk(choice, file) }
    }
    for (name, document) in documents { walk(document, name) }
    return found.sorted()
  }

  /// Problems of `value` against schema file `name` (empty when it conforms), each naming the
  /// JSON path at fault.
  public func validate(_ value: JSONValue, against name: String) -> [String] {
    guard let schema = documents[name] else { return ["no schema file \(name)"] }
    var errors: [String] = []
    check(value, schema, file: name, path: "$", &errors)
    return errors
  }

  private func check(
    _ value: JSONValue, _ schema: JSONValue, file: String, path: String, _ errors: inout [String]
  ) {
    guard case .object(let s) = schema else {
      errors.append("\(file): schema at \(path) is not an object")
      return
    }
    for key in s.keys where !Self.keywords.contains(key) {
      errors.append("\(file): unsupported keyword '\(key)' (at \(path))")
    }
    if let ref = s["$ref"]?.string {
      let parts = ref.split(separator: "#", maxSplits: 1).map(String.init)
      let target = ref.hasPrefix("#") ? file : parts[0]
      let pointer = ref.hasPrefix("#") ? String(ref.dropFirst()) : (parts.count > 1 ? parts[1] : "")
      guard var resolved = documents[target] else {
        errors.append("\(file): $ref \(ref) names no schema file")
        return
      }
      for segment in pointer.split(separator: "/") {
        guard let next = resolved[String(segment)] else {
          errors.append("\(file): $ref \(ref) does not resolve")
          return
        }
        resolved = next
      }
      check(value, resolved, file: target, path: path, &errors)
    }
    if let types = s["type"] {
      let allowed = types.array?.compactMap(\.string) ?? [types.string ?? ""]
      if !allowed.contains(where: { Self.matches(value, $0) }) {
        errors.append(
          "\(path): expected \(allowed.joined(separator: "|")), got \(Self.kind(value))")
        return
      }
    }
    if let options = s["enum"]?.array, !options.contains(value) {
      errors.append("\(path): \(value) is not one of the allowed values")
    }
    if let constant = s["const"], constant != value {
      errors.append("\(path): expected \(constant)")
    }
    if let minimum = s["minimum"]?.number, let n = value.number, n < minimum {
      errors.append("\(path): \(n) is below \(minimum)")
    }
    if let pattern = s["pattern"]?.string, let text = value.string,
      text.range(of: pattern, options: .regularExpression) == nil
    {
      errors.append("\(path): '\(text)' does not match \(pattern)")
    }
    if let choices = s["oneOf"]?.array {
      let passing = choices.filter { choice in
        var inner: [String] = []
        check(value, choice, file: file, path: path, &inner)
        return inner.isEmpty
      }
      if passing.count != 1 {
        errors.append("\(path): matches \(passing.count) of the oneOf schemas, not exactly 1")
      }
    }
    if case .object(let o) = value {
      let properties =
        s["properties"].flatMap { p -> [String: JSONValue]? in
          if case .object(let m) = p { return m }
          return nil
        } ?? [:]
      for key in s["required"]?.array?.compactMap(\.string) ?? [] where o[key] == nil {
        errors.append("\(path): missing required field '\(key)'")
      }
      for (key, member) in o {
        if let sub = properties[key] {
          check(member, sub, file: file, path: path + "." + key, &errors)
        } else if let extra = s["additionalProperties"] {
          if extra == .bool(false) {
            errors.append("\(path): field '\(key)' is not in the schema")
          } else if case .object = extra {
            check(member, extra, file: file, path: path + "." + key, &errors)
          }
        }
      }
    }
    if case .array(let items) = value, let itemSchema = s["items"] {
      for (i, item) in items.enumerated() {
        check(item, itemSchema, file: file, path: path + "[\(i)]", &errors)
      }
    }
  }

  private static func matches(_ value: JSONValue, _ type: String) -> Bool {
    switch (type, value) {
    case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string),
      ("array", .array), ("object", .object):
      return true
    case ("integer", .number(let n)): return n.rounded() == n
    default: return false
    }
  }

  private static func kind(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool: "boolean"
    case .number: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
  }
}
