import Foundation

/// The UCI handwritten digits (1797 8×8 images, labels 0–9), bundled with the engine.
///
/// Features are the 64 pixel counts (0…16) scaled to [0, 1]; see `Resources/DIGITS-LICENSE.md`
/// for the source and licence.
public struct DigitsDataset: Sendable {
  /// [count, 64] features in [0, 1].
  public let features: Tensor
  /// [count] labels 0…9.
  public let labels: IntTensor

  /// The number of examples.
  public var count: Int { labels.count }

  /// A dataset from features [n, 64] and labels [n].
  public init(features: Tensor, labels: IntTensor) {
    self.features = features
    self.labels = labels
  }

  /// Loads the bundled CSV, or the CSV at `path` (rows of 64 integers 0…16 then the label).
  ///
  /// - Throws: `EngineError` `.io` if the file cannot be read, `.dataFormat` naming the line of a
  ///   malformed row.
  public static func load(path: String? = nil) throws -> DigitsDataset {
    let url: URL
    if let path {
      url = URL(fileURLWithPath: path)
    } else if let bundled = Bundle.module.url(forResource: "digits", withExtension: "csv") {
      url = bundled
    } else {
      throw EngineError(.io, "the bundled digits.csv is missing from the CKEngine resources")
    }
    let text: String
    do { text = try String(contentsOf: url, encoding: .utf8) } catch {
      throw EngineError(.io, "cannot read \(url.path): \(error)")
    }
    var pixels: [Float] = []
    var labels: [Int32] = []
    for (lineNumber, line) in text.split(whereSeparator: \.isNewline).enumerated() {
      let fields = line.split(separator: ",")
      guard fields.count == 65 else {
        throw EngineError(
          .dataFormat,
          "\(url.lastPathComponent) line \(lineNumber + 1): \(fields.count) fields, expected 65")
      }
      for (i, f) in fields.enumerated() {
        guard let v = Int(f) ?? Int(f.trimmingCharacters(in: .whitespaces)),
          i < 64 ? (0...16).contains(v) : (0...9).contains(v)
        else {
          throw EngineError(
            .dataFormat,
            "\(url.lastPathComponent) line \(lineNumber + 1): bad field \(i + 1) '\(f)'")
        }
        if i < 64 { pixels.append(Float(v) / 16) } else { labels.append(Int32(v)) }
      }
    }
    return DigitsDataset(
      features: try Tensor(shape: [labels.count, 64], scalars: pixels), labels: IntTensor(labels))
  }

  /// A seeded split into (train, test) with `testFraction` of the examples (rounded) in test.
  public func split(seed: UInt64, testFraction: Double = 0.2) -> (
    train: DigitsDataset, test: DigitsDataset
  ) {
    var order = Array(0..<count)
    RandomGenerator(seed: seed).shuffle(&order)
    let nTest = Int((Double(count) * testFraction).rounded())
    return (subset(Array(order[nTest...])), subset(Array(order[..<nTest])))
  }

  /// The examples at `indices`, in that order.
  public func subset(_ indices: [Int]) -> DigitsDataset {
    let (x, y) = batch(indices)
    return DigitsDataset(features: x, labels: y)
  }

  /// Features [indices.count, 64] and labels [indices.count] for a batch.
  public func batch(_ indices: [Int]) -> (features: Tensor, labels: IntTensor) {
    let src = features.storage.base
    let lab = labels.storage.base
    let width = features.shape[1]
    let x = Tensor(shape: [indices.count, width]) { p in
      for (r, i) in indices.enumerated() {
        (p + r * width).update(from: src + i * width, count: width)
      }
    }
    let y = IntTensor(shape: [indices.count]) { p in
      for (r, i) in indices.enumerated() { p[r] = lab[i] }
    }
    return (x, y)
  }
}
