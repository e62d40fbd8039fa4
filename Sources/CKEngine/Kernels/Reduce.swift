/// `x` viewed as [outer, n, inner] around `axis`.
func _split(_ shape: [Int], _ axis: Int) -> (outer: Int, n: Int, inner: Int) {
  (_product(Array(shape[..<axis])), shape[axis], _product(Array(shape[(axis + 1)...])))
}

/// The shape with `axis` set to 1.
func _keepDimsShape(_ shape: [Int], _ axis: Int) -> [Int] {
  var s = shape
  s[axis] = 1
  return s
}

/// Sum along one axis, keeping it with extent 1. Each output sums its inputs in index order.
func _reduceSum(_ x: Tensor, axis: Int) -> Tensor {
  let (outer, n, inner) = _split(x.shape, axis)
  let p = x.storage.base
  return Tensor(shape: _keepDimsShape(x.shape, axis)) { o in
    if inner == 1 {
      for i in 0..<outer {
        var s: Float = 0
        let row = p + i * n
        for j in 0..<n { s += row[j] }
        o[i] = s
      }
    } else {
      for i in 0..<outer {
        let dst = o + i * inner
        dst.update(repeating: 0, count: inner)
        for j in 0..<n {
          let src = p + (i * n + j) * inner
          for k in 0..<inner { dst[k] += src[k] }
        }
      }
    }
  }
}

/// Maximum along one axis (kept with extent 1) and the index of its first occurrence.
func _reduceMax(_ x: Tensor, axis: Int) -> (values: Tensor, argmax: [Int32]) {
  let (outer, n, inner) = _split(x.shape, axis)
  precondition(n > 0, "max over an empty axis of shape \(x.shape)")
  let p = x.storage.base
  var arg = [Int32](repeating: 0, count: outer * inner)
  let values = arg.withUnsafeMutableBufferPointer { a in
    Tensor(shape: _keepDimsShape(x.shape, axis)) { o in
      for i in 0..<outer {
        for k in 0..<inner {
          var best = p[i * n * inner + k]
          var bi: Int32 = 0
          for j in 1..<max(n, 1) {
            let v = p[(i * n + j) * inner + k]
            if v > best {
              best = v
              bi = Int32(j)
            }
          }
          o[i * inner + k] = best
          a[i * inner + k] = bi
        }
      }
    }
  }
  return (values, arg)
}
