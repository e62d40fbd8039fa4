/// The ckstore training engine: CPU tensors, kernels, autodiff, layers and optimizers.
public enum CKEngine {
  /// The engine's version string.
  public static let version = "0.1.0"
}
