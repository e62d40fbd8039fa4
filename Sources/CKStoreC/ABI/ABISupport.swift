import CKStore
import CKStoreCABI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A C caller's error out-parameter (`char **error`): receives a malloc'd message on failure.
public typealias ErrorOut = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

/// Runs `body`, turning every error into a status code and a message for the C caller, so that
/// nothing unwinds across the ABI.
func guarded(_ error: ErrorOut, _ body: () throws -> Void) -> Int32 {
  error?.pointee = nil
  do {
    try body()
    return Int32(CKSTORE_OK)
  } catch let failure as StoreError {
    error?.pointee = duplicate(failure.message)
    return statusCode(failure.code)
  } catch let other {
    error?.pointee = duplicate("internal error: \(other)")
    return Int32(CKSTORE_E_INTERNAL)
  }
}

/// The header's status code for each store error code (one to one; see ckstore.h).
func statusCode(_ code: StoreError.Code) -> Int32 {
  let value: Int
  switch code {
  case .storeNotFound: value = CKSTORE_E_STORE_NOT_FOUND
  case .unsupportedFormat: value = CKSTORE_E_UNSUPPORTED_FORMAT
  case .objectNotFound: value = CKSTORE_E_OBJECT_NOT_FOUND
  case .corruptObject: value = CKSTORE_E_CORRUPT_OBJECT
  case .invalidName: value = CKSTORE_E_INVALID_NAME
  case .invalidTensor: value = CKSTORE_E_INVALID_TENSOR
  case .unknownRevision: value = CKSTORE_E_UNKNOWN_REVISION
  case .ambiguousRevision: value = CKSTORE_E_AMBIGUOUS_REVISION
  case .prunedCommit: value = CKSTORE_E_PRUNED_COMMIT
  case .refConflict: value = CKSTORE_E_REF_CONFLICT
  case .locked: value = CKSTORE_E_LOCKED
  case .malformedSafetensors: value = CKSTORE_E_MALFORMED_SAFETENSORS
  case .unsupportedDtype: value = CKSTORE_E_UNSUPPORTED_DTYPE
  case .io: value = CKSTORE_E_IO
  case .compression: value = CKSTORE_E_COMPRESSION
  case .invalidArgument: value = CKSTORE_E_INVALID_ARGUMENT
  }
  return Int32(value)
}

/// A malloc'd copy of `text`, freed by the caller with `ckstore_string_free` (or by a list's
/// free function).
func duplicate(_ text: String) -> UnsafeMutablePointer<CChar> {
  text.withCString { strdup($0)! }
}

/// Zeroed malloc'd room for `count` values (at least one, so that the pointer is never NULL).
func allocate<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
  calloc(max(1, count), MemoryLayout<T>.stride)!.assumingMemoryBound(to: T.self)
}

/// A C string argument as a Swift string; `what` names the argument in the error.
func argument(_ pointer: UnsafePointer<CChar>?, _ what: String) throws -> String {
  guard let pointer else { throw StoreError(.invalidArgument, "\(what) is NULL") }
  guard let text = String(validatingCString: pointer) else {
    throw StoreError(.invalidArgument, "\(what) is not valid UTF-8")
  }
  return text
}

/// A required out-parameter, or an `invalidArgument` error naming it.
func required<T>(_ pointer: UnsafeMutablePointer<T>?, _ what: String) throws
  -> UnsafeMutablePointer<T>
{
  guard let pointer else { throw StoreError(.invalidArgument, "\(what) is NULL") }
  return pointer
}

/// The store behind a handle made by `ckstore_open`/`ckstore_create`.
func store(_ handle: OpaquePointer?) throws -> Store {
  guard let handle else { throw StoreError(.invalidArgument, "store handle is NULL") }
  return Unmanaged<Store>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// Writes a commit id with its NUL into a caller's `CKSTORE_ID_SIZE`-byte buffer.
func writeID(_ id: ObjectID, to buffer: UnsafeMutablePointer<CChar>) {
  let hex = Array(id.hex.utf8)
  for (i, byte) in hex.enumerated() { buffer[i] = CChar(bitPattern: byte) }
  buffer[hex.count] = 0
}

/// Copies a commit id into a fixed-size C array field (`char id[CKSTORE_ID_SIZE]`).
func writeID<Field>(_ id: ObjectID?, into field: inout Field) {
  withUnsafeMutableBytes(of: &field) { raw in
    raw.initializeMemory(as: UInt8.self, repeating: 0)
    if let id { raw.copyBytes(from: Array(id.hex.utf8)) }
  }
}
