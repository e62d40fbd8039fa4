import CKStore
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `ckstore train` SIGKILLed at random instants and restarted at once, as a preempted job is:
/// no restart may fail (a ref lock left by the killed writer must not block it), and the store
/// stays sound. 20 rounds here; `CKSTORE_LONG=1` runs 200 (scripts/kill-resume.sh).
@Suite(.serialized) struct KillResumeTests {
  static var rounds: Int {
    let env = ProcessInfo.processInfo.environment
    if let n = env["CKSTORE_KILL_ROUNDS"].flatMap(Int.init) { return n }
    return env["CKSTORE_LONG"] == "1" ? 200 : 20
  }

  @Test func killedAndRestartedAtOnceItAlwaysResumes() throws {
    let dir = try TempDir()
    let store = dir.path("store")
    try CLI.ok(["init", store])
    let args = ["train", "--steps", "100000000", "--save-every", "10", "--store", store]
    var rng = SystemRandomNumberGenerator()
    var failures: [String] = []
    var killedDuringRun = 0
    for round in 1...Self.rounds {
      let log = URL(fileURLWithPath: dir.path("round\(round)"))
      let process = try CLI.start(args, output: log)
      // Start-up takes about 0.2 s; the kills land before, during and after the first saves.
      usleep(UInt32.random(in: 50_000...700_000, using: &rng))
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        killedDuringRun += 1
      }
      process.waitUntilExit()
      if process.terminationReason == .exit {
        let stderr = (try? String(contentsOfFile: log.path + ".err", encoding: .utf8)) ?? ""
        failures.append("round \(round): exited \(process.terminationStatus): \(stderr)")
      }
      try? FileManager.default.removeItem(atPath: log.path + ".out")
      try? FileManager.default.removeItem(atPath: log.path + ".err")
    }
    #expect(failures == [], "\(failures.count) of \(Self.rounds) restarts failed")
    let reached = try Store.open(at: store).resolve("main").step
    print("kill-resume: \(Self.rounds) rounds, \(killedDuringRun) killed, reached step \(reached)")
    #expect(reached > 0)
    // A last run finishes normally from where the kills left it, and the store is sound.
    let final = try CLI.ok([
      "train", "--steps", "\(reached + 10)", "--save-every", "10", "--store", store,
    ])
    #expect(final.stdout.contains("resuming main from step \(reached)"), "\(final.stdout)")
    #expect(try Store.open(at: store).resolve("main").step == reached + 10)
    try CLI.ok(["fsck", "--store", store])
  }
}
