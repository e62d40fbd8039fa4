// Fast child listings for the built-in layers (see `_ListsChildren`). Each must list every stored
// property that can hold a parameter, under its property name; `ModuleTests` compares every
// built-in layer against `namedParametersByReflection()`.

extension Dense: _ListsChildren {
  var _children: [(label: String, value: Any)] {
    [("weight", weight)] + (bias.map { [("bias", $0 as Any)] } ?? [])
  }
}

extension Sequential: _ListsChildren {
  var _children: [(label: String, value: Any)] {
    layers.enumerated().map { ("layers.\($0.offset)", $0.element as Any) }
  }
}

extension MLP: _ListsChildren {
  var _children: [(label: String, value: Any)] { [("fc1", fc1), ("fc2", fc2)] }
}

extension Embedding: _ListsChildren {
  var _children: [(label: String, value: Any)] { [("weight", weight)] }
}

extension LayerNorm: _ListsChildren {
  var _children: [(label: String, value: Any)] { [("weight", weight), ("bias", bias)] }
}

extension MultiHeadSelfAttention: _ListsChildren {
  var _children: [(label: String, value: Any)] { [("wq", wq), ("wk", wk), ("wv", wv), ("wo", wo)] }
}

extension TransformerBlock: _ListsChildren {
  var _children: [(label: String, value: Any)] {
    [("ln1", ln1), ("attention", attention), ("ln2", ln2), ("mlp", mlp)]
  }
}

extension TransformerLM: _ListsChildren {
  var _children: [(label: String, value: Any)] {
    [
      ("tokenEmbedding", tokenEmbedding), ("positionEmbedding", positionEmbedding),
      ("finalNorm", finalNorm), ("head", head),
    ] + blocks.enumerated().map { ("blocks.\($0.offset)", $0.element as Any) }
  }
}
