import CKRemote
import Foundation
import Testing

/// Credential, region and endpoint resolution with temporary AWS files and an environment of
/// the test's own (the process environment is never read or changed).
@Suite struct S3CredentialsTests {
  /// A temporary home directory with `~/.aws/credentials` and `~/.aws/config`.
  final class Home {
    let path: String
    init(credentials: String? = nil, config: String? = nil) throws {
      path =
        FileManager.default.temporaryDirectory.appendingPathComponent(
          "ck-home-\(UUID().uuidString)"
        ).path
      try FileManager.default.createDirectory(
        atPath: path + "/.aws", withIntermediateDirectories: true)
      if let credentials {
        try Data(credentials.utf8).write(to: URL(fileURLWithPath: path + "/.aws/credentials"))
      }
      if let config { try Data(config.utf8).write(to: URL(fileURLWithPath: path + "/.aws/config")) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
  }

  static let files = (
    credentials: """
    [default]
    aws_access_key_id = FILEDEFAULTID
    aws_secret_access_key = fileDefaultSecret
    # a comment
    [dev]
    aws_access_key_id=FILEDEVID
    aws_secret_access_key=fileDevSecret
    aws_session_token = devToken
    """,
    config: """
    [default]
    region = eu-west-1
    [profile dev]
    region = ap-south-1
    endpoint_url = http://127.0.0.1:9000
    s3 =
      addressing_style = virtual
    [profile cfgonly]
    aws_access_key_id = CFGID
    aws_secret_access_key = cfgSecret
    services = local
    [services local]
    s3 =
      endpoint_url = http://localhost:7000
    """
  )

  @Test func environmentKeysWinOverTheDefaultProfile() throws {
    let home = try Home(credentials: Self.files.credentials, config: Self.files.config)
    let c = try S3Configuration.resolve(
      environment: [
        "AWS_ACCESS_KEY_ID": "ENVID", "AWS_SECRET_ACCESS_KEY": "envSecret",
        "AWS_SESSION_TOKEN": "envToken", "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "ignored-1",
      ], homeDirectory: home.path)
    #expect(
      c.credentials
        == S3Credentials(
          accessKeyID: "ENVID", secretAccessKey: "envSecret", sessionToken: "envToken"))
    #expect(c.region == "us-west-2")
    #expect(c.endpoint.absoluteString == "https://s3.us-west-2.amazonaws.com")
    #expect(c.addressing == .virtualHosted)
  }

  @Test func defaultProfileFromFiles() throws {
    let home = try Home(credentials: Self.files.credentials, config: Self.files.config)
    let c = try S3Configuration.resolve(
      environment: ["AWS_DEFAULT_REGION": "ca-central-1"], homeDirectory: home.path)
    #expect(c.credentials.accessKeyID.value == "FILEDEFAULTID")
    #expect(c.credentials.secretAccessKey.value == "fileDefaultSecret")
    #expect(c.credentials.sessionToken == nil)
    #expect(c.region == "ca-central-1")  // the environment beats the profile's region
    let d = try S3Configuration.resolve(environment: [:], homeDirectory: home.path)
    #expect(d.region == "eu-west-1")
  }

  @Test func awsProfileSelectsNamedSectionsAndItsEndpoint() throws {
    let home = try Home(credentials: Self.files.credentials, config: Self.files.config)
    let c = try S3Configuration.resolve(
      environment: ["AWS_PROFILE": "dev"], homeDirectory: home.path)
    #expect(
      c.credentials
        == S3Credentials(
          accessKeyID: "FILEDEVID", secretAccessKey: "fileDevSecret", sessionToken: "devToken"))
    #expect(c.region == "ap-south-1")
    #expect(c.endpoint.absoluteString == "http://127.0.0.1:9000")
    #expect(c.addressing == .virtualHosted)  // the profile's addressing_style
    // An explicit profile beats keys in the environment, as `aws --profile` does.
    let e = try S3Configuration.resolve(
      profile: "dev",
      environment: ["AWS_ACCESS_KEY_ID": "ENVID", "AWS_SECRET_ACCESS_KEY": "envSecret"],
      homeDirectory: home.path)
    #expect(e.credentials.accessKeyID.value == "FILEDEVID")
  }

