import CKStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `gc --keep-last 1` on a file system filled to 100%, which is when users run it. Needs root
/// to mount a small ext4 image through a loop device; skipped (and says so) where that fails.
@Suite(.serialized) struct FullDiskTests {
  /// A shell command's exit status.
  @discardableResult
  static func sh(_ command: String) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
  }

  /// Whether a 4 KiB file can be written (and fsynced) in `dir` now; the probe is removed.
  static func canWrite4KiB(_ dir: String) throws -> Bool {
    let probe = dir + "/probe-\(UUID().uuidString)"
    defer { unlink(probe) }
    return try sh("dd if=/dev/zero of='\(probe)' bs=4k count=1 conv=fsync && test -s '\(probe)'")
      == 0
  }

  static let canMount: Bool = {
    guard getuid() == 0 else { return false }
    let dir = NSTemporaryDirectory() + "ckstore-mount-probe-\(getpid())"
    defer { try? sh("umount '\(dir)' 2>/dev/null; rmdir '\(dir)'") }
    return (try? sh("mkdir -p '\(dir)' && mount -t tmpfs -o size=64k tmpfs '\(dir)'")) == 0
  }()

  @Test(.enabled(if: canMount, "needs root and mount(8)"))
  func gcKeepLastRunsOnAFullExt4() throws {
    let dir = NSTemporaryDirectory() + "ckstore-full-\(UUID().uuidString)"
    let image = dir + ".img"
    try #require(
      try Self.sh(
        "truncate -s 16M '\(image)' && mkfs.ext4 -q -F '\(image)' && mkdir -p '\(dir)' "
          + "&& mount -o loop '\(image)' '\(dir)'") == 0)
    defer { try? Self.sh("umount '\(dir)'; rmdir '\(dir)'; rm -f '\(image)'") }
    let store = dir + "/store"
    try #require(try CLI.run(["init", store]).status == 0)
    for step in 1...4 {
      let file = dir + "/in.safetensors"
      let tensor = try floatTensor("w", [256, 256], seed: UInt64(step))
      try Data(Safetensors.encode([tensor], metadata: [:])).write(to: URL(fileURLWithPath: file))
      let r = try CLI.run(["import", file, "--step", "\(step)", "--store", store])
      try #require(r.status == 0, "\(r.stderr)")
      try FileManager.default.removeItem(atPath: file)
    }
    // Fill every block, the ones reserved for root too (this runs as root).
    try Self.sh(
      "dd if=/dev/zero of='\(dir)/fill' bs=64k; dd if=/dev/zero of='\(dir)/fill2' bs=1k; sync")
    // Full as a writer sees it: a new folder and a 4 KiB write both fail with ENOSPC (ext4 keeps
    // a few blocks free that no file can get, so statvfs does not read 0).
    #expect(try Self.sh("mkdir '\(dir)/probe'") != 0, "a folder could still be created")
    #expect(try !Self.canWrite4KiB(dir), "a 4 KiB write still fits")

    let gc = try CLI.run(["gc", "--keep-last", "1", "--store", store])
    #expect(gc.status == 0, "\(gc.stderr)")
    #expect(gc.stdout.contains("pruned 3 commits"), "\(gc.stdout)")
    let log = try CLI.run(["log", "--oneline", "--store", store])
    #expect(log.stdout.components(separatedBy: "[pruned]").count - 1 == 3, "\(log.stdout)")
    #expect(try CLI.run(["fsck", "--store", store]).status == 0)
    #expect(try Self.canWrite4KiB(dir), "gc freed no block")
  }
}
