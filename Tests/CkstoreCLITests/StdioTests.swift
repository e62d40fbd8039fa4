import Foundation
import Testing

/// Output that cannot be written is an error, never a crash and never a silent success.
@Suite struct StdioTests {
  @Test func anErrorReportedToAFullStderrStillExitsTwo() throws {
    let r = try CLI.run(["fsck", "--store", "/missing-ckstore-store"], stderrPath: "/dev/full")
    #expect(r.status == 2)
  }

  @Test func aWarningToAFullStderrDoesNotChangeTheExitCode() throws {
    let box = try Sandbox()
    try box.commit([try floatTensor("w", [4], seed: 1)], step: 1)
    let r = try CLI.run(["tag", "v1", "--store", box.store], stderrPath: "/dev/full")
    #expect(r.status == 0)
    #expect(try box.ok("tag", "--json").stdout.contains("\"v1\""))
  }

  @Test(arguments: [["log"], ["show", "HEAD"], ["stats"], ["tag"], ["branch"], ["fsck"]])
  func outputLostToAFullDiskExitsTwo(arguments: [String]) throws {
    let box = try Sandbox()
    try box.commit([try floatTensor("w", [4], seed: 1)], step: 1)
    try box.ok("tag", "v1")
    let r = try CLI.run(arguments + ["--store", box.store], stdoutPath: "/dev/full")
    #expect(r.status == 2, "\(arguments): \(r.stderr)")
    #expect(r.stderr.contains("cannot write standard output"), "\(r.stderr)")
  }

  @Test func diffKeepsItsExitCodeOneInJSONMode() throws {
    let box = try Sandbox()
    try box.commit([try floatTensor("w", [4], seed: 1)], step: 1)
    try box.commit([try floatTensor("w", [4], seed: 2)], step: 2)
    #expect(try box.ck("diff", "HEAD~1", "HEAD", "--json").status == 1)
    #expect(try box.ck("fsck", "--json").status == 0)
  }
}
