import Foundation

/// How a bucket is named in a request's URL.
public enum S3Addressing: String, Sendable, Equatable {
  /// `https://endpoint/BUCKET/KEY`: what custom endpoints (SeaweedFS, MinIO, Ceph) expect.
  case path
  /// `https://BUCKET.endpoint/KEY`: AWS's own endpoints.
  case virtualHosted
}

/// Where and as whom to talk S3: endpoint, region, credentials and addressing style.
///
/// `resolve` finds them the way the AWS CLI does, so a user's existing AWS setup just works.
public struct S3Configuration: Sendable, CustomStringConvertible {
  /// The service endpoint, such as `https://s3.eu-west-1.amazonaws.com` or
  /// `http://127.0.0.1:8333`.
  public var endpoint: URL
  /// The signing region.
  public var region: String
  /// The key pair requests are signed with.
  public var credentials: S3Credentials
  /// Path-style or virtual-hosted bucket addressing.
  public var addressing: S3Addressing

  /// A configuration from its parts; `addressing` defaults to virtual-hosted for AWS's own
  /// endpoints and path-style for any other.
  public init(
    endpoint: URL, region: String, credentials: S3Credentials, addressing: S3Addressing? = nil
  ) {
    self.endpoint = endpoint
    self.region = region
    self.credentials = credentials
    self.addressing = addressing ?? (Self.isAWS(endpoint) ? .virtualHosted : .path)
  }

  /// The endpoint, region and addressing; never the credentials.
  public var description: String {
    "S3Configuration(endpoint: \(endpoint.absoluteString), region: \(region), "
      + "addressing: \(addressing.rawValue))"
  }

  /// Whether `url` is one of AWS's own S3 endpoints.
  static func isAWS(_ url: URL) -> Bool {
    let host = url.host?.lowercased() ?? ""
    return host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn")
  }

  /// Resolves the configuration as the AWS CLI does.
  ///
  /// - Credentials: an explicit `profile` reads the AWS files; otherwise `AWS_ACCESS_KEY_ID` +
  ///   `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`) win, then the profile named by
  ///   `AWS_PROFILE` (or `default`) in the credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
  ///   `~/.aws/credentials`), then in the config file (`AWS_CONFIG_FILE`, else `~/.aws/config`,
  ///   sections `[profile NAME]` or `[default]`).
  /// - Region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`.
  /// - Endpoint: `endpoint` (the remote's own config) beats `AWS_ENDPOINT_URL_S3`, then
  ///   `AWS_ENDPOINT_URL`, then the profile's `services` section `s3 = endpoint_url`, then its
  ///   `endpoint_url`; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` drops the environment and
  ///   file ones. Without any, AWS's regional endpoint.
  /// - Addressing: the profile's `s3 = addressing_style` (`path`/`virtual`), else by endpoint.
  ///
  /// `environment` and `homeDirectory` default to the process's, and tests pass their own.
  /// Throws `.missingCredentials` (naming where it looked, never a value) or `.invalidRemote`
  /// for a malformed endpoint.
  public static func resolve(
    endpoint explicitEndpoint: String? = nil, profile explicitProfile: String? = nil,
    environment env: [String: String] = ProcessInfo.processInfo.environment,
    homeDirectory: String = NSHomeDirectory()
  ) throws -> S3Configuration {
    func nonEmpty(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
    let profileName = explicitProfile ?? nonEmpty("AWS_PROFILE") ?? "default"
    let credentialsPath =
      nonEmpty("AWS_SHARED_CREDENTIALS_FILE") ?? homeDirectory + "/.aws/credentials"
    let configPath = nonEmpty("AWS_CONFIG_FILE") ?? homeDirectory + "/.aws/config"
    let credentialsFile = try readFile(credentialsPath)
    let configFile = try readFile(configPath)
    let fromCredentials = credentialsFile?.sections[profileName] ?? [:]
    let profileSection = profileName == "default" ? "default" : "profile \(profileName)"
    let fromConfig = configFile?.sections[profileSection] ?? [:]

    var credentials: S3Credentials?
    if explicitProfile == nil, let id = nonEmpty("AWS_ACCESS_KEY_ID"),
      let secret = nonEmpty("AWS_SECRET_ACCESS_KEY")
    {
      credentials = S3Credentials(
        accessKeyID: id, secretAccessKey: secret, sessionToken: nonEmpty("AWS_SESSION_TOKEN"))
    } else {
      for section in [fromCredentials, fromConfig] {
        if let id = section["aws_access_key_id"], let secret = section["aws_secret_access_key"],
          !id.isEmpty, !secret.isEmpty
        {
          credentials = S3Credentials(
            accessKeyID: id, secretAccessKey: secret, sessionToken: section["aws_session_token"])
          break
        }
      }
    }
    guard let credentials else {
      throw RemoteError(
        .missingCredentials,
        "no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give "
          + "profile '\(profileName)' aws_access_key_id and aws_secret_access_key in "
          + "\(credentialsPath) or \(configPath)")
    }

    let region =
      nonEmpty("AWS_REGION") ?? nonEmpty("AWS_DEFAULT_REGION") ?? fromConfig["region"]
      ?? "us-east-1"
    let ignoreConfigured = nonEmpty("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.lowercased() == "true"
    let servicesEndpoint = fromConfig["services"].flatMap {
      configFile?.sections["services \($0)"]?["s3.endpoint_url"]
    }
    let configured =
      ignoreConfigured
      ? nil
      : nonEmpty("AWS_ENDPOINT_URL_S3") ?? nonEmpty("AWS_ENDPOINT_URL") ?? servicesEndpoint
        ?? fromConfig["endpoint_url"]
    let endpointString = explicitEndpoint ?? configured ?? "https://s3.\(region).amazonaws.com"
    guard let endpoint = URL(string: endpointString), let scheme = endpoint.scheme?.lowercased(),
      scheme == "http" || scheme == "https", endpoint.host != nil
    else {
      throw RemoteError(
        .invalidRemote, "'\(endpointString)' is not an S3 endpoint URL (expected http(s)://HOST)")
    }
    let addressing: S3Addressing? =
      switch fromConfig["s3.addressing_style"] {
      case "path": .path
      case "virtual": .virtualHosted
      default: nil
      }
    return S3Configuration(
      endpoint: endpoint, region: region, credentials: credentials, addressing: addressing)
  }

  /// The parsed file at `path`, or nil when there is none.
  private static func readFile(_ path: String) throws -> AWSConfigFile? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw RemoteError(.missingCredentials, "cannot read the AWS settings file \(path)")
    }
    return AWSConfigFile(parsing: String(decoding: data, as: UTF8.self))
  }
}
