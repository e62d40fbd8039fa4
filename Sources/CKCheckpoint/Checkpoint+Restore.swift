import CKEngine
import CKStore

/// How strictly a restore must match the tracked objects.
public struct RestoreOptions: Sendable, Equatable {
  /// Whether mismatches are reported instead of thrown.
  public var partial: Bool
  /// For a partial restore: only these tracked names (nil: all of them).
  public var only: Set<String>?

  /// Every saved tensor consumed and every variable matched, or one error listing all problems.
  public static let strict = RestoreOptions(partial: false, only: nil)

  /// Restores what matches (optionally only some tracked objects) and reports the rest.
  public static func partial(only: Set<String>? = nil) -> RestoreOptions {
    RestoreOptions(partial: true, only: only)
  }
}

/// What a restore did.
public struct RestoreReport: Sendable, Equatable {
  /// Saved tensors that were loaded.
  public var restored: [String]
  /// Saved tensors that were not loaded (untracked, not selected, or mismatched).
  public var skipped: [String]
  /// Tracked variables the checkpoint does not hold (left as they were).
  public var missing: [String]
  /// Names whose saved shape or dtype differs from the variable's.
  public var mismatched: [String]
}

extension Checkpoint {
  /// Loads saved tensors into the tracked objects.
  ///
  /// Strict (the default): every saved tensor must be consumed and every tracked variable found
  /// with the right dtype and shape; otherwise nothing changes and one `CheckpointError` lists
  /// every missing, unexpected and mismatched name. Partial: loads what matches and reports the rest.
  @discardableResult
  public func restore(from saved: [TensorData], options: RestoreOptions = .strict) throws
    -> RestoreReport
  {
    var plan = RestorePlan(saved: saved)
    plan.expect("checkpoint/step", .int64, []) { [self] t in
      step = TensorBridge.int64s(t)[0]
    }
    for name in plan.names(withPrefix: "scalars/") {
      plan.expect(name, .float64, []) { [self] t in
        scalars[String(name.dropFirst("scalars/".count))] = TensorBridge.float64(t)
      }
    }
    for (name, object) in tracked where options.only?.contains(name) ?? true {
      plan.add(name, object)
    }
    let report = plan.report()
    if !options.partial && !(report.missing.isEmpty && report.skipped.isEmpty) {
      let unexpected = report.skipped.filter { s in
        !report.mismatched.contains { $0.hasPrefix(s + ":") }
      }
      throw CheckpointError(
        .mismatch,
        "the checkpoint does not match the tracked objects (\(report.missing.count) missing, "
          + "\(unexpected.count) unexpected, \(report.mismatched.count) mismatched)",
        missing: report.missing, unexpected: unexpected, mismatched: report.mismatched)
    }
    try plan.apply()
    return report
  }
}

/// The matching of saved tensors to tracked variables, applied only once all of it is known.
struct RestorePlan {
  private let saved: [String: TensorData]
  private var consumed = Set<String>()
  private var missing: [String] = []
  private var mismatched: [String] = []
  private var loaders: [() throws -> Void] = []
  private var early: [() throws -> Void] = []

  init(saved: [TensorData]) {
    self.saved = Dictionary(saved.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
  }

  func names(withPrefix prefix: String) -> [String] {
    saved.keys.filter { $0.hasPrefix(prefix) }.sorted()
  }

  private static func describe(_ dtype: DType, _ shape: [Int]) -> String {
    "\(dtype) \(shape)"
  }

  /// Expects a saved tensor of the given dtype and shape, to be loaded by `load`.
  mutating func expect(
    _ name: String, _ dtype: DType, _ shape: [Int], _ load: @escaping (TensorData) throws -> Void
  ) {
    guard let t = saved[name] else {
      missing.append(name)
      return
    }
    consumed.insert(name)
    guard t.dtype == dtype, t.shape == shape else {
      mismatched.append(
        "\(name): saved \(Self.describe(t.dtype, t.shape)), expected \(Self.describe(dtype, shape))"
      )
      return
    }
    loaders.append { try load(t) }
  }

  mutating func add(_ name: String, _ object: Checkpoint.Tracked) {
    switch object {
    case .model(let model):
      for (p, parameter) in model.namedParameters() {
        expect(name + "/" + p, .float32, parameter.shape) { t in
          try parameter.assign(TensorBridge.tensor(t))
        }
      }
    case .optimizer(let optimizer, let model):
      addOptimizer(name, optimizer, model: model)
    case .generator(let generator):
      expect(name + "/state", .int64, [4]) { t in
        let words = TensorBridge.int64s(t).map { UInt64(bitPattern: $0) }
        guard words.contains(where: { $0 != 0 }) else {
          throw CheckpointError(
            .invalidValue, "'\(name)/state' is all zeros, not a generator state")
        }
        generator.state = words
      }
    case .iterator(let iterator):
      expect(name + "/position", .int64, [3]) { t in
        let v = TensorBridge.int64s(t)
        try iterator.restore(
          MinibatchIterator.Position(
            epoch: Int(v[0]), index: Int(v[1]), seed: UInt64(bitPattern: v[2])))
      }
    }
  }

  private mutating func addOptimizer(
    _ name: String, _ optimizer: any Optimizer, model: (any Module)?
  ) {
    let prefix = name + "/"
    let shapes = model.map {
      Dictionary(uniqueKeysWithValues: $0.namedParameters().map { ($0.name, $0.parameter.shape) })
    }
    var tensors: [String: Tensor] = [:]
    var counters: [String: Int64] = [:]
    var pending: [(String, TensorData)] = []
    for full in names(withPrefix: prefix) {
      let t = saved[full]!
      let local = String(full.dropFirst(prefix.count))
      if t.dtype == .int64 && t.shape.isEmpty {
        consumed.insert(full)
        counters[local] = TensorBridge.int64s(t)[0]
        continue
      }
      guard t.dtype == .float32 else {
        consumed.insert(full)
        mismatched.append(
          "\(full): saved \(Self.describe(t.dtype, t.shape)), expected float32 state")
        continue
      }
      if let shapes {
        // State is named <parameter>/<slot>; the slot never contains '/'.
        let parameter = String(local[..<(local.lastIndex(of: "/") ?? local.endIndex)])
        guard let shape = shapes[parameter] else { continue }  // left unconsumed: unexpected
        consumed.insert(full)
        if shape != t.shape {
          mismatched.append(
            "\(full): saved \(Self.describe(t.dtype, t.shape)), parameter '\(parameter)' is float32 \(shape)"
          )
          continue
        }
      } else {
        consumed.insert(full)
      }
      pending.append((local, t))
    }
    if counters["step"] == nil { missing.append(prefix + "step") }
    let converted = pending
    let savedCounters = counters
    early.append {
      for (local, t) in converted { tensors[local] = try TensorBridge.tensor(t) }
      try optimizer.loadState(tensors: tensors, counters: savedCounters)
    }
  }

  func report() -> RestoreReport {
    RestoreReport(
      restored: consumed.sorted().filter { name in !mismatched.contains { $0.hasPrefix(name + ":") }
      },
      skipped: Set(saved.keys).subtracting(consumed).sorted()
        + mismatched.map { String($0[..<$0.firstIndex(of: ":")!]) },
      missing: missing.sorted(), mismatched: mismatched.sorted())
  }

  /// Optimizer state first: its loader validates names and is the only one that can refuse.
  func apply() throws {
    for load in early { try load() }
    for load in loaders { try load() }
  }
}
