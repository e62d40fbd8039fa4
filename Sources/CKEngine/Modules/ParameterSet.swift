/// A module that is nothing but named parameters: a shard of another model's parameters, held
/// under that model's names (`layers.0.weight`), so a checkpoint or an optimizer treats the shard
/// like the model it was cut from. `ckstore train --ranks` gives each worker process one.
///
/// Its parameters are named by their keys alone (not `byName.<key>`), by both the fast walk and
/// the reflection walk of `namedParameters()`.
public final class ParameterSet: Module {
  /// The parameters, by their dotted names.
  public let byName: [String: Parameter]

  /// A module holding `parameters` under their keys.
  public init(_ parameters: [String: Parameter]) {
    byName = parameters
  }
}
