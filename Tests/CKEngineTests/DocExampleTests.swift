import CKEngine
import Testing

// The worked example of docs/ENGINE.md, "Writing a layer", kept here so it keeps compiling.

/// y = x + W2·gelu(W1·LN(x)): a residual MLP block.
final class ResidualMLP: Layer {
  let norm: LayerNorm
  let up: Dense
  let down: Dense

  init(width: Int, hidden: Int, generator: RandomGenerator) {
    norm = LayerNorm(size: width)
    up = Dense(inputSize: width, outputSize: hidden, activation: .gelu, generator: generator)
    down = Dense(inputSize: hidden, outputSize: width, generator: generator)
  }

  func callAsFunction(_ x: Tensor) -> Tensor { x + down(up(norm(x))) }
}

/// The one-parameter layer of docs/ENGINE.md.
final class Scale: Layer {
  let gain = Parameter(Tensor(shape: [1], repeating: 1))
  func callAsFunction(_ x: Tensor) -> Tensor { x * gain.value }
}

extension EngineTests {
  @Suite struct DocExampleTests {
    @Test func workedExampleTrainsAndNamesItsParameters() throws {
      let g = RandomGenerator(seed: 42)
      let model = Sequential([
        ResidualMLP(width: 8, hidden: 32, generator: g),
        Dense(inputSize: 8, outputSize: 1, generator: g),
      ])
      #expect(
        model.namedParameters().map(\.name) == [
          "layers.0.down.bias", "layers.0.down.weight", "layers.0.norm.bias",
          "layers.0.norm.weight",
          "layers.0.up.bias", "layers.0.up.weight", "layers.1.bias", "layers.1.weight",
        ])
      let x = randomTensor([64, 8], g)
      let y = x.sum(axes: [1], keepDims: true).tanh()  // something learnable
      let opt = Adam(learningRate: .constant(1e-2))
      var first: Float = 0
      var last: Float = 0
      for step in 0..<100 {
        let tape = GradientTape()
        let loss = tape.record { meanSquaredError(model(x), y) }
        try opt.update(model, gradients: tape.gradients(of: loss, for: model))
        if step == 0 { first = loss.item }
        last = loss.item
      }
      #expect(last < first / 10)
      #expect(opt.stateTensors().map(\.name).contains("layers.0.up.weight/adam.m"))
      // The closure form gives the same gradients as an explicit tape.
      let (value, grads) = valueWithGradients(for: model) { meanSquaredError(model(x), y) }
      let tape = GradientTape()
      let again = tape.record { meanSquaredError(model(x), y) }
      let expected = tape.gradients(of: again, for: model)
      #expect(value.bitwiseEquals(again.detached) && grads.keys.sorted() == expected.keys.sorted())
      #expect(grads.allSatisfy { $0.value.bitwiseEquals(expected[$0.key]!) })
      let scale = Scale()
      #expect(scale.namedParameters().map(\.name) == ["gain"])
      let ints = IntTensor([1, -2, 3])
      let back = try ints.withUnsafeBytes { try IntTensor(shape: [3], bytes: $0) }
      #expect(back.scalars == [1, -2, 3])
    }
  }
}
