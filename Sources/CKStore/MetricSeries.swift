import Foundation

/// Metrics logged between two saves (docs/FORMAT.md, "Metric series"): the commit that follows
/// them holds, for each metric, a float64 tensor `ckstore/metrics/<name>` of shape [n, 2] whose
/// rows are (step, value) in logging order. They are ordinary tensors — chunked, deduplicated and
/// verified like any other — but not model state: export leaves them out and `CheckpointManager`
/// restores around them.
public struct MetricSeries: Equatable, Sendable {
  /// Tensor names under this prefix are reserved for ckstore's own records.
  public static let reservedPrefix = "ckstore/"
  /// The prefix of metric series tensors.
  public static let prefix = "ckstore/metrics/"

  /// The metric's name.
  public var name: String
  /// The steps logged, in order.
  public var steps: [Int64]
  /// The values, one per step (NaN and ±inf are kept as they were logged).
  public var values: [Double]

  /// A series; `steps` and `values` must have the same length.
  public init(name: String, steps: [Int64], values: [Double]) {
    self.name = name
    self.steps = steps
    self.values = values
  }

  /// Whether a tensor name is one of ckstore's own records rather than model state.
  public static func isReserved(_ tensorName: String) -> Bool {
    tensorName.hasPrefix(reservedPrefix)
  }

  /// Checks that `metric` gives a valid tensor name; the error names it.
  public static func validate(metric: String) throws {
    do {
      try TensorName.validate(prefix + metric)
    } catch let error as StoreError {
      throw StoreError(.invalidName, "metric '\(metric)' cannot be stored: \(error.message)")
    }
  }

  /// The series as its tensor.
  public func tensor() throws -> TensorData {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(steps.count * 16)
    for (step, value) in zip(steps, values) {
      withUnsafeBytes(of: Double(step).bitPattern.littleEndian) { bytes += $0 }
      withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }
    return try TensorData(
      name: Self.prefix + name, dtype: .float64, shape: [steps.count, 2], bytes: bytes)
  }

  /// Decodes a series tensor; throws `corruptObject` naming the tensor if its layout is wrong.
  static func decode(_ info: TensorInfo, bytes: [UInt8]) throws -> MetricSeries {
    guard info.dtype == .float64, info.shape.count == 2, info.shape[1] == 2 else {
      throw StoreError(
        .corruptObject,
        "tensor '\(info.name)': a metric series is float64 [n, 2], not \(info.dtype.name) "
          + "\(info.shape)")
    }
    var steps: [Int64] = []
    var values: [Double] = []
    bytes.withUnsafeBytes { raw in
      for row in 0..<info.shape[0] {
        steps.append(Int64(TensorValues.value(raw, .float64, row * 2)))
        values.append(TensorValues.value(raw, .float64, row * 2 + 1))
      }
    }
    return MetricSeries(
      name: String(info.name.dropFirst(prefix.count)), steps: steps, values: values)
  }
}

extension Store {
  /// The metric series a commit holds, by metric name; empty for commits (and stores) that have
  /// none, and for pruned commits, whose data is gone.
  public func metricSeries(in commit: Commit) throws -> [MetricSeries] {
    if isPruned(commit.id) { return [] }
    // Only the trees on the path `ckstore/` → `metrics/` are read, not the model's.
    var node = commit.tree
    for key in ["ckstore/", "metrics/"] {
      guard case .tree(let sub)? = try tree(node).entries.first(where: { $0.key == key })?.entry
      else { return [] }
      node = sub
    }
    var entries: [TensorInfo] = []
    try walk(node, prefix: MetricSeries.prefix) { entries.append($0) }
    return try zip(entries, read(entries)).map { try MetricSeries.decode($0, bytes: $1) }
  }
}
