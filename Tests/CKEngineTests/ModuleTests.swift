import CKEngine
import Testing

/// A user-written layer with no registration code: nested modules, an array, an optional, a
/// dictionary, a tuple and a frozen parameter must all be found.
final class Custom: Module {
  let encoder: Sequential
  let heads: [Dense]
  let maybe: Dense?
  let absent: Dense? = nil
  let named: [String: Parameter]
  let pair: (Parameter, scale: Parameter)
  let frozen: Parameter
  let notAParameter: Tensor

  init(_ g: RandomGenerator) {
    encoder = Sequential([Dense(inputSize: 2, outputSize: 3, generator: g), LayerNorm(size: 3)])
    heads = [
      Dense(inputSize: 3, outputSize: 1, useBias: false, generator: g),
      Dense(inputSize: 3, outputSize: 2, generator: g),
    ]
    maybe = Dense(inputSize: 1, outputSize: 1, generator: g)
    named = ["z": Parameter(Tensor(shape: [1])), "a": Parameter(Tensor(shape: [2]))]
    pair = (Parameter(Tensor(shape: [4])), Parameter(Tensor(shape: [5])))
    frozen = Parameter(Tensor(shape: [2, 2]), trainable: false)
    notAParameter = Tensor(shape: [7])
  }
}

/// A module whose child points back at it.
final class Parent: Module {
  let p = Parameter(Tensor(shape: [1]))
  let child = Child()
  init() { child.parent = self }
}

/// The child side of `Parent`'s cycle.
final class Child: Layer {
  let w = Parameter(Tensor(shape: [2]))
  var parent: Parent?
  func callAsFunction(_ input: Tensor) -> Tensor { input }
}

extension EngineTests {
  @Suite struct ModuleTests {
    @Test func backReferencesEndTheWalk() {
      let m = Parent()
      #expect(m.namedParameters().map(\.name) == ["child.w", "p"])
      #expect(
        Sequential([m.child]).namedParameters().map(\.name) == ["layers.0.parent.p", "layers.0.w"])
      m.child.parent = nil  // break the cycle so the test does not leak
    }

