import Foundation
import Testing

@Suite struct CLISmokeTests {
  @Test func helpNamesTheTool() throws {
    let run = try CLI.run(["--help"])
    #expect(run.status == 0)
    #expect(run.stdout.contains("ckstore"))
  }
}
