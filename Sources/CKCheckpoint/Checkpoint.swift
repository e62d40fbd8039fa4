import CKEngine
import CKStore

/// Everything a training run needs to resume, saved as one commit: any number of models,
/// optimizers with their state, random generators, data iterators, the step counter and user
/// scalars — in the spirit of TF2's `tf.train.Checkpoint`.
///
/// Models are captured through `namedParameters()`, which finds every parameter by construction,
/// frozen ones included, so no layer can silently fall out of a checkpoint. The tree it saves:
///
/// ```
/// checkpoint/step                  int64 scalar
/// <model>/<parameter>              float32, e.g. model/dense1.weight
/// <optimizer>/<parameter>/<slot>   float32, e.g. optimizer/dense1.weight/adam.m
/// <optimizer>/<counter>            int64 scalar, e.g. optimizer/step
/// <generator>/state                int64 [4] (the xoshiro256** words)
/// <iterator>/position              int64 [3] (epoch, index, seed)
/// scalars/<name>                   float64 scalar
/// ```
public final class Checkpoint {
  /// The training step; saved as `checkpoint/step` and as the commit's step.
  public var step: Int64 = 0
  /// User scalars saved with the checkpoint (best validation loss, …).
  public var scalars: [String: Double] = [:]

  enum Tracked {
    case model(any Module)
    case optimizer(any Optimizer, model: (any Module)?)
    case generator(RandomGenerator)
    case iterator(MinibatchIterator)
  }

  private(set) var tracked: [(name: String, object: Tracked)] = []
  static let reserved: Set<String> = ["checkpoint", "scalars"]

  /// An empty checkpoint; add what it should hold with the `track` methods.
  public init() {}

  /// Saves every parameter of `model` under `name/`.
  public func track(_ model: any Module, as name: String) throws {
    try add(name, .model(model))
  }

  /// Saves the optimizer's state under `name/`. Pass the model it updates so that a strict restore
  /// can check each state tensor against its parameter's shape.
  public func track(
    _ optimizer: any Optimizer, as name: String, updating model: (any Module)? = nil
  )
    throws
  {
    try add(name, .optimizer(optimizer, model: model))
  }

  /// Saves the generator's full state under `name/state`.
  public func track(_ generator: RandomGenerator, as name: String) throws {
    try add(name, .generator(generator))
  }

  /// Saves the iterator's position under `name/position`, so a resumed run draws the same batches.
  public func track(_ iterator: MinibatchIterator, as name: String) throws {
    try add(name, .iterator(iterator))
  }

  private func add(_ name: String, _ object: Tracked) throws {
    guard !name.isEmpty, !name.contains("/"), !Self.reserved.contains(name) else {
      throw CheckpointError(
        .invalidName,
        "cannot track under '\(name)': use one path segment, not 'checkpoint' or 'scalars'")
    }
    do {
      try TensorName.validate(name)
    } catch let error as StoreError {
      throw CheckpointError(.invalidName, error.message)
    }
    guard !tracked.contains(where: { $0.name == name }) else {
      throw CheckpointError(.invalidName, "'\(name)' is already tracked in this checkpoint")
    }
    tracked.append((name, object))
  }

  /// The names of the tracked objects, in the order they were added.
  public var trackedNames: [String] { tracked.map(\.name) }

  /// A parameter as it was last saved or restored: if its identity and version are unchanged,
  /// its stored entry can go into the next commit without being hashed or compressed again.
  struct StoredParameter {
    let parameter: ObjectIdentifier
    let version: UInt64
    let info: TensorInfo
  }

  /// Model parameters whose stored entries are known, by tensor name (dirty tracking).
  var stored: [String: StoredParameter] = [:]

  /// What the next commit needs: the tensors to write, the entries of parameters unchanged since
  /// they were last stored, and the version of every model parameter as captured now.
  struct Snapshot {
    /// Tensors borrowed from the engine without a copy (see `Tensor.sharedBytes`): a later
    /// training step copies what it changes, so the snapshot stays consistent.
    var tensors: [TensorSource]
    var reused: [TensorInfo]
    var versions: [String: (parameter: ObjectIdentifier, version: UInt64)]
  }