    @Test func namesAreCanonicalSortedAndComplete() {
      let m = Custom(RandomGenerator(seed: 1))
      let names = m.namedParameters().map(\.name)
      #expect(
        names == [
          "encoder.layers.0.bias", "encoder.layers.0.weight", "encoder.layers.1.bias",
          "encoder.layers.1.weight", "frozen", "heads.0.weight", "heads.1.bias", "heads.1.weight",
          "maybe.bias", "maybe.weight", "named.a", "named.z", "pair.0", "pair.scale",
        ])
      #expect(m.trainableParameters().map(\.name).contains("frozen") == false)
      #expect(m.parameterCount == (6 + 3) + (3 + 3) + 4 + 3 + (6 + 2) + 2 + 3 + 4 + 5)
    }

    @Test func sharedParametersAreListedOnceUnderTheSmallestName() {
      let g = RandomGenerator(seed: 1)
      let d = Dense(inputSize: 2, outputSize: 2, generator: g)
      let s = Sequential([d, Dense(inputSize: 2, outputSize: 2, generator: g), d])
      #expect(
        s.namedParameters().map(\.name) == [
          "layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight",
        ])
    }

    @Test func transformerNamesFollowTheTree() {
      let lm = TransformerLM(
        vocabularySize: 5, width: 8, heads: 2, layers: 2, maxLength: 4,
        generator: RandomGenerator(seed: 1))
      let names = lm.namedParameters().map(\.name)
      #expect(names.contains("blocks.1.attention.wq.weight"))
      #expect(names.contains("blocks.0.mlp.fc2.bias"))
      #expect(names.contains("tokenEmbedding.weight") && names.contains("finalNorm.weight"))
      #expect(names == names.sorted())
      // Two embeddings, final norm (2), head (2); per block 2 norms (4), 4 projections (8), MLP (4).
      #expect(names.count == 6 + 2 * 16)
    }

    /// The built-in layers' fast child listings must agree with reflection, name for name.
    @Test func fastListingsMatchReflection() {
      let g = RandomGenerator(seed: 2)
      let modules: [any Module] = [
        Dense(inputSize: 2, outputSize: 3, generator: g),
        Dense(inputSize: 2, outputSize: 3, useBias: false, generator: g),
        Sequential([Dense(inputSize: 2, outputSize: 2, generator: g), LayerNorm(size: 2)]),
        MLP(width: 4, hidden: 8, generator: g),
        Embedding(vocabularySize: 3, dimension: 2, generator: g),
        MultiHeadSelfAttention(width: 4, heads: 2, causal: true, generator: g),
        TransformerBlock(width: 4, heads: 2, generator: g),
        TransformerLM(vocabularySize: 5, width: 4, heads: 2, layers: 3, maxLength: 4, generator: g),
        Custom(g),
      ]
      for m in modules {
        let fast = m.namedParameters()
        let reflected = m.namedParametersByReflection()
        #expect(fast.map(\.name) == reflected.map(\.name), "\(type(of: m))")
        #expect(zip(fast, reflected).allSatisfy { $0.parameter === $1.parameter })
      }
    }

    /// A parameter set names its parameters by their keys, as the model they were cut from does,
    /// by both walks; nested in another module it takes the property's prefix.
    @Test func aParameterSetKeepsTheNamesOfItsModel() throws {
      let g = RandomGenerator(seed: 3)
      let model = Sequential([Dense(inputSize: 2, outputSize: 3, generator: g), LayerNorm(size: 3)])
      let set = ParameterSet(
        Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter) }))
      #expect(set.namedParameters().map(\.name) == model.namedParameters().map(\.name))
      #expect(set.namedParametersByReflection().map(\.name) == model.namedParameters().map(\.name))
      #expect(zip(set.parameters(), model.parameters()).allSatisfy { $0 === $1 })
      final class Holder: Module {
        let shard: ParameterSet
        init(_ shard: ParameterSet) { self.shard = shard }
      }
      #expect(Holder(set).namedParameters().first?.name == "shard.layers.0.bias")
    }

    @Test func versionCountsEveryMutation() throws {
      let d = Dense(inputSize: 2, outputSize: 1, generator: RandomGenerator(seed: 1))
      #expect(d.weight.version == 0)
      try d.weight.assign(Tensor(shape: [2, 1], repeating: 1))
      #expect(d.weight.version == 1)
      try Tensor(shape: [2, 1], repeating: 2).withUnsafeBytes { try d.weight.load(bytes: $0) }
      #expect(d.weight.version == 2 && d.weight.value.scalars == [2, 2])
      let opt = SGD(learningRate: .constant(0.1))
      try opt.update(d, gradients: ["weight": Tensor(shape: [2, 1], repeating: 1)])
      #expect(d.weight.version == 3 && d.bias!.version == 0)
      let e = #expect(throws: EngineError.self) { try d.weight.assign(Tensor(shape: [1, 2])) }
      #expect(e?.code == .shapeMismatch)
    }

    @Test func frozenParametersGetNoGradientAndNoUpdate() throws {
      let g = RandomGenerator(seed: 4)
      let model = Sequential([
        Dense(inputSize: 3, outputSize: 4, activation: .tanh, generator: g),
        Dense(inputSize: 4, outputSize: 2, generator: g),
      ])
      (model.layers[0] as! Dense).freeze()
      let x = randomTensor([5, 3], g)
      let tape = GradientTape()
      let loss = tape.record { model(x).squared().mean() }
      let grads = tape.gradients(of: loss, for: model)
      #expect(grads.keys.sorted() == ["layers.1.bias", "layers.1.weight"])
      let before = model.layers[0] as! Dense
      let w0 = before.weight.value
      try Adam(learningRate: .constant(0.1)).update(model, gradients: grads)
      #expect(before.weight.value.bitwiseEquals(w0))
    }
  }
}
