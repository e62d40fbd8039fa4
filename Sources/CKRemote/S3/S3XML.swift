import Foundation

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// An element of an S3 XML answer (ListBucketResult, Error, InitiateMultipartUploadResult…):
/// its name, text and children. Namespaces are ignored, as S3 answers use one default namespace.
struct S3XMLElement {
  var name: String
  var text = ""
  var children: [S3XMLElement] = []

  /// The first child named `name`.
  func child(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }
  /// Every child named `name`.
  func all(_ name: String) -> [S3XMLElement] { children.filter { $0.name == name } }
  /// The text of the first child named `name`.
  func text(_ name: String) -> String? { child(name)?.text }

  /// The document's root element, or nil when `data` is not well-formed XML.
  static func parse(_ data: Data) -> S3XMLElement? {
    let parser = XMLParser(data: data)
    let builder = Builder()
    parser.delegate = builder
    guard parser.parse() else { return nil }
    return builder.root
  }

  private final class Builder: NSObject, XMLParserDelegate {
    var stack: [S3XMLElement] = []
    var root: S3XMLElement?

    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
      qualifiedName: String?, attributes: [String: String] = [:]
    ) {
      stack.append(S3XMLElement(name: name))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      if !stack.isEmpty { stack[stack.count - 1].text += string }
    }

    func parser(
      _ parser: XMLParser, didEndElement name: String, namespaceURI: String?,
      qualifiedName: String?
    ) {
      let element = stack.removeLast()
      if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
    }
  }
}

/// Dates as S3 writes them: ISO 8601 in listings, RFC 1123 in `Last-Modified` headers.
enum S3Dates {
  /// `2009-10-12T17:50:30.000Z` (fractional seconds optional).
  static func iso8601(_ s: String) -> Date? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let d = f.date(from: s) { return d }
    f.formatOptions = [.withInternetDateTime]
    return f.date(from: s)
  }

  /// `Wed, 12 Oct 2009 17:50:00 GMT`.
  static func rfc1123(_ s: String) -> Date? {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    return f.date(from: s)
  }
}
