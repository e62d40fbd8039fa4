import CCurl
import Foundation

/// libcurl's process-wide setup, run once before the first handle: `curl_global_init` is not
/// thread-safe, and a Swift global's initializer runs exactly once.
private let curlGlobalSetup: CURLcode = ck_curl_global_init()

/// Why an exchange got no HTTP answer, in libcurl's words (never a header, so never a secret).
struct CurlFailure: Error, CustomStringConvertible {
  /// libcurl's detail for the failed transfer.
  let description: String
}

/// One HTTP exchange over libcurl's easy interface, on easy handles kept in a lock-protected
/// free list: a request borrows one and gives it back, so the next request on any thread reuses
/// its kept-alive connection (`curl_easy_reset` keeps live connections). The list grows to the
/// number of requests ever in flight at once, which the callers' threads bound.
final class CurlExchange: @unchecked Sendable {
  private let lock = NSLock()
  private var idle: [UnsafeMutableRawPointer] = []
  private let timeout: Double

  /// An exchange whose connects and idle transfers give up after `timeout` seconds.
  init(timeout: Double) { self.timeout = timeout }

  deinit { idle.forEach { curl_easy_cleanup($0) } }

  private func borrow() -> UnsafeMutableRawPointer? {
    guard curlGlobalSetup == CURLE_OK else { return nil }
    if let handle = lock.withLock({ idle.popLast() }) { return handle }
    return curl_easy_init()
  }

  private func giveBack(_ handle: UnsafeMutableRawPointer) {
    lock.withLock { idle.append(handle) }
  }

  /// Sends `method` to `url` with `headers` (the `host` header is libcurl's to send, from the
  /// URL) and `body` sent from memory with an exact `Content-Length`; blocks until the answer
  /// is in or the transfer failed.
  func perform(method: String, url: String, headers: [String: String], body: Data?)
    -> Result<S3Response, CurlFailure>
  {
    guard let handle = borrow() else {
      return .failure(CurlFailure(description: "libcurl could not be initialised"))
    }
    defer { giveBack(handle) }
    curl_easy_reset(handle)
    var lines = headers.filter { $0.key != "host" }.map { name, value in
      // "name:" would tell libcurl to drop the header; "name;" sends it empty.
      value.isEmpty ? "\(name);" : "\(name): \(value)"
    }
    // No 100-continue round trip before a body; no form content type libcurl would add.
    lines.append("expect:")
    let sendsBody = body != nil || method == "PUT" || method == "POST"
    if sendsBody, headers["content-type"] == nil { lines.append("content-type:") }
    var list: UnsafeMutablePointer<curl_slist>?
    defer { curl_slist_free_all(list) }
    for line in lines {
      guard let longer = curl_slist_append(list, line) else {
        return .failure(CurlFailure(description: "out of memory for request headers"))
      }
      list = longer
    }
    let sink = CurlResponseSink()
    var errorText = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    let code: CURLcode = (body ?? Data()).withUnsafeBytes { bytes in
      errorText.withUnsafeMutableBufferPointer { errorBuffer in
        configure(handle, method: method, url: url, headers: list)
        if sendsBody {
          // POSTFIELDS does not copy: the bytes stay valid until perform returns. An empty
          // body still needs a non-null pointer for libcurl to send `Content-Length: 0`.
          ck_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
          let start = bytes.baseAddress ?? UnsafeRawPointer(errorBuffer.baseAddress!)
          ck_curl_set_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: start))
        }
        ck_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer.baseAddress)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        ck_curl_set_pointer(handle, CURLOPT_HEADERDATA, context)
        ck_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)
        return curl_easy_perform(handle)
      }
    }
    guard code == CURLE_OK else {
      let detail = String(decoding: errorText.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self)
      return .failure(
        CurlFailure(
          description: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail))
    }
    return .success(
      S3Response(
        status: ck_curl_response_code(handle), headers: sink.headers, body: sink.takeBody()))
  }

  /// Every option but the body's and the per-call pointers: method, URL, headers, callbacks,
  /// timeouts and buffer sizes.
  private func configure(
    _ handle: UnsafeMutableRawPointer, method: String, url: String,
    headers: UnsafeMutablePointer<curl_slist>?
  ) {
    ck_curl_set_string(handle, CURLOPT_URL, url)
    ck_curl_set_headers(handle, headers)
    switch method {
    case "GET": break
    case "HEAD": ck_curl_set_long(handle, CURLOPT_NOBODY, 1)
    case "POST": ck_curl_set_long(handle, CURLOPT_POST, 1)
    default: ck_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method)
    }
    // Threads block in perform: libcurl must not use signals (alarm-based DNS timeouts).
    ck_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
    ck_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(timeout * 1000)))
    // `requestTimeout` is idle time: under 1 byte/s for that long fails the transfer.
    ck_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
    ck_curl_set_long(handle, CURLOPT_LOW_SPEED_TIME, max(1, Int(timeout.rounded(.up))))
    // Larger chunks than the 16 KiB / 64 KiB defaults: fewer callbacks and syscalls per MiB.
    ck_curl_set_long(handle, CURLOPT_BUFFERSIZE, 512 << 10)
    ck_curl_set_long(handle, CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10)
    ck_curl_set_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
      let sink = Unmanaged<CurlResponseSink>.fromOpaque(context!).takeUnretainedValue()
      sink.takeHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
      return size * count
    }
    ck_curl_set_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
      let sink = Unmanaged<CurlResponseSink>.fromOpaque(context!).takeUnretainedValue()
      return sink.takeBody(UnsafeRawBufferPointer(start: data, count: size * count))
        ? size * count : 0
    }
  }
}
