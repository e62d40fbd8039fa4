import CKStore
import Foundation
import Testing

/// fsck checks the part records of unfinished sharded saves: a re-run completes a save from them,
/// so damage there is damage to a checkpoint that is still on its way.
@Suite struct ShardedFsckTests {
  @Test func fsckVerifiesUnfinishedPartsAndReportsABrokenRecord() throws {
    let t = try TempStore(chunkSize: 4096)
    let emb = RowSharded(name: "emb", shape: [64, 32], seed: 8, rows: evenRows(64, 2))
    let (source, placement) = try emb.part(0)
    let outcome = try t.store.commitPart(
      [source], slices: ["emb": placement], part: 0, of: 2, branch: "main", step: 5)
    #expect(outcome == .pending(recorded: 1, parts: 2))
    #expect(try t.store.fsck().isClean)
    // The store holds the part's one chunk (32 rows of 128 bytes) and its part tree.
    let record = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: t.path + "/parts/main/5/0-of-2")))
        as? [String: Any])
    let treeHex = try #require(record["tree"] as? String)
    let partTree = try #require(ObjectID(hex: treeHex))
    let chunk = try #require(t.objectIDs().subtracting([partTree]).first)
    #expect(t.objectIDs().count == 2)

    // A damaged chunk of the unfinished part: reported, naming the record that uses it.
    let original = try Files.read(t.objectPath(chunk))
    try Files.write(
      CorruptionTests.flipped(original, at: original.count - 1), to: t.objectPath(chunk))
    let damaged = try t.store.fsck()
    #expect(damaged.problems.map(\.object) == [chunk.hex])
    #expect(damaged.problems.first?.commits == ["parts/main/5/0-of-2"])
    #expect(damaged.problems.first?.tensors == ["emb"])
    try Files.write(original, to: t.objectPath(chunk))

    // A record that does not decode is a problem of its own, named by its path.
    try Files.write(Array("not a record\n".utf8), to: t.path + "/parts/main/5/1-of-2")
    let broken = try t.store.fsck()
    #expect(broken.problems.map(\.object) == ["parts/main/5/1-of-2"], "\(broken.problems)")
    #expect(broken.problems.first?.message.contains("is not valid") ?? false)
  }
}
