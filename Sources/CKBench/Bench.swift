import ArgumentParser

/// `ckbench`: benchmarks that print figures next to baselines measured in the same run.
@main
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ckbench",
    abstract: "Benchmarks for the ckstore store and engine.",
    subcommands: [
      StoreBench.self,
      ChunkSizeBench.self,
      EngineGEMM.self,
      EngineTraining.self,
      LargeCheckpointBench.self,
      RemoteBench.self,
      ShardedBench.self,
    ])
}
