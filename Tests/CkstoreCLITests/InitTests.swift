import CKStore
import Foundation
import Testing

/// `init` and where commands find the store: `--store`, `CKSTORE_DIR`, `.ckstore` discovery.
@Suite struct InitTests {
  @Test func initDefaultsToDotCkstoreWhichIsDiscoveredFromBelow() throws {
    let box = try Sandbox(initStore: false)
    let r = try CLI.run(["init"], directory: box.dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout == "Initialized empty ckstore store in .ckstore\n")
    #expect(FileManager.default.fileExists(atPath: box.path(".ckstore/config")))
    let file = try box.write("w.safetensors", [try floatTensor("w", [3], seed: 1)])
    let deep = box.dir.appendingPathComponent("x/y")
    try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
    let imported = try CLI.run(["import", file, "--step", "7"], directory: deep)
    #expect(imported.status == 0, "\(imported.stderr)")
    let log = try CLI.run(["log", "--json"], directory: deep)
    #expect(try decodeLog(log.stdout).map(\.step) == [7])
    // Through CKSTORE_DIR too.
    let env = try CLI.run(["log", "--oneline"], environment: ["CKSTORE_DIR": box.path(".ckstore")])
    #expect(env.status == 0 && env.stdout.contains("step-7"))
  }

  @Test func initTakesCKSTOREDIR() throws {
    let box = try Sandbox(initStore: false)
    let target = box.path("from-env")
    let r = try CLI.run(["init"], environment: ["CKSTORE_DIR": target], directory: box.dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(FileManager.default.fileExists(atPath: target + "/config"))
  }

  /// Relative paths, including one-character folder names, as people type them.
  @Test(arguments: ["store", "s", "d/store", "deep/er/s"])
  func initAtARelativePath(path: String) throws {
    let box = try Sandbox(initStore: false)
    let r = try CLI.run(["init", path], directory: box.dir)
    #expect(r.status == 0, "ckstore init \(path) exited \(r.status): \(r.stderr.prefix(300))")
    #expect(FileManager.default.fileExists(atPath: box.path(path + "/config")))
    let file = try box.write("w.safetensors", [try floatTensor("w", [3], seed: 1)])
    let imported = try CLI.run(["import", file, "--store", path], directory: box.dir)
    #expect(imported.status == 0, "\(imported.stderr.prefix(300))")
  }
}
