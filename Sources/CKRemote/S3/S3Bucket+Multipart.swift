import Foundation

extension S3Bucket {
  /// Uploads a file in parts read with `pread`, `options.partsInFlight` at a time; the write
  /// condition is checked first (so a doomed upload sends nothing) and again, atomically, by the
  /// completing request. Any failure aborts the upload so no parts are left behind.
  func putMultipart(_ key: String, file path: String, size: Int, condition: WriteCondition)
    throws -> WriteOutcome
  {
    switch condition {
    case .none: break
    case .absent: if try head(key) != nil { return .conditionFailed }
    case .matches(let etag): if try head(key)?.etag != etag { return .conditionFailed }
    }
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
      throw RemoteError(.serverError, "cannot open \(path) to upload it as '\(key)'")
    }
    defer { close(fd) }

    let created = try transport.send(
      S3Request(
        method: "POST", key: key, query: [("uploads", "")],
        headers: ["content-type": "application/octet-stream"]))
    guard created.status == 200, let root = S3XMLElement.parse(created.body),
      let uploadID = root.text("UploadId")
    else { throw failure(created, key: key, "starting a multipart upload of") }
    do {
      // S3 allows 10,000 parts: grow the part size for files that would need more.
      let partSize = max(options.partSize, (size + 9_999) / 10_000)
      let partCount = (size + partSize - 1) / partSize
      let etags = try uploadParts(
        key, fd: fd, path: path, uploadID: uploadID, size: size, partSize: partSize,
        count: partCount)
      let outcome = try complete(key, uploadID: uploadID, etags: etags, condition: condition)
      if outcome == .conditionFailed { abort(key, uploadID: uploadID) }
      return outcome
    } catch {
      abort(key, uploadID: uploadID)
      throw error
    }
  }

  /// Uploads every part; returns their entity tags in part order.
  private func uploadParts(
    _ key: String, fd: Int32, path: String, uploadID: String, size: Int, partSize: Int, count: Int
  ) throws -> [String] {
    let state = PartState(count: count)
    runConcurrently(workers: min(options.partsInFlight, count)) {
      while let index = state.next() {
        do {
          let offset = index * partSize
          let length = min(partSize, size - offset)
          var body = Data(count: length)
          let read = body.withUnsafeMutableBytes {
            pread(fd, $0.baseAddress, length, off_t(offset))
          }
          guard read == length else {
            throw RemoteError(
              .serverError, "cannot read \(length) bytes at \(offset) of \(path) for '\(key)'")
          }
          let response = try self.transport.send(
            S3Request(
              method: "PUT", key: key,
              query: [("partNumber", String(index + 1)), ("uploadId", uploadID)], body: body))
          guard response.status == 200, let etag = response.headers["etag"] else {
            throw self.failure(response, key: key, "uploading part \(index + 1) of")
          }
          state.finish(index, etag: etag)
        } catch {
          state.fail(error)
        }
      }
    }
    return try state.result()
  }

  /// CompleteMultipartUpload with the condition's header. S3 may answer 200 with an error in
  /// the body, so the body is read either way.
  private func complete(
    _ key: String, uploadID: String, etags: [String], condition: WriteCondition
  ) throws -> WriteOutcome {
    var xml = "<CompleteMultipartUpload>"
    for (i, etag) in etags.enumerated() {
      xml += "<Part><PartNumber>\(i + 1)</PartNumber><ETag>\(etag)</ETag></Part>"
    }
    xml += "</CompleteMultipartUpload>"
    var headers = ["content-type": "application/xml"]
    Self.addCondition(condition, to: &headers)
    let response = try transport.send(
      S3Request(
        method: "POST", key: key, query: [("uploadId", uploadID)], headers: headers,
        body: Data(xml.utf8)))
    if response.status == 200, let root = S3XMLElement.parse(response.body),
      root.name == "CompleteMultipartUploadResult"
    {
      return .written(etag: root.text("ETag") ?? response.headers["etag"] ?? "")
    }
    if response.status == 412 || response.status == 409 { return .conditionFailed }
    throw failure(response, key: key, "completing the multipart upload of")
  }

  /// Best effort: a failed abort leaves parts that the bucket's lifecycle rules reclaim, and the
  /// error that led here is the one to report.
  private func abort(_ key: String, uploadID: String) {
    _ = try? transport.send(
      S3Request(method: "DELETE", key: key, query: [("uploadId", uploadID)]))
  }
}

/// The parts of one upload: which to send next, their entity tags, the first failure.
private final class PartState: @unchecked Sendable {
  private let lock = NSLock()
  private var nextIndex = 0
  private var etags: [String?]
  private var error: Error?

  init(count: Int) { etags = Array(repeating: nil, count: count) }

  /// The next part to send, or nil when all are taken or one failed.
  func next() -> Int? {
    lock.withLock {
      guard error == nil, nextIndex < etags.count else { return nil }
      defer { nextIndex += 1 }
      return nextIndex
    }
  }

  func finish(_ index: Int, etag: String) { lock.withLock { etags[index] = etag } }
  func fail(_ e: Error) { lock.withLock { if error == nil { error = e } } }

  func result() throws -> [String] {
    try lock.withLock {
      if let error { throw error }
      return etags.map { $0! }
    }
  }
}

/// Runs `body` on `workers` threads of their own (each blocks on network I/O, so the thread
/// count must not be capped at the core count as `concurrentPerform` is) and waits for all.
func runConcurrently(workers: Int, _ body: @escaping @Sendable () -> Void) {
  let group = DispatchGroup()
  for _ in 0..<workers {
    group.enter()
    let thread = Thread {
      body()
      group.leave()
    }
    thread.start()
  }
  group.wait()
}