  /// Captures the checkpoint for a commit, skipping parameters whose `version` shows no change
  /// since their entry was stored (parameters mutate only through paths that bump it).
  func snapshot() throws -> Snapshot {
    var tensors: [TensorSource] = []
    var reused: [TensorInfo] = []
    var versions: [String: (ObjectIdentifier, UInt64)] = [:]
    for (name, object) in tracked {
      guard case .model(let model) = object else { continue }
      for (p, parameter) in model.namedParameters() {
        let full = name + "/" + p
        let id = ObjectIdentifier(parameter)
        versions[full] = (id, parameter.version)
        if let known = stored[full], known.parameter == id, known.version == parameter.version {
          reused.append(known.info)
        } else {
          tensors.append(try TensorBridge.source(full, parameter.value))
        }
      }
    }
    tensors += try sources(includingModels: false)
    return Snapshot(tensors: tensors, reused: reused, versions: versions)
  }

  /// Records the stored entries of a commit for the parameters captured in `versions`.
  func remember(
    _ entries: [TensorInfo], versions: [String: (parameter: ObjectIdentifier, version: UInt64)]
  ) {
    stored = [:]
    for info in entries {
      guard let v = versions[info.name] else { continue }
      stored[info.name] = StoredParameter(parameter: v.parameter, version: v.version, info: info)
    }
  }

  /// The current version of every model parameter, by tensor name.
  func parameterVersions() -> [String: (parameter: ObjectIdentifier, version: UInt64)] {
    var out: [String: (ObjectIdentifier, UInt64)] = [:]
    for (name, object) in tracked {
      guard case .model(let model) = object else { continue }
      for (p, parameter) in model.namedParameters() {
        out[name + "/" + p] = (ObjectIdentifier(parameter), parameter.version)
      }
    }
    return out
  }

  /// The checkpoint as named tensors, ready to commit.
  public func tensors() throws -> [TensorData] {
    try sources(includingModels: true).map(TensorData.init(copying:))
  }

  /// The name and shape of every tensor a restore may load into the tracked objects: what
  /// `tensors()` holds now, plus, for an optimizer tracked with its model, the state of every
  /// parameter (created lazily, so a fresh optimizer holds none yet) and its counters.
  func restorableShapes() throws -> [String: [Int]] {
    var out = Dictionary(
      try sources(includingModels: true).map { ($0.name, $0.shape) },
      uniquingKeysWith: { a, _ in a })
    for (name, object) in tracked {
      guard case .optimizer(let optimizer, let model?) = object else { continue }
      for (p, parameter) in model.namedParameters() {
        for slot in optimizer.stateSlots.tensors where out[name + "/" + p + "/" + slot] == nil {
          out[name + "/" + p + "/" + slot] = parameter.shape
        }
        for counter in optimizer.stateSlots.counters {
          out[name + "/" + p + "/" + counter] = []
        }
      }
    }
    return out
  }

  private func sources(includingModels: Bool) throws -> [TensorSource] {
    var out: [TensorData] = [try TensorBridge.data("checkpoint/step", int64: [step], shape: [])]
    var shared: [TensorSource] = []
    for (name, value) in scalars.sorted(by: { $0.key < $1.key }) {
      out.append(try TensorBridge.data("scalars/" + name, float64: value))
    }
    for (name, object) in tracked {
      switch object {
      case .model(let model):
        guard includingModels else { continue }
        for (p, parameter) in model.namedParameters() {
          shared.append(try TensorBridge.source(name + "/" + p, parameter.value))
        }
      case .optimizer(let optimizer, _):
        for (s, tensor) in optimizer.stateTensors() {
          shared.append(try TensorBridge.source(name + "/" + s, tensor))
        }
        for (c, value) in optimizer.stateCounters() {
          out.append(try TensorBridge.data(name + "/" + c, int64: [value], shape: []))
        }
      case .generator(let generator):
        out.append(
          try TensorBridge.data(
            name + "/state", int64: generator.state.map { Int64(bitPattern: $0) }, shape: [4]))
      case .iterator(let iterator):
        let p = iterator.position
        out.append(
          try TensorBridge.data(
            name + "/position", int64: [Int64(p.epoch), Int64(p.index), Int64(bitPattern: p.seed)],
            shape: [3]))
      }
    }
    return out.map(TensorSource.init) + shared
  }
}
