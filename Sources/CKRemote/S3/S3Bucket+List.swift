import Foundation

extension S3Bucket {
  /// ListObjectsV2 pages of `options.listPageSize` keys, following continuation tokens to the
  /// end.
  public func list(prefix: String) throws -> [BucketObject] {
    var objects: [BucketObject] = []
    var token: String?
    repeat {
      var query = [("list-type", "2"), ("max-keys", String(options.listPageSize))]
      if !prefix.isEmpty { query.append(("prefix", prefix)) }
      if let token { query.append(("continuation-token", token)) }
      let response = try transport.send(S3Request(method: "GET", key: nil, query: query))
      guard response.status == 200 else {
        throw failure(response, key: nil, "listing '\(prefix)'")
      }
      guard let root = S3XMLElement.parse(response.body), root.name == "ListBucketResult" else {
        throw RemoteError(
          .serverError, "\(displayName) answered a listing of '\(prefix)' with no ListBucketResult")
      }
      for entry in root.all("Contents") {
        guard let key = entry.text("Key") else { continue }
        objects.append(
          BucketObject(
            key: key, size: Int(entry.text("Size") ?? "") ?? 0, etag: entry.text("ETag") ?? "",
            lastModified: entry.text("LastModified").flatMap(S3Dates.iso8601)
              ?? Date(timeIntervalSince1970: 0)))
      }
      let truncated = root.text("IsTruncated") == "true"
      token = truncated ? root.text("NextContinuationToken") : nil
      if truncated, token == nil || token!.isEmpty {
        throw RemoteError(
          .serverError,
          "\(displayName) sent a truncated listing of '\(prefix)' without a continuation token")
      }
    } while token != nil
    return objects.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
  }
}
