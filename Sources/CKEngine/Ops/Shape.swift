extension Tensor {
  /// The same elements with a new shape; one extent may be -1 to be inferred.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    var s = newShape
    if let i = s.firstIndex(of: -1) {
      let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
      precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
      s[i] = count / known
    }
    precondition(_product(s) == count, "cannot reshape \(shape) to \(newShape)")
    let out = Tensor(shape: s, storage: storage)
    guard let tape = _activeTape(self) else { return out }
    let old = shape
    return tape._append(out, inputs: [self]) { g in [Tensor(shape: old, storage: g.storage)] }
  }

  /// Axes permuted: output axis `i` is input axis `permutation[i]` (a copy).
  public func transposed(_ permutation: [Int]) -> Tensor {
    precondition(
      permutation.sorted() == Array(0..<rank), "bad permutation \(permutation) for rank \(rank)")
    let outShape = permutation.map { shape[$0] }
    var inStrides = [Int](repeating: 1, count: rank)
    for i in stride(from: rank - 2, through: 0, by: -1) {
      inStrides[i] = inStrides[i + 1] * shape[i + 1]
    }
    let strides = permutation.map { inStrides[$0] }
    let src = storage.base
    let n = count
    let r = rank
    let out = Tensor(shape: outShape) { o in
      if n == 0 { return }
      if r == 0 {
        o[0] = src[0]
        return
      }
      var index = [Int](repeating: 0, count: r)
      var off = 0
      let inner = outShape[r - 1]
      let si = strides[r - 1]
      var dst = o
      for _ in 0..<(n / inner) {
        for j in 0..<inner { dst[j] = src[off + j * si] }
        dst += inner
        var d = r - 2
        while d >= 0 {
          index[d] += 1
          off += strides[d]
          if index[d] < outShape[d] { break }
          off -= strides[d] * outShape[d]
          index[d] = 0
          d -= 1
        }
      }
    }
    guard let tape = _activeTape(self) else { return out }
    var inverse = [Int](repeating: 0, count: rank)
    for (i, p) in permutation.enumerated() { inverse[p] = i }
    return tape._append(out, inputs: [self]) { g in [g.transposed(inverse)] }
  }

  /// The last two axes swapped (a copy).
  public var transposedLastTwo: Tensor {
    var p = Array(0..<rank)
    p.swapAt(rank - 1, rank - 2)
    return transposed(p)
  }

  /// The elements with index in `range` along `axis` (a copy).
  public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
    let ax = axis < 0 ? axis + rank : axis
    precondition(
      range.lowerBound >= 0 && range.upperBound <= shape[ax],
      "slice \(range) of axis \(ax) in \(shape)")
    let (outer, n, inner) = _split(shape, ax)
    var outShape = shape
    outShape[ax] = range.count
    let src = storage.base
    let out = Tensor(shape: outShape) { o in
      for i in 0..<outer {
        (o + i * range.count * inner).update(
          from: src + (i * n + range.lowerBound) * inner, count: range.count * inner)
      }
    }
    guard let tape = _activeTape(self) else { return out }
    let s = shape
    return tape._append(out, inputs: [self]) { g in
      let gp = g.storage.base
      return [
        Tensor(shape: s) { d in
          d.update(repeating: 0, count: outer * n * inner)
          for i in 0..<outer {
            (d + (i * n + range.lowerBound) * inner).update(
              from: gp + i * range.count * inner, count: range.count * inner)
          }
        }
      ]
    }
  }

  /// Tensors joined along `axis`; all other extents must agree.
  public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concat of no tensors")
    let first = tensors[0]
    let ax = axis < 0 ? axis + first.rank : axis
    for t in tensors {
      precondition(
        t.rank == first.rank
          && (0..<t.rank).allSatisfy { $0 == ax || t.shape[$0] == first.shape[$0] },
        "cannot concat \(t.shape) with \(first.shape) along \(ax)")
    }
    let sizes = tensors.map { $0.shape[ax] }
    let total = sizes.reduce(0, +)
    var outShape = first.shape
    outShape[ax] = total
    let (outer, _, inner) = _split(outShape, ax)
    let out = Tensor(shape: outShape) { o in
      var offset = 0
      for (t, size) in zip(tensors, sizes) {
        let src = t.storage.base
        for i in 0..<outer {
          (o + (i * total + offset) * inner).update(
            from: src + i * size * inner, count: size * inner)
        }
        offset += size
      }
    }
    guard let tape = GradientTape._current, tensors.contains(where: { _needs($0, tape) }) else {
      return out
    }
    return tape._append(out, inputs: tensors) { g in
      var offset = 0
      return sizes.map { size in
        defer { offset += size }
        return g.slice(axis: ax, offset..<(offset + size))
      }
    }
  }
}
