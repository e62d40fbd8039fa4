import CKStore
import Foundation
import Testing

/// The diff statistics issue 12 found misleading, each case run through the binary.
@Suite struct DiffNumbersTests {
  private func diff(_ before: [TensorData], _ after: [TensorData]) throws -> (
    text: String, json: DiffJSON
  ) {
    let box = try Sandbox()
    try box.commit(before, step: 1)
    try box.commit(after, step: 2)
    let text = try box.ck("diff", "HEAD~1")
    #expect(text.status == 1, "\(text.stderr)")
    let json = try box.ck("diff", "HEAD~1", "--json")
    return (text.stdout, try decodeJSON(DiffJSON.self, json.stdout))
  }

  @Test func nanInBothSidesDoesNotPoisonTheFiniteStatistics() throws {
    // [1, nan, 3] → [1, nan, 4]: l2 and max over the finite pairs (1,1), (3,4).
    let (text, json) = try diff(
      [try TensorData(name: "w", shape: [3], float32: [1, .nan, 3])],
      [try TensorData(name: "w", shape: [3], float32: [1, .nan, 4])])
    let s = try #require(json.tensors.first?.statistics)
    #expect(s.l2 == 1 && s.maxAbs == 1 && s.finitePairs == 2)
    #expect(abs(s.relative! - 1 / 10.0.squareRoot()) < 1e-12)
    #expect(s.nan == .init(appeared: 0, vanished: 0, kept: 1) && s.nonFinite.isEmpty)
    #expect(text.contains("l2=1 rel=0.3162 max=1 changed=33.3%"), "\(text)")
  }

  @Test func nanBecomingInfIsCountedNotHiddenAsZero() throws {
    let (text, json) = try diff(
      [try TensorData(name: "w", shape: [2], float32: [.nan, 5])],
      [try TensorData(name: "w", shape: [2], float32: [.infinity, 5])])
    let s = try #require(json.tensors.first?.statistics)
    #expect(s.nan == .init(appeared: 0, vanished: 1, kept: 0))
    #expect(s.inf == .init(appeared: 1, vanished: 0, kept: 0))
    #expect(s.changedElements == 1 && s.finitePairs == 1 && s.maxAbs == 0)
    #expect(text.contains("nan +0 -1") && text.contains("inf +1 -0"), "\(text)")

    // No finite pair at all: the numbers are absent (null, "-"), not 0.
    let (allText, all) = try diff(
      [try TensorData(name: "w", shape: [1], float32: [.nan])],
      [try TensorData(name: "w", shape: [1], float32: [.infinity])])
    let t = try #require(all.tensors.first?.statistics)
    #expect(t.l2 == nil && t.maxAbs == nil && t.relative == nil && t.finitePairs == 0)
    #expect(allText.contains("l2=- rel=- max=-"), "\(allText)")
  }

  @Test func infiniteRelativeChangeIsNullWithItsNonFiniteName() throws {
    let (_, json) = try diff(
      [try TensorData(name: "w", shape: [2], float32: [0, 0])],
      [try TensorData(name: "w", shape: [2], float32: [0, 3])])
    let s = try #require(json.tensors.first?.statistics)
    #expect(s.l2 == 3 && s.relative == nil && s.nonFinite == ["relative": "inf"])
  }

  @Test func integerCountersReportChangedElementsAndMaxChange() throws {
    let counters: [Int64] = [100, 7, 9]
    let later: [Int64] = [200, 7, 10]
    func bytes(_ v: [Int64]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
    let (text, json) = try diff(
      [try TensorData(name: "step", dtype: .int64, shape: [3], bytes: bytes(counters))],
      [try TensorData(name: "step", dtype: .int64, shape: [3], bytes: bytes(later))])
    let s = try #require(json.tensors.first?.statistics)
    #expect(s.kind == "integer" && s.l2 == nil && s.relative == nil)
    #expect(s.maxAbs == 100 && s.changedElements == 2 && s.elements == 3)
    #expect(text.contains("max=100 changed=66.7%") && !text.contains("l2="), "\(text)")
  }

  @Test func float32ToBfloat16CastIsComparedAfterWidening() throws {
    let values: [Float] = [1, 0.1, 3.14159, -2.5]
    let truncated = values.map { UInt16($0.bitPattern >> 16) }
    let widened = truncated.map { Double(Float(bitPattern: UInt32($0) << 16)) }
    let (text, json) = try diff(
      [try TensorData(name: "w", shape: [4], float32: values)],
      [
        try TensorData(
          name: "w", dtype: .bfloat16, shape: [4],
          bytes: truncated.withUnsafeBytes { Array($0) })
      ])
    let entry = try #require(json.tensors.first)
    #expect(entry.dtypeChanged)
    let s = try #require(entry.statistics)
    let d = zip(values, widened).map { $1 - Double($0) }
    #expect(s.maxAbs == d.map(abs).max())
    #expect(abs(s.l2! - d.map { $0 * $0 }.reduce(0, +).squareRoot()) < 1e-15)
    // 1 and -2.5 are exact in bfloat16; 0.1 and 3.14159 are not.
    #expect(s.changedElements == 2)
    #expect(text.contains("dtype float32 → bfloat16; l2="), "\(text)")
  }

  @Test func unchangedCountsIncludeTensorsInsideUnchangedSubtrees() throws {
    // 104 tensors in nested subtrees; one changes.
    let box = try Sandbox()
    var tensors: [TensorData] = []
    for layer in 0..<13 {
      for part in ["attn.q", "attn.k", "attn.v", "attn.o", "mlp.up", "mlp.down", "ln1", "ln2"] {
        tensors.append(try floatTensor("model.layers.\(layer).\(part)", [4], seed: UInt64(layer)))
      }
    }
    #expect(tensors.count == 104)
    try box.commit(tensors, step: 1)
    tensors[0] = try floatTensor(tensors[0].name, [4], seed: 1234)
    try box.commit(tensors, step: 2)
    let same = try box.ck("diff", "HEAD", "HEAD")
    #expect(same.status == 0)
    #expect(same.stdout.hasSuffix("0 changed, 0 added, 0 removed, 104 unchanged tensors\n"))
    let one = try box.ck("diff", "HEAD~1", "HEAD", "--stat")
    #expect(one.status == 1)
    // Unchanged subtrees: layers 1-12 whole, and layer 0's mlp.; the rest of layer 0 one by one.
    #expect(
      one.stdout.hasSuffix(
        "1 changed, 0 added, 0 removed, 103 unchanged tensors (13 unchanged subtrees)\n"),
      "\(one.stdout)")
  }
}
