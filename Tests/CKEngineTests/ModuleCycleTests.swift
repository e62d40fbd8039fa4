import CKEngine
import Testing

/// A block that points back at the model that owns it (a common pattern for callbacks).
final class BackReferencingBlock: Module {
  let dense: Dense
  var owner: CyclicModel?

  init(_ g: RandomGenerator) { dense = Dense(inputSize: 2, outputSize: 2, generator: g) }
}

/// A model whose child holds a strong reference back to it.
final class CyclicModel: Module {
  let block: BackReferencingBlock
  let head: Dense

  init(_ g: RandomGenerator) {
    block = BackReferencingBlock(g)
    head = Dense(inputSize: 2, outputSize: 1, generator: g)
    block.owner = self
  }
}

extension EngineTests {
  @Suite struct ModuleCycleTests {
    /// The reflection walk must end on a cycle and still list every parameter once.
    @Test func aBackReferenceDoesNotLoopOrDuplicate() {
      let model = CyclicModel(RandomGenerator(seed: 1))
      defer { model.block.owner = nil }
      let names = model.namedParameters().map(\.name)
      #expect(names == ["block.dense.bias", "block.dense.weight", "head.bias", "head.weight"])
    }
  }
}
