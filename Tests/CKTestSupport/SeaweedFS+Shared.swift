import Foundation

extension SeaweedFS {
  /// One single-process service shared by every test in this process that does not kill
  /// anything (each test uses buckets of its own), started on first use and stopped at exit.
  public static func shared() throws -> SeaweedFS {
    try SharedService.instance.get()
  }
}

private enum SharedService {
  static let instance: Result<SeaweedFS, Error> = {
    let result = Result { try SeaweedFS() }
    atexit { if case .success(let s) = SharedService.instance { s.stop() } }
    return result
  }()
}
