// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "ckstore",
  products: [
    .library(name: "CKStore", targets: ["CKStore"]),
    .library(name: "CKEngine", targets: ["CKEngine"]),
    .library(name: "CKCheckpoint", targets: ["CKCheckpoint"]),
    .executable(name: "ckstore", targets: ["CkstoreCLI"]),
    .executable(name: "ckbench", targets: ["CKBench"]),
    // The C ABI (Sources/CKStoreC/include/ckstore.h) as libckstore_c.so, for Python and C callers.
    .library(name: "ckstore_c", type: .dynamic, targets: ["CKStoreC"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    .systemLibrary(
      name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(
      name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    .systemLibrary(
      name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    // The store: content-addressed tensors, trees, commits, refs. Knows nothing of training.
    .target(name: "CKStore", dependencies: ["CZstd", "CCrypto"]),
    // AVX2/FMA micro-kernels, compiled per function via target attributes (no unsafe flags).
    // Remotes: the S3 client and push/fetch/clone/gc against an object bucket. Needs the store,
    // never the engine.
    .target(name: "CKRemote", dependencies: ["CKStore", "CCrypto", "CCurl"]),
    .target(name: "CKKernels"),
    // The training engine: tensors, kernels, autodiff, layers, optimizers. Knows nothing of the store.
    .target(
      name: "CKEngine", dependencies: ["CKKernels"],
      resources: [.copy("Resources/digits.csv"), .copy("Resources/DIGITS-LICENSE.md")]),
    // Checkpoints of training state (models, optimizers, RNG, data position) in the store.
    .target(name: "CKCheckpoint", dependencies: ["CKStore", "CKEngine", "CKRemote"]),
    .executableTarget(
      name: "CkstoreCLI",
      dependencies: [
        "CKStore", "CKEngine", "CKCheckpoint", "CKRemote",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "CKBench",
      dependencies: [
        "CKStore", "CKEngine", "CKCheckpoint", "CKRemote", "CKTestSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // The C ABI: the header as a module (for its types), and its @_cdecl implementation.
    .systemLibrary(name: "CKStoreCABI", path: "Sources/CKStoreC/include"),
    .target(
      name: "CKStoreC", dependencies: ["CKStore", "CKStoreCABI"], path: "Sources/CKStoreC/ABI"),
    // What several test targets share (finding the built binary, a SeaweedFS of their own); the
    // benchmark starts its SeaweedFS with it too.
    .target(name: "CKTestSupport", path: "Tests/CKTestSupport"),
    .testTarget(name: "CKStoreTests", dependencies: ["CKStore"]),
    .testTarget(name: "CKEngineTests", dependencies: ["CKEngine"]),
    .testTarget(name: "CkstoreCLITests", dependencies: ["CKStore", "CKTestSupport"]),
    .testTarget(name: "CKStoreCTests", dependencies: ["CKStoreC", "CKStoreCABI", "CKStore"]),
    .testTarget(
      name: "CKCheckpointTests",
      dependencies: ["CKCheckpoint", "CKStore", "CKEngine", "CKTestSupport"]),
    .testTarget(
      name: "CKRemoteTests",
      dependencies: ["CKRemote", "CKStore", "CKCheckpoint", "CKEngine", "CKTestSupport"]),
  ]
)
