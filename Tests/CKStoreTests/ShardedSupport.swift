import CKStore
import Foundation

/// A global tensor cut into row slices for N parts, as a row-sharded job saves it.
struct RowSharded {
  let name: String
  let shape: [Int]
  let bytes: [UInt8]
  /// Row ranges, one per part.
  let rows: [Range<Int>]

  var rowBytes: Int { shape.dropFirst().reduce(4, *) }

  init(name: String, shape: [Int], seed: UInt64, rows: [Range<Int>]) {
    var rng = TestRandom(state: seed)
    self.name = name
    self.shape = shape
    self.bytes = rng.bytes(shape.reduce(4, *))
    self.rows = rows
  }

  /// Part `i`'s source (its rows) and placement.
  func part(_ i: Int) throws -> (TensorSource, SlicePlacement) {
    let r = rows[i]
    let slice = Array(bytes[(r.lowerBound * rowBytes)..<(r.upperBound * rowBytes)])
    let data = try TensorData(
      name: name, dtype: .float32, shape: [r.count] + shape.dropFirst(), bytes: slice)
    return (
      TensorSource(data),
      SlicePlacement(globalShape: shape, offset: [r.lowerBound] + shape.dropFirst().map { _ in 0 })
    )
  }
}

/// Splits `count` rows into `ranks` contiguous ranges as evenly as possible (the first ranks get
/// one more when it does not divide).
func evenRows(_ count: Int, _ ranks: Int) -> [Range<Int>] {
  (0..<ranks).map { r in
    let lo = r * count / ranks
    return lo..<((r + 1) * count / ranks)
  }
}
