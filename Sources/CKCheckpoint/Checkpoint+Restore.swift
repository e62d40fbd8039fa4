import CKEngine
import CKStore

/// How strictly a restore must match the tracked objects.
public struct RestoreOptions: Sendable, Equatable {
  /// Whether mismatches are reported instead of thrown.
  public var partial: Bool
  /// For a partial restore: only these tracked names (nil: all of them). `checkpoint` selects the
  /// step counter and `scalars` the user scalars, so `["model"]` loads weights alone.
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
  /// Loads saved tensors into the tracked objects, all or nothing.
  ///
  /// Strict (the default): every saved tensor must be consumed and every tracked variable found
  /// with the right dtype and shape; otherwise nothing changes and one `CheckpointError` lists
  /// every missing, unexpected and mismatched name. Partial: loads what matches and reports the
  /// rest. Either way, if a tracked object refuses its value (an optimizer slot it does not use,
  /// an all-zero generator state), everything is put back as it was and the error says why.
  @discardableResult
  public func restore(from saved: [TensorData], options: RestoreOptions = .strict) throws
    -> RestoreReport
  {
    var plan = RestorePlan(saved: saved, partial: options.partial)
    let selected = { (name: String) in options.only?.contains(name) ?? true }
    if selected("checkpoint") {
      plan.expect("checkpoint/step", .int64, []) { [self] t in step = TensorBridge.int64s(t)[0] }
    }
    if selected("scalars") {
      for name in plan.names(withPrefix: "scalars/") {
        plan.expect(name, .float64, []) { [self] t in
          scalars[String(name.dropFirst("scalars/".count))] = TensorBridge.float64(t)
        }
      }
    }
    for (name, object) in tracked where selected(name) { plan.add(name, object) }
    let report = plan.report()
    let unexpected = report.skipped.filter { s in
      !report.mismatched.contains { $0.hasPrefix(s + ":") }
    }
    if !options.partial
      && !(report.missing.isEmpty && unexpected.isEmpty && report.mismatched.isEmpty)
    {
      throw CheckpointError(
        .mismatch,
        "the checkpoint does not match the tracked objects (\(report.missing.count) missing, "
          + "\(unexpected.count) unexpected, \(report.mismatched.count) mismatched)",
        missing: report.missing, unexpected: unexpected, mismatched: report.mismatched)
    }
    let (stepBefore, scalarsBefore, before) = (step, scalars, try tensors())
    do {
      try plan.apply()
    } catch {
      var undo = RestorePlan(saved: before, partial: true)
      for (name, object) in tracked { undo.add(name, object) }
      try? undo.apply()
      (step, scalars) = (stepBefore, scalarsBefore)
      throw plan.explain(error)
    }
    return report
  }
}

/// The matching of saved tensors to tracked variables, applied only once all of it is known.
struct RestorePlan {
  private let saved: [String: TensorData]
  private let partial: Bool
  private var consumed = Set<String>()
  private var missing: [String] = []
  private var mismatched: [String] = []
  private var loaders: [() throws -> Void] = []
  /// Optimizer state loaders, run first: they validate names before changing anything.
  private var early: [() throws -> Void] = []

  init(saved: [TensorData], partial: Bool) {
    self.saved = Dictionary(saved.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    self.partial = partial
  }

  func names(withPrefix prefix: String) -> [String] {
    saved.keys.filter { $0.hasPrefix(prefix) }.sorted()
  }

  private static func describe(_ dtype: DType, _ shape: [Int]) -> String { "\(dtype) \(shape)" }

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

  /// Optimizer state is `<parameter>/<slot>` (float32 tensors, int64 scalar counters, the slots
  /// the optimizer names in `stateSlots`) plus the `step` counter. A slot the optimizer does not
  /// use, or (with the model known) a parameter the model does not have, is unexpected; a
  /// parameter with some state must have all of it.
  private mutating func addOptimizer(
    _ name: String, _ optimizer: any Optimizer, model: (any Module)?
  ) {
    let prefix = name + "/"
    let shapes = model.map {
      Dictionary(uniqueKeysWithValues: $0.namedParameters().map { ($0.name, $0.parameter.shape) })
    }
    let slots = optimizer.stateSlots
    var tensors: [String: TensorData] = [:]
    var counters: [String: Int64] = [:]
    var slotsOf: [String: Set<String>] = [:]
    var mine: [String] = []
    for full in names(withPrefix: prefix) {
      let t = saved[full]!
      let local = String(full.dropFirst(prefix.count))
      let isCounter = t.dtype == .int64 && t.shape.isEmpty
      if local == "step" {
        consumed.insert(full)
        mine.append(full)
        if isCounter {
          counters[local] = TensorBridge.int64s(t)[0]
        } else {
          mismatched.append("\(full): saved \(Self.describe(t.dtype, t.shape)), expected int64 []")
        }
        continue
      }
      // The slot never contains '/'; a name without one is nobody's state: left as unexpected.
      guard let slash = local.lastIndex(of: "/") else { continue }
      let parameter = String(local[..<slash])
      let slot = String(local[local.index(after: slash)...])
      if let shapes, shapes[parameter] == nil { continue }
      guard slots.tensors.contains(slot) || slots.counters.contains(slot) else { continue }
      consumed.insert(full)
      mine.append(full)
      slotsOf[parameter, default: []].insert(slot)
      if slots.counters.contains(slot) {
        guard isCounter else {
          mismatched.append("\(full): saved \(Self.describe(t.dtype, t.shape)), expected int64 []")
          continue
        }
        counters[local] = TensorBridge.int64s(t)[0]
      } else if t.dtype != .float32 {
        mismatched.append(
          "\(full): saved \(Self.describe(t.dtype, t.shape)), expected float32 state")
      } else if let shape = shapes?[parameter], shape != t.shape {
        mismatched.append(
          "\(full): saved \(Self.describe(t.dtype, t.shape)), parameter '\(parameter)' is float32 \(shape)"
        )
      } else {
        tensors[local] = t
      }
    }
    let allSlots = Set(slots.tensors + slots.counters)
    for (parameter, present) in slotsOf {
      for slot in allSlots.subtracting(present) { missing.append(prefix + parameter + "/" + slot) }
    }
    guard counters["step"] != nil else {
      missing.append(prefix + "step")
      // Without its step the optimizer cannot be loaded: a partial restore skips its tensors.
      if partial { for full in mine { consumed.remove(full) } }
      return
    }
    early.append {
      var converted: [String: Tensor] = [:]
      for (local, t) in tensors { converted[local] = try TensorBridge.tensor(t) }
      try optimizer.loadState(tensors: converted, counters: counters)
    }
  }

  func report() -> RestoreReport {
    let mismatchedNames = Set(mismatched.map { String($0[..<$0.firstIndex(of: ":")!]) })
    return RestoreReport(
      restored: consumed.subtracting(mismatchedNames).sorted(),
      skipped: (Set(saved.keys).subtracting(consumed).union(mismatchedNames)).sorted(),
      missing: missing.sorted(), mismatched: mismatched.sorted())
  }

  /// Optimizer state first: its loader validates names and is the likeliest to refuse.
  func apply() throws {
    for load in early { try load() }
    for load in loaders { try load() }
  }

  /// A refusal from a tracked object as a `CheckpointError` (nothing was changed).
  func explain(_ error: Error) -> CheckpointError {
    if let error = error as? CheckpointError { return error }
    return CheckpointError(
      .mismatch, "a tracked object refused the checkpoint, nothing was changed: \(error)")
  }
}