  @Test func configFileKeysAndServicesEndpoint() throws {
    let home = try Home(credentials: Self.files.credentials, config: Self.files.config)
    let c = try S3Configuration.resolve(
      environment: ["AWS_PROFILE": "cfgonly"], homeDirectory: home.path)
    #expect(c.credentials.accessKeyID.value == "CFGID")
    #expect(c.endpoint.absoluteString == "http://localhost:7000")
    #expect(c.addressing == .path)
    #expect(c.region == "us-east-1")
  }

  @Test func endpointPrecedence() throws {
    let home = try Home(credentials: Self.files.credentials, config: Self.files.config)
    let env = [
      "AWS_PROFILE": "dev", "AWS_ENDPOINT_URL": "http://global:1",
      "AWS_ENDPOINT_URL_S3": "http://s3only:2",
    ]
    #expect(
      try S3Configuration.resolve(environment: env, homeDirectory: home.path).endpoint
        .absoluteString == "http://s3only:2")
    var noS3 = env
    noS3["AWS_ENDPOINT_URL_S3"] = nil
    #expect(
      try S3Configuration.resolve(environment: noS3, homeDirectory: home.path).endpoint
        .absoluteString == "http://global:1")
    #expect(
      try S3Configuration.resolve(
        endpoint: "http://explicit:3", environment: env, homeDirectory: home.path
      )
      .endpoint.absoluteString == "http://explicit:3")
    var ignore = env
    ignore["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
    #expect(
      try S3Configuration.resolve(environment: ignore, homeDirectory: home.path).endpoint
        .absoluteString == "https://s3.ap-south-1.amazonaws.com")
    #expect(throws: RemoteError.self) {
      try S3Configuration.resolve(
        endpoint: "ftp://nope", environment: env, homeDirectory: home.path)
    }
  }

  @Test func fileLocationsFromTheEnvironment() throws {
    let home = try Home()
    let other = try Home(
      credentials: "[x]\naws_access_key_id = OTHERID\naws_secret_access_key = s\n",
      config: "[profile x]\nregion = sa-east-1\n")
    let c = try S3Configuration.resolve(
      environment: [
        "AWS_PROFILE": "x", "AWS_SHARED_CREDENTIALS_FILE": other.path + "/.aws/credentials",
        "AWS_CONFIG_FILE": other.path + "/.aws/config",
      ], homeDirectory: home.path)
    #expect(c.credentials.accessKeyID.value == "OTHERID")
    #expect(c.region == "sa-east-1")
  }

  @Test func missingCredentialsNameWhereItLooked() throws {
    let home = try Home(config: "[default]\nregion = eu-west-1\n")
    let error = try #require(throws: RemoteError.self) {
      try S3Configuration.resolve(environment: ["AWS_PROFILE": "nope"], homeDirectory: home.path)
    }
    #expect(error.code == .missingCredentials)
    #expect(
      error.message.contains("'nope'") && error.message.contains(home.path + "/.aws/credentials"))
  }

  @Test func secretsNeverPrint() throws {
    let creds = S3Credentials(
      accessKeyID: "AKIDSHOULDNOTPRINT", secretAccessKey: "SECRETSHOULDNOTPRINT",
      sessionToken: "TOKENSHOULDNOTPRINT")
    let config = S3Configuration(
      endpoint: URL(string: "http://127.0.0.1:1")!, region: "us-east-1", credentials: creds)
    var dumped = ""
    dump(config, to: &dumped)
    dump(creds, to: &dumped)
    for text in [
      String(describing: creds), String(reflecting: creds), String(describing: config),
      String(reflecting: config), "\(creds.secretAccessKey)", dumped,
    ] {
      for secret in ["AKIDSHOULDNOTPRINT", "SECRETSHOULDNOTPRINT", "TOKENSHOULDNOTPRINT"] {
        #expect(!text.contains(secret), "\(secret) printed in: \(text)")
      }
    }
  }

  @Test func s3URLs() throws {
    let u = try S3URL("s3://my-bucket/team/run-1/")
    #expect(u.bucket == "my-bucket" && u.prefix == "team/run-1")
    #expect(u.description == "s3://my-bucket/team/run-1")
    #expect(try S3URL("s3://my.bucket").prefix == "")
    for bad in [
      "http://b/p", "s3://", "s3://UPPER/x", "s3://ab", "s3://b-/x", "s3://bucket/a//b",
      "s3://bucket/a/../b",
    ] {
      let error = try #require(throws: RemoteError.self) { try S3URL(bad) }
      #expect(error.code == .invalidRemote)
      #expect(error.message.contains("'\(bad)'"))
    }
  }
}
