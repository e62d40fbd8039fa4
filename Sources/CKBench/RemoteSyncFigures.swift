import CKRemote
import CKStore
import CKTestSupport
import Foundation

/// `ckbench remote`'s store-level figures (issue 9's targets): the push of a checkpoint of
/// `gib` GiB against the 64 MiB-object upload of the same client at the same concurrency, and a
/// `clone --latest` of a 10-checkpoint run in bytes transferred per checkpoint stored.
struct RemoteSyncFigures {
  var concurrency: Int
  var repeats: Int
  var gib: Double

  func run(
    server: SeaweedFS, into report: inout BenchReport, baseline: (label: String, put: Double)
  ) throws {
    let folder = NSTemporaryDirectory() + "ckbench-remote-" + UUID().uuidString.prefix(8)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let bucket = try RemoteBench.bucket("bench-sync", on: server, concurrency: concurrency)

    // One checkpoint of `gib` GiB of float32 in tensors of 64 MiB (1 MiB chunks).
    let store = try Store.create(at: folder + "/push")
    let total = Int(gib * Double(1 << 30))
    let bytes = [UInt8](RemoteData.random(count: total))
    let tensorBytes = 64 << 20
    let tensors = try stride(from: 0, to: total, by: tensorBytes).map { start in
      let n = min(tensorBytes, total - start)
      return try TensorData(
        name: "layer\(start / tensorBytes).weight", dtype: .float32, shape: [n / 4],
        bytes: Array(bytes[start..<start + n / 4 * 4]))
    }
    let commit = try store.commit(tensors, to: "main", step: 1)
    let stored = try store.dataObjects(of: commit).reduce(0) {
      $0
        + ((try? FileManager.default.attributesOfItem(atPath: store.objectFilePath($1))[.size])
          as? Int ?? 0)
    }
    var times: [Double] = []
    for r in 0..<repeats {
      let remote = RemoteStore(name: "bench", bucket: bucket, prefix: "push\(r)")
      Timing.settle()
      let start = Timing.now()
      _ = try Push.run(store, to: remote, refs: ["main"], width: concurrency)
      times.append(Timing.now() - start)
    }
    let objects = try store.dataObjects(of: commit).count + 1
    report.add(
      "Store push, \(concurrency) in flight",
      "push of a \(gib) GiB checkpoint (\(objects) objects)",
      Double(stored) / 1e6 / Timing.medianOf(times), "MB/s", baseline: "S3 PUT " + baseline.label,
      baseline.put)

    // Ten checkpoints whose every tensor changes, then a --latest clone of the run.
    let run = try Store.create(at: folder + "/run")
    let each = 64 << 20
    var last: Commit?
    for step in 1...10 {
      let data = [UInt8](RemoteData.random(count: each + step * 8).suffix(each))
      last = try run.commit(
        [try TensorData(name: "w", dtype: .float32, shape: [each / 4], bytes: data)],
        to: "main", step: Int64(step))
    }
    let origin = RemoteStore(name: "origin", bucket: bucket, prefix: "run")
    _ = try Push.run(run, to: origin, refs: ["main"], width: concurrency)
    let one = try run.dataObjects(of: last!).reduce(0) {
      $0
        + ((try? FileManager.default.attributesOfItem(atPath: run.objectFilePath($1))[.size])
          as? Int ?? 0)
    }
    let cloning = RemoteStore(name: "origin", bucket: bucket, prefix: "run")
    _ = try Clone.run(
      cloning, configuration: RemoteConfiguration(url: "s3://bench-sync/run"),
      into: folder + "/clone", depth: .newest(1))
    report.add(
      "Store clone --latest", "10 checkpoints of 64 MiB: bytes received / one checkpoint",
      Double(cloning.stats.bytesReceived) / Double(one), "×")
  }
}
