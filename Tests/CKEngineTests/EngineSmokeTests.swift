import CKEngine
import Testing

@Suite struct EngineSmokeTests {
  @Test func versionIsSet() { #expect(!CKEngine.version.isEmpty) }
}
