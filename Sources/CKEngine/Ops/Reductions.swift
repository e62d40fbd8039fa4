extension Tensor {
  /// Normalises possibly negative axes, sorted and unique; all axes when nil.
  func _axes(_ axes: [Int]?) -> [Int] {
    guard let axes else { return Array(0..<rank) }
    let norm = axes.map { a -> Int in
      let b = a < 0 ? a + rank : a
      precondition(b >= 0 && b < rank, "axis \(a) out of range for shape \(shape)")
      return b
    }
    return Array(Set(norm)).sorted()
  }

  /// The shape after reducing `axes`.
  func _reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
    keepDims
      ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
      : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
  }

  /// Sum along `axes` (all axes when nil), dropping them unless `keepDims`.
  public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let ax = _axes(axes)
    var t = self.detached
    for a in ax { t = _reduceSum(t, axis: a) }
    let out = Tensor(shape: _reducedShape(ax, keepDims: keepDims), storage: t.storage)
    guard let tape = _activeTape(self) else { return out }
    let kept = _reducedShape(ax, keepDims: true)
    let s = shape
    return tape._append(out, inputs: [self]) { g in
      [Tensor(shape: kept, storage: g.storage).broadcast(to: s)]
    }
  }

  /// Mean along `axes` (all axes when nil), dropping them unless `keepDims`.
  public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let ax = _axes(axes)
    let n = ax.reduce(1) { $0 * shape[$1] }
    return sum(axes: ax, keepDims: keepDims) * (1 / Float(n))
  }

  /// Maximum along `axes` (all axes when nil); the gradient goes to the first maximal element.
  public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let ax = _axes(axes)
    var t = self
    for a in ax { t = t._max1(axis: a) }
    return t.reshaped(_reducedShape(ax, keepDims: keepDims))
  }

  /// Maximum along one axis, kept with extent 1.
  func _max1(axis: Int) -> Tensor {
    let (out, arg) = _reduceMax(self, axis: axis)
    guard let tape = _activeTape(self) else { return out }
    let s = shape
    return tape._append(out, inputs: [self]) { g in
      let (outer, n, inner) = _split(s, axis)
      let gp = g.storage.base
      let dx = Tensor(shape: s) { d in
        d.update(repeating: 0, count: outer * n * inner)
        arg.withUnsafeBufferPointer { a in
          for i in 0..<outer {
            for k in 0..<inner {
              d[(i * n + Int(a[i * inner + k])) * inner + k] = gp[i * inner + k]
            }
          }
        }
      }
      return [dx]
    }
  }

  /// The index of the maximum along the last axis (first on ties), e.g. predicted classes.
  public func argmaxLastAxis() -> IntTensor {
    let (_, arg) = _reduceMax(self.detached, axis: rank - 1)
    return try! IntTensor(shape: Array(shape.dropLast()), scalars: arg)
  }
}
