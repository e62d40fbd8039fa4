/// Shuffled mini-batches of indices over a dataset of `count` examples, with a saveable position.
///
/// Each epoch visits every index once in an order drawn from a generator seeded by
/// (`seed`, epoch), so the order of any epoch can be recomputed from the position alone: restoring
/// `position` into a fresh iterator makes `next()` return exactly the batch the saved one would
/// have returned.
public final class MinibatchIterator {
  /// Where an iterator is: the epoch, the offset of the next batch in that epoch's order, and the
  /// seed that orders every epoch.
  public struct Position: Codable, Equatable, Sendable {
    /// The current epoch (0-based).
    public var epoch: Int
    /// The offset in this epoch's permutation of the next batch's first example.
    public var index: Int
    /// The seed from which every epoch's permutation is derived.
    public var seed: UInt64

    /// A position.
    public init(epoch: Int, index: Int, seed: UInt64) {
      self.epoch = epoch
      self.index = index
      self.seed = seed
    }
  }

  /// The number of examples.
  public let count: Int
  /// The number of examples per batch (the last batch of an epoch may be smaller unless
  /// `dropLast`).
  public let batchSize: Int
  /// Whether an incomplete final batch is skipped.
  public let dropLast: Bool
  private var current: Position
  private var order: [Int] = []
  private var orderEpoch = -1

  /// An iterator over `count` examples.
  ///
  /// - Throws: `EngineError.Code.invalidArgument` if `count` or `batchSize` is not positive.
  public init(count: Int, batchSize: Int, seed: UInt64, dropLast: Bool = false) throws {
    guard count > 0, batchSize > 0 else {
      throw EngineError(
        .invalidArgument, "need count > 0 and batchSize > 0, got \(count), \(batchSize)")
    }
    self.count = count
    self.batchSize = batchSize
    self.dropLast = dropLast
    current = Position(epoch: 0, index: 0, seed: seed)
  }

  /// The current position; assigning it moves the iterator.
  public var position: Position {
    get { current }
    set {
      precondition(
        newValue.index >= 0 && newValue.index <= count && newValue.epoch >= 0,
        "invalid position \(newValue)")
      current = newValue
      orderEpoch = -1  // the cached order may belong to another seed
    }
  }

  /// Moves to a saved position, checking it fits this dataset.
  ///
  /// - Throws: `EngineError.Code.invalidArgument` if the index is outside 0...count.
  public func restore(_ position: Position) throws {
    guard position.index >= 0, position.index <= count, position.epoch >= 0 else {
      throw EngineError(.invalidArgument, "position \(position) does not fit \(count) examples")
    }
    current = position
    orderEpoch = -1  // the cached order may belong to another seed
  }

  /// The current epoch.
  public var epoch: Int { current.epoch }

  /// The number of batches per epoch.
  public var batchesPerEpoch: Int {
    dropLast ? count / batchSize : (count + batchSize - 1) / batchSize
  }

  /// The permutation of epoch `e`.
  public func permutation(epoch e: Int) -> [Int] {
    let gen = RandomGenerator(seed: current.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(e + 1))
    var p = Array(0..<count)
    gen.shuffle(&p)
    return p
  }

  /// The indices of the next batch, moving to the next epoch when this one is exhausted.
  public func next() -> [Int] {
    let remaining = count - current.index
    if remaining <= 0 || (dropLast && remaining < batchSize) {
      current.epoch += 1
      current.index = 0
    }
    if orderEpoch != current.epoch {
      order = permutation(epoch: current.epoch)
      orderEpoch = current.epoch
    }
    let end = min(count, current.index + batchSize)
    let batch = Array(order[current.index..<end])
    current.index = end
    return batch
  }
}
