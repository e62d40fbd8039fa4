import Foundation
import Testing

@testable import CKStore

/// The known-answer vector of tree entry kind 3 (docs/FORMAT.md, "Sliced tensor"): `w` float32
/// [2, 2] with rows (1, −2) and (0.5, 3), saved as two row slices by parts 0 and 1 of a default
/// store. The hex was computed from the spec with a separate script, not by this code.
@Suite struct ShardedFormatVectorTests {
  static let treeHex =
    "434b5452" + "01000000" + "03" + "0100" + "77" + "01" + "02" + "0200000000000000"
    + "0200000000000000" + "02000000"
    + "00000000" + "0000000000000000" + "0000000000000000" + "0100000000000000"
    + "0200000000000000" + "0000100000000000" + "01000000"
    + "ee4ac73c2bd27756ab82780f27c73a7bc4d3f0bb6acb37e008bc27eccd7e588b"
    + "01000000" + "0100000000000000" + "0000000000000000" + "0100000000000000"
    + "0200000000000000" + "0000100000000000" + "01000000"
    + "0d9bb94748ee8c90a410fa3ecb33d3c55df2957f4fce4a2cee69ce943a8f7ffa"
  static let treeID = "1e8858b7000e092ee6628828f399686a82a90c63c82137295a4bdbe81f06184a"

  @Test func twoRowSlicesGiveThePinnedTree() throws {
    let t = try TempStore()
    let rows: [[Float]] = [[1, -2], [0.5, 3]]
    var outcome: PartOutcome? = nil
    for (i, row) in rows.enumerated() {
      let data = try TensorData(name: "w", shape: [1, 2], float32: row)
      outcome = try t.store.commitPart(
        [TensorSource(data)], slices: ["w": SlicePlacement(globalShape: [2, 2], offset: [i, 0])],
        part: i, of: 2, branch: "main", step: 0)
    }
    guard case .committed(let commit)? = outcome else {
      Issue.record("no commit")
      return
    }
    #expect(commit.tree.hex == Self.treeID)
    let payload = try t.store.objects.get(commit.tree, as: .tree)
    #expect(payload.map { String(format: "%02x", $0) }.joined() == Self.treeHex)
    let tree = try Tree.decode(payload, id: commit.tree)
    #expect(tree.encoded() == payload)
  }

  @Test func aSliceOutsideTheShapeIsDamage() throws {
    // The same tree with slice 1's row offset 1 changed to 2: it no longer fits [2, 2].
    var bytes = Self.bytes(Self.treeHex)
    let offsetOfSecondRow = 4 + 4 + 1 + 2 + 1 + 1 + 1 + 16 + 4 + (4 + 32 + 8 + 4 + 32) + 4
    #expect(bytes[offsetOfSecondRow] == 1)
    bytes[offsetOfSecondRow] = 2
    let id = ObjectID(hex: Self.treeID)!
    let error = try #require(
      throws: StoreError.self, performing: { try Tree.decode(bytes, id: id) })
    #expect(error.code == .corruptObject && error.message.contains("outside"))
  }

  static func bytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = hex.startIndex
    while i < hex.endIndex {
      let j = hex.index(i, offsetBy: 2)
      out.append(UInt8(hex[i..<j], radix: 16)!)
      i = j
    }
    return out
  }
}
