// Branch-free exp, tanh and sigmoid for the elementwise loops. glibc's expf/tanhf are scalar calls
// (tanhf alone was a third of a transformer step, through GELU); these are straight-line code that
// LLVM vectorises. Accuracy is checked against Double libm in `FastMathTests`.

/// eˣ with about 1 ulp of error on [-87, 88]; the input is clamped to that range, so large negative
/// inputs give ≈1.6e-38 instead of 0 and large positive ones ≈1.6e38 instead of infinity.
@inline(__always)
func _exp(_ x: Float) -> Float {
  let xc = Swift.min(Swift.max(x, -87), 88)
  // n = round(x / ln 2) by the 1.5·2²³ trick: the sum's low mantissa bits are n.
  let t = xc * 1.442_695_04 + 12_582_912
  let n = t - 12_582_912
  // r = x − n·ln 2, with ln 2 split in two for precision (Cody–Waite).
  let r = (xc - n * 0.693_359_375) - n * -2.121_944_4e-4
  // Cephes expf polynomial for e^r on [−ln2/2, ln2/2].
  var p: Float = 1.987_569_15e-4
  p = p * r + 1.398_199_95e-3
  p = p * r + 8.333_451_9e-3
  p = p * r + 4.166_579_59e-2
  p = p * r + 1.666_666_55e-1
  p = p * r + 5.000_000_12e-1
  let er = p * r * r + r + 1
  let scale = Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
  return er * scale
}

/// tanh(x): 1 − 2/(e²ˣ + 1), with a Taylor polynomial near 0 where that form cancels.
@inline(__always)
func _tanh(_ x: Float) -> Float {
  let big = 1 - 2 / (_exp(2 * x) + 1)
  let x2 = x * x
  let small = x * (1 + x2 * (-0.333_333_343 + x2 * (0.133_333_340 - x2 * 0.053_968_254)))
  return Swift.abs(x) < 0.125 ? small : big
}

/// The logistic sigmoid 1/(1 + e⁻ˣ); saturates cleanly thanks to the clamp in `_exp`.
@inline(__always)
func _sigmoid(_ x: Float) -> Float { 1 / (1 + _exp(-x)) }
