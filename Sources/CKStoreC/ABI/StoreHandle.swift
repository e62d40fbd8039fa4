import CKStore
import CKStoreCABI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The ABI version this library implements (`CKSTORE_ABI_VERSION` in ckstore.h).
@_cdecl("ckstore_abi_version")
public func ckstore_abi_version() -> Int32 { Int32(CKSTORE_ABI_VERSION) }

/// Frees a string returned by this library.
@_cdecl("ckstore_string_free")
public func ckstore_string_free(_ string: UnsafeMutablePointer<CChar>?) { free(string) }

/// Opens a store; the handle owns one reference to it until `ckstore_close`.
@_cdecl("ckstore_open")
public func ckstore_open(
  _ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let out = try required(out, "store out-parameter")
    let opened = try Store.open(at: try argument(path, "path"))
    out.pointee = OpaquePointer(Unmanaged.passRetained(opened).toOpaque())
  }
}

/// Creates and opens a store.
@_cdecl("ckstore_create")
public func ckstore_create(
  _ path: UnsafePointer<CChar>?, _ chunkSize: Int64, _ compressionLevel: Int32,
  _ out: UnsafeMutablePointer<OpaquePointer?>?, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let out = try required(out, "store out-parameter")
    guard chunkSize >= 0, let chunk = Int(exactly: chunkSize) else {
      throw StoreError(.invalidArgument, "chunk size \(chunkSize) is negative")
    }
    let configuration = StoreConfiguration(
      chunkSize: chunk == 0 ? StoreConfiguration.defaultChunkSize : chunk,
      compressionLevel: compressionLevel == 0
        ? StoreConfiguration.defaultCompressionLevel : Int(compressionLevel))
    let created = try Store.create(
      at: try argument(path, "path"), configuration: configuration)
    out.pointee = OpaquePointer(Unmanaged.passRetained(created).toOpaque())
  }
}

/// Drops the handle's reference to its store.
@_cdecl("ckstore_close")
public func ckstore_close(_ handle: OpaquePointer?) {
  guard let handle else { return }
  Unmanaged<Store>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// Resolves a revision to a commit id.
@_cdecl("ckstore_resolve")
public func ckstore_resolve(
  _ handle: OpaquePointer?, _ revision: UnsafePointer<CChar>?,
  _ commitID: UnsafeMutablePointer<CChar>?, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let out = try required(commitID, "commit id buffer")
    let commit = try store(handle).resolve(try argument(revision, "revision"))
    writeID(commit.id, to: out)
  }
}
