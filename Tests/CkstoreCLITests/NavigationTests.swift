import CKStore
import CKTestSupport
import Foundation
import Testing

/// Revisions (`^`, `^N`, `@{N}`, `best:`), `log` ranges, `--all --graph`, `--format`, `--sort`,
/// `diff REV`, `--name-only`, path filters, `show REV TENSOR`, and "did you mean".
@Suite struct NavigationTests {
  /// main: steps 100, 200, 300 with loss 0.9, 0.2, 0.5 and acc 0.1, 0.8, 0.6.
  private func history(_ box: Sandbox) throws -> [Commit] {
    let store = try Store.open(at: box.store)
    let losses: [Double] = [0.9, 0.2, 0.5]
    let accs: [Double] = [0.1, 0.8, 0.6]
    var commits: [Commit] = []
    for i in 0..<3 {
      let tensors: [TensorData] = [
        try floatTensor("model.a.w", [8], seed: UInt64(i)),
        try floatTensor("model.b.w", [8], seed: 99),
        try floatTensor("opt.m", [4], seed: UInt64(10 + i)),
      ]
      let metrics: [String: Double] = ["loss": losses[i], "acc": accs[i]]
      commits.append(
        try store.commit(
          tensors, to: "main", step: Int64(100 * (i + 1)), message: "epoch \(i + 1)",
          metrics: metrics))
    }
    return commits
  }

  private func id(_ box: Sandbox, _ revision: String) throws -> String {
    try decodeJSON(ShowJSON.self, try box.ok("show", revision, "--json").stdout).commit.id
  }

  @Test func parentReflogAndBestRevisions() throws {
    let box = try Sandbox()
    let c = try history(box).map(\.id.hex)
    #expect(try id(box, "HEAD^") == c[1])
    #expect(try id(box, "HEAD^1^") == c[0])
    #expect(try id(box, "HEAD~1^") == c[0])
    #expect(try id(box, "HEAD^0") == c[2])
    let second = try box.ck("show", "HEAD^2")
    #expect(second.status == 2 && second.stderr.contains("has 1 parents, not 2"))
    #expect(try id(box, "main@{0}") == c[2])
    #expect(try id(box, "main@{2}~0") == c[0])
    #expect(try id(box, "best:loss") == c[1])
    #expect(try id(box, "best:loss:max") == c[0])
    #expect(try id(box, "best:acc:max") == c[1])
    #expect(try id(box, "main:best:loss:min") == c[1])
    #expect(try id(box, "best:loss~1") == c[0])
    let unknown = try box.ck("show", "best:los")
    #expect(
      unknown.status == 2 && unknown.stderr.contains("did you mean 'loss'"), "\(unknown.stderr)")

