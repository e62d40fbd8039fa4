import CKEngine
import Foundation

/// What `ckstore train` trains: a model, its data, one step and an evaluation.
protocol TrainingTask {
  /// The model whose parameters are checkpointed.
  var model: any Module { get }
  /// Examples (or windows) per epoch, for the batch iterator.
  var exampleCount: Int { get }
  /// The loss on the given examples (the forward pass, recorded for gradients).
  func loss(_ indices: [Int]) -> Tensor
  /// Metrics for a save (accuracy where defined).
  func evaluate() -> [String: Double]
  /// Describes the run for commit metadata; a resumed run must match it.
  var signature: [String: String] { get }
}

extension TrainingTask {
  /// One forward + backward on the given examples: the loss and the gradient of every trainable
  /// parameter, by name.
  func gradients(_ indices: [Int]) -> (loss: Float, gradients: [String: Tensor]) {
    let (loss, gradients) = valueWithGradients(for: model) { self.loss(indices) }
    return (loss.item, gradients)
  }

  /// One forward + backward + update on the given examples; returns the loss.
  func step(_ indices: [Int], optimizer: any Optimizer) throws -> Float {
    let (loss, gradients) = gradients(indices)
    try optimizer.update(model, gradients: gradients)
    return loss
  }
}

/// Dense(64, relu) → Dense(10) on the digits set, the model of TF2's checkpoint guide.
final class DigitsTask: TrainingTask {
  let network: Sequential
  let train: DigitsDataset
  let test: DigitsDataset
  let signature: [String: String]

  init(seed: UInt64, freezeBase: Bool, generator: RandomGenerator) throws {
    (train, test) = try DigitsDataset.load().split(seed: seed)
    let base = Dense(inputSize: 64, outputSize: 64, activation: .relu, generator: generator)
    let head = Dense(inputSize: 64, outputSize: 10, generator: generator)
    if freezeBase { base.freeze() }
    network = Sequential([base, head])
    signature = ["model": "mlp", "data": "digits", "freeze_base": "\(freezeBase)"]
  }

  var model: any Module { network }
  var exampleCount: Int { train.count }

  func loss(_ indices: [Int]) -> Tensor {
    let (x, y) = train.batch(indices)
    return softmaxCrossEntropy(logits: network(x), labels: y)
  }

  func evaluate() -> [String: Double] {
    let predicted = network(test.features).argmaxLastAxis().scalars
    let right = zip(predicted, test.labels.scalars).filter { $0 == $1 }.count
    return ["accuracy": Double(right) / Double(test.count)]
  }
}

/// A 2-layer causal transformer (width 64, 4 heads) on a character-level text file.
final class TextTask: TrainingTask {
  let network: TransformerLM
  let data: CharacterDataset
  let signature: [String: String]
  private let evalWindows: [Int]

  init(path: String, freezeBase: Bool, generator: RandomGenerator) throws {
    data = try CharacterDataset(contentsOf: path, length: 32)
    network = TransformerLM(
      vocabularySize: data.vocabulary.count, width: 64, heads: 4, layers: 2, maxLength: 32,
      generator: generator)
    if freezeBase {
      for block in network.blocks { block.freeze() }
      network.tokenEmbedding.freeze()
      network.positionEmbedding.freeze()
    }
    evalWindows = Array(stride(from: 0, to: data.windowCount, by: max(1, data.windowCount / 64)))
      .prefix(64).map { $0 }
    signature = [
      "model": "transformer", "data": (path as NSString).lastPathComponent,
      "freeze_base": "\(freezeBase)", "vocabulary": "\(data.vocabulary.count)",
    ]
  }

  var model: any Module { network }
  var exampleCount: Int { data.windowCount }

  func loss(_ indices: [Int]) -> Tensor {
    let (x, y) = data.batch(indices)
    return softmaxCrossEntropy(logits: network(x), labels: y)
  }

  func evaluate() -> [String: Double] {
    let (x, y) = data.batch(evalWindows)
    let logits = network(x)
    let predicted = logits.argmaxLastAxis().scalars
    let right = zip(predicted, y.scalars).filter { $0 == $1 }.count
    return [
      "accuracy": Double(right) / Double(y.count),
      "eval_loss": Double(softmaxCrossEntropy(logits: logits, labels: y).item),
    ]
  }
}
