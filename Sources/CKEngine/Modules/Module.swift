/// Anything that owns parameters: layers, blocks, whole models.
///
/// Conformers write no registration code: `namedParameters()` finds every `Parameter` reachable
/// from the module's stored properties by reflection, so a parameter cannot be left out of an
/// optimizer or a checkpoint by forgetting to list it. Names are built from property names and
/// indices, joined with dots: `blocks.0.attention.wq.weight`.
///
/// The naming rule (see docs/ENGINE.md):
/// - a stored property contributes its name (a leading `_` from a property wrapper is dropped);
/// - an array element contributes its index, a dictionary value its key (keys sorted);
/// - an `Optional` contributes nothing; `nil` contributes no parameters;
/// - a struct, tuple or non-module class is walked like a module;
/// - a parameter reachable by several paths (weight tying) is listed once, under the smallest
///   name.
/// The list is sorted by name (byte order), so it is stable across runs and property order.
public protocol Module: AnyObject {}

/// A module that maps one tensor to another.
public protocol Layer: Module {
  /// Applies the layer to `input`.
  func callAsFunction(_ input: Tensor) -> Tensor
}

extension Module {
  /// Every parameter with its canonical dotted name, sorted by name.
  ///
  /// Built-in layers describe their children directly, which is much faster than reflection;
  /// `namedParametersByReflection()` is the reference walk and gives the same list.
  public func namedParameters() -> [(name: String, parameter: Parameter)] {
    _namedParameters(reflectionOnly: false)
  }

  /// The same list as `namedParameters()`, found by reflection alone (for tests and tools that
  /// want to check a layer's fast path).
  public func namedParametersByReflection() -> [(name: String, parameter: Parameter)] {
    _namedParameters(reflectionOnly: true)
  }

  func _namedParameters(reflectionOnly: Bool) -> [(name: String, parameter: Parameter)] {
    var found: [(name: String, parameter: Parameter)] = []
    var visiting = Set<ObjectIdentifier>()
    _collectParameters(
      self, prefix: "", into: &found, visiting: &visiting, reflectionOnly: reflectionOnly)
    found.sort { $0.name < $1.name }
    var seen = Set<ObjectIdentifier>()
    return found.filter { seen.insert(ObjectIdentifier($0.parameter)).inserted }
  }

  /// Every parameter, in name order.
  public func parameters() -> [Parameter] { namedParameters().map(\.parameter) }

  /// The parameters an optimizer should update, with their names.
  public func trainableParameters() -> [(name: String, parameter: Parameter)] {
    namedParameters().filter { $0.parameter.isTrainable }
  }

  /// The total number of scalars in all parameters (frozen ones included).
  public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

  /// Marks every parameter of this module frozen (not updated, not watched).
  public func freeze() { for p in parameters() { p.isTrainable = false } }

  /// Marks every parameter of this module trainable.
  public func unfreeze() { for p in parameters() { p.isTrainable = true } }

  /// The parameter named `name`, if any.
  public func parameter(named name: String) -> Parameter? {
    namedParameters().first { $0.name == name }?.parameter
  }
}

/// Implemented by the built-in layers: their children with the labels reflection would give
/// (joined for arrays, `layers.0`), so the walk can skip `Mirror`. Tests check both agree.
protocol _ListsChildren {
  var _children: [(label: String, value: Any)] { get }
}

/// Walks `value` and appends every reachable parameter with its dotted name.
func _collectParameters(
  _ value: Any, prefix: String, into found: inout [(name: String, parameter: Parameter)],
  visiting: inout Set<ObjectIdentifier>, reflectionOnly: Bool
) {
  if let p = value as? Parameter {
    found.append((prefix, p))
    return
  }
  if let set = value as? ParameterSet {
    for (key, parameter) in set.byName {
      found.append((prefix.isEmpty ? key : prefix + "." + key, parameter))
    }
    return
  }
  if !reflectionOnly, let listing = value as? _ListsChildren {
    for (label, child) in listing._children {
      _collectParameters(
        child, prefix: prefix.isEmpty ? label : prefix + "." + label, into: &found,
        visiting: &visiting, reflectionOnly: false)
    }
    return
  }
  let mirror = Mirror(reflecting: value)
  switch mirror.displayStyle {
  case .struct:
    // Tensors own large buffers but no parameters; skipping them keeps the walk cheap.
    if value is Tensor || value is IntTensor { return }
  case .collection, .set:
    // A collection of plain values ([Float], [Int], [String]) holds no parameters: judge by the
    // first element instead of reflecting every one.
    if let first = mirror.children.first?.value, !(first is Parameter),
      Mirror(reflecting: first).children.isEmpty
    {
      return
    }
  case .class:
    if value is RandomGenerator { return }
  default:
    break
  }
  if mirror.children.isEmpty && mirror.superclassMirror == nil { return }
  var onPath: ObjectIdentifier? = nil
  if mirror.displayStyle == .class {
    let id = ObjectIdentifier(value as AnyObject)
    if !visiting.insert(id).inserted { return }  // a cycle or a shared object already on the path
    onPath = id
  }
  // Leave the path only once this object's children are walked, so a back-reference ends the walk.
  defer { if let onPath { visiting.remove(onPath) } }
  func join(_ label: String) -> String { prefix.isEmpty ? label : prefix + "." + label }
  switch mirror.displayStyle {
  case .optional:
    if let child = mirror.children.first {
      _collectParameters(
        child.value, prefix: prefix, into: &found, visiting: &visiting,
        reflectionOnly: reflectionOnly)
    }
  case .collection, .set:
    for (i, child) in mirror.children.enumerated() {
      _collectParameters(
        child.value, prefix: join(String(i)), into: &found, visiting: &visiting,
        reflectionOnly: reflectionOnly)
    }
  case .dictionary:
    for child in mirror.children {
      let pair = Mirror(reflecting: child.value).children.map(\.value)
      guard pair.count == 2 else { continue }
      _collectParameters(
        pair[1], prefix: join("\(pair[0])"), into: &found, visiting: &visiting,
        reflectionOnly: reflectionOnly)
    }
  default:
    var m: Mirror? = mirror
    while let current = m {
      for (i, child) in current.children.enumerated() {
        var label = child.label ?? String(i)
        if label.hasPrefix("$__lazy_storage_$_") { label.removeFirst(18) }
        if (label.hasPrefix("_") || label.hasPrefix(".")) && label.count > 1 { label.removeFirst() }
        _collectParameters(
          child.value, prefix: join(label), into: &found, visiting: &visiting,
          reflectionOnly: reflectionOnly)
      }
      m = current.superclassMirror
    }
  }
}
