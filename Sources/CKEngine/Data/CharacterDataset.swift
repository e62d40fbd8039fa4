import Foundation

/// A character-level text dataset: a vocabulary of the distinct characters and fixed-length
/// windows for next-character prediction.
///
/// Window `i` covers characters `[i·stride, i·stride + length]`; its input is the first `length`
/// ids and its target the same span shifted by one.
public struct CharacterDataset: Sendable {
  /// The distinct characters, sorted; a character's id is its index here.
  public let vocabulary: [Character]
  /// The whole text as ids.
  public let ids: [Int32]
  /// The number of input positions per window.
  public let length: Int
  /// The distance between window starts.
  public let stride: Int
  private let index: [Character: Int32]

  /// A dataset over `text` with windows of `length` characters every `stride` (default `length`).
  ///
  /// - Throws: `EngineError.Code.invalidArgument` if the text is shorter than one window.
  public init(text: String, length: Int, stride: Int? = nil) throws {
    let chars = Array(text)
    guard length > 0, chars.count > length else {
      throw EngineError(
        .invalidArgument, "text of \(chars.count) characters is too short for windows of \(length)")
    }
    vocabulary = Array(Set(chars)).sorted()
    var index: [Character: Int32] = [:]
    for (i, c) in vocabulary.enumerated() { index[c] = Int32(i) }
    self.index = index
    ids = chars.map { index[$0]! }
    self.length = length
    self.stride = max(1, stride ?? length)
  }

  /// A dataset from the UTF-8 text file at `path`.
  ///
  /// - Throws: `EngineError.Code.io` if it cannot be read, or as `init(text:length:stride:)`.
  public init(contentsOf path: String, length: Int, stride: Int? = nil) throws {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw EngineError(.io, "cannot read \(path): \(error)")
    }
    try self.init(text: text, length: length, stride: stride)
  }

  /// The number of windows.
  public var windowCount: Int { (ids.count - 1 - length) / stride + 1 }

  /// Ids for `text`; characters outside the vocabulary are an error.
  ///
  /// - Throws: `EngineError.Code.unknownName` naming the first unknown character.
  public func encode(_ text: String) throws -> [Int32] {
    try text.map { c in
      guard let i = index[c] else {
        throw EngineError(.unknownName, "character '\(c)' is not in the vocabulary")
      }
      return i
    }
  }

  /// The text for `ids`.
  public func decode(_ ids: [Int32]) -> String { String(ids.map { vocabulary[Int($0)] }) }

  /// Inputs and targets [windows.count, length] for the given window indices.
  public func batch(_ windows: [Int]) -> (inputs: IntTensor, targets: IntTensor) {
    var x: [Int32] = []
    var y: [Int32] = []
    x.reserveCapacity(windows.count * length)
    y.reserveCapacity(windows.count * length)
    for w in windows {
      let start = w * stride
      x += ids[start..<(start + length)]
      y += ids[(start + 1)...(start + length)]
    }
    return (
      try! IntTensor(shape: [windows.count, length], scalars: x),
      try! IntTensor(shape: [windows.count, length], scalars: y)
    )
  }

  /// The entropy (nats per character) of the character frequencies: the loss of the best model
  /// that ignores context.
  public var unigramEntropy: Double {
    var counts = [Int](repeating: 0, count: vocabulary.count)
    for i in ids { counts[Int(i)] += 1 }
    let n = Double(ids.count)
    return counts.filter { $0 > 0 }.reduce(0.0) {
      $0 - Double($1) / n * Foundation.log(Double($1) / n)
    }
  }
}
