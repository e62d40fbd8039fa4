import Synchronization

/// The ckstore training engine: CPU tensors, kernels, autodiff, layers and optimizers.
///
/// Engine-wide settings live here. They are read by kernels on every call, so set them before
/// training starts rather than while work is in flight.
public enum CKEngine {
  /// The engine's version string.
  public static let version = "0.1.0"

  private static let _threadCount = Atomic<Int>(2)
  private static let _useNativeKernel = Atomic<Bool>(true)

  /// How many threads large kernels may use (1 or more; default 2, the cores of the target machine).
  ///
  /// Results are bit-identical for every setting: work is split by output element, never by the
  /// reduction axis.
  public static var threadCount: Int {
    get { _threadCount.load(ordering: .relaxed) }
    set { _threadCount.store(max(1, newValue), ordering: .relaxed) }
  }

  /// Whether GEMM may use the AVX2/FMA micro-kernel from `CKKernels` when the CPU supports it.
  ///
  /// When false (or on a CPU without AVX2/FMA) the portable Swift `SIMD16<Float>` micro-kernel is
  /// used. The two kernels round differently (fused vs separate multiply-add), so switching this in
  /// the middle of a run changes results; it exists for benchmarks and tests.
  public static var useNativeKernel: Bool {
    get { _useNativeKernel.load(ordering: .relaxed) && _nativeKernelAvailable }
    set { _useNativeKernel.store(newValue, ordering: .relaxed) }
  }

  /// Whether this CPU can run the AVX2/FMA micro-kernel at all.
  public static var nativeKernelAvailable: Bool { _nativeKernelAvailable }
}
