import CKStore
import Foundation

extension CheckpointManager {
  /// Records metrics at a step between saves (every step, or every few); the next save stores the
  /// series logged since the previous save in its commit (`ckstore/metrics/<name>`, see
  /// `MetricSeries`), so they travel with that checkpoint. Cheap: it appends to a buffer.
  ///
  /// Throws `StoreError.invalidName` if a metric name cannot be a tensor name segment (empty, or
  /// starting or ending with `.` or `/`); nothing is recorded then.
  public func log(step: Int64, metrics: [String: Double]) throws {
    for name in metrics.keys { try MetricSeries.validate(metric: name) }
    metricLog.append(step: step, metrics: metrics)
  }
}

/// The buffer behind `CheckpointManager.log`: per metric, (step, value) pairs in logging order.
/// Locked, since a background save takes it while the training loop keeps logging.
final class MetricLog: @unchecked Sendable {
  private let lock = NSLock()
  private var series: [String: MetricSeries] = [:]

  func append(step: Int64, metrics: [String: Double]) {
    lock.withLock {
      for (name, value) in metrics {
        series[name, default: MetricSeries(name: name, steps: [], values: [])].steps.append(step)
        series[name]!.values.append(value)
      }
    }
  }

  /// Everything logged so far, sorted by metric name; the buffer is left empty.
  func take() -> [MetricSeries] {
    lock.withLock {
      defer { series = [:] }
      return series.values.sorted { $0.name < $1.name }
    }
  }

  /// Returns series a failed save took, ahead of anything logged since.
  func putBack(_ taken: [MetricSeries]) {
    lock.withLock {
      for old in taken {
        let newer = series[old.name]
        series[old.name] = MetricSeries(
          name: old.name, steps: old.steps + (newer?.steps ?? []),
          values: old.values + (newer?.values ?? []))
      }
    }
  }
}