    // Pruned commits are not candidates: their data is gone.
    try box.ok("gc", "--keep-last", "1")
    #expect(try id(box, "best:loss") == c[2])
  }

  @Test func bestOnAnotherBranch() throws {
    let box = try Sandbox()
    let c = try history(box)
    let store = try Store.open(at: box.store)
    try store.createBranch("exp", at: c[0].id)
    let e = try store.commit(
      [try floatTensor("model.a.w", [8], seed: 5)], to: "exp", step: 150, metrics: ["loss": 0.05])
    #expect(try id(box, "exp:best:loss") == e.id.hex)
    #expect(try id(box, "best:loss") == c[1].id.hex)
    let typo = try box.ck("show", "epx:best:loss")
    #expect(typo.status == 2 && typo.stderr.contains("did you mean 'exp'"), "\(typo.stderr)")
  }

  @Test func logRangesSortFormatAndReverse() throws {
    let box = try Sandbox()
    let c = try history(box).map(\.id)
    let range = try box.ok("log", "HEAD~2..HEAD", "--format", "%h").stdout
    #expect(range == "\(c[2].short)\n\(c[1].short)\n")
    #expect(try box.ok("log", "HEAD~1..", "--format", "%h").stdout == "\(c[2].short)\n")
    let formatted = try box.ok(
      "log", "-n", "1", "--format", "%H|%h|%step|%s|%{loss}|%{none}|%d|%D|%M|%P|100%%"
    ).stdout
    #expect(
      formatted
        == "\(c[2].hex)|\(c[2].short)|300|epoch 3|0.5|| (main)|main|acc=0.6 loss=0.5||100%\n")
    let sorted = try box.ok("log", "--sort", "loss", "--format", "%step").stdout
    #expect(sorted == "200\n300\n100\n")
    let reversed = try box.ok("log", "--sort", "loss", "--reverse", "--format", "%step").stdout
    #expect(reversed == "100\n300\n200\n")
    #expect(try box.ok("log", "--reverse", "--format", "%step").stdout == "100\n200\n300\n")
  }

  @Test func logAllGraphDrawsBranchesAndDecorations() throws {
    let box = try Sandbox()
    let store = try Store.open(at: box.store)
    let c1 = try store.commit([try floatTensor("w", [4], seed: 1)], to: "main", step: 1)
    let c2 = try store.commit([try floatTensor("w", [4], seed: 2)], to: "main", step: 2)
    try store.createBranch("exp", at: c1.id)
    let e1 = try store.commit([try floatTensor("w", [4], seed: 3)], to: "exp", step: 3)
    try box.ok("tag", "v1", c1.id.hex)
    let lines = try box.ok("log", "--all", "--graph").stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 4, "\(lines)")
    #expect(lines[0].hasPrefix("* \(e1.id.short) (exp)  step-3"), "\(lines)")
    #expect(lines[1].hasPrefix("| * \(c2.id.short) (main)  step-2"), "\(lines)")
    #expect(lines[2] == "|/", "\(lines)")
    #expect(lines[3].hasPrefix("* \(c1.id.short) (tag: v1)  step-1"), "\(lines)")
    let all = try decodeLog(try box.ok("log", "--all", "--json").stdout)
    #expect(all.map(\.id) == [e1.id.hex, c2.id.hex, c1.id.hex])
  }

  @Test func diffAgainstHeadNameOnlyAndPathFilters() throws {
    let box = try Sandbox()
    let c = try history(box).map(\.id)
    // One revision: against HEAD.
    let one = try box.ck("diff", "step-100")
    #expect(one.status == 1)
    #expect(one.stdout.hasPrefix("diff \(c[0].short) (step 100) → \(c[2].short) (step 300)"))
    let names = try box.ck("diff", "step-100", "--name-only")
    #expect(names.status == 1 && names.stdout == "model.a.w\nopt.m\n")
    // Paths come after `--`, so --store goes before it.
    func diff(_ args: String...) throws -> CLI.Result {
      let split = args.firstIndex(of: "--")!
      return try CLI.run(Array(args[..<split]) + ["--store", box.store] + Array(args[split...]))
    }
    let filtered = try diff("diff", "step-100", "HEAD", "--name-only", "--", "model.")
    #expect(filtered.status == 1 && filtered.stdout == "model.a.w\n")
    let both = try diff("diff", "step-100", "--name-only", "--", "opt.", "model.a.")
    #expect(both.stdout == "model.a.w\nopt.m\n")
    let json = try decodeJSON(
      DiffJSON.self, try diff("diff", "step-100", "HEAD", "--json", "--", "model.b.").stdout)
    #expect(json.identical && json.tensors.isEmpty && json.unchangedTensors == ["model.b.w"])
    #expect(try diff("diff", "step-100", "--", "model.b.").status == 0)
  }

  @Test func showTensorPrintsStatisticsHistogramAndFirstValues() throws {
    let box = try Sandbox()
    let values: [Float] = [1, 2, 3, 4, .nan, 4, -.infinity, 0]
    try box.commit([try TensorData(name: "m.w", shape: [2, 4], float32: values)], step: 1)
    let text = try box.ok("show", "HEAD", "m.w").stdout
    #expect(text.contains("dtype   float32\n"))
    #expect(text.contains("shape   [2, 4] (8 elements)\n"))
    // Finite values 1 2 3 4 4 0: mean 14/6, population std from the same six.
    let finite: [Double] = [1, 2, 3, 4, 4, 0]
    let mean = finite.reduce(0, +) / 6
    let std = (finite.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6).squareRoot()
    #expect(
      text.contains(
        "stats   min=0 max=4 mean=\(String(format: "%.4g", mean)) std=\(String(format: "%.4g", std))\n"
      ), "\(text)")
    #expect(text.contains("counts  nan=1 +inf=0 -inf=1 zeros=1\n"))
    #expect(text.contains("first   1 2 3 4 nan 4 -inf 0\n"), "\(text)")
    #expect(text.contains("histogram\n"))
    let json = try JSONValue.parse(try box.ok("show", "HEAD", "m.w", "--json").stdout)
    let s = try #require(json["statistics"])
    #expect(s["min"] == .number(0) && s["max"] == .number(4) && s["nanCount"] == .number(1))
    #expect(s["histogram"]?.array?.compactMap(\.number).reduce(0, +) == 6)
    #expect(s["first"]?.array?[4] == .null && s["first"]?.array?[6] == .null)
    #expect(s["nonFinite"] == .object(["first/4": .string("nan"), "first/6": .string("-inf")]))
    let typo = try box.ck("show", "HEAD", "m.v")
    #expect(typo.status == 2 && typo.stderr.contains("did you mean 'm.w'"), "\(typo.stderr)")
  }

  @Test func mistypedCommandsAndRevisionsGetSuggestions() throws {
    let box = try Sandbox()
    _ = try history(box)
    let command = try box.ck("stauts")
    #expect(command.status == 64)
    #expect(
      command.stderr.contains("'stauts' is not a ckstore command")
        && command.stderr.contains("'stats'") && command.stderr.contains("'status'"),
      "\(command.stderr)")
    let revision = try box.ck("show", "mian")
    #expect(revision.status == 2 && revision.stderr.contains("did you mean 'main'?"))
    let far = try box.ck("show", "zzzzzz")
    #expect(far.status == 2 && !far.stderr.contains("did you mean"))
  }
}
