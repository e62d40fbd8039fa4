import CKStore

/// How `ckstore train --ranks N` splits a model across its rank workers: rank r owns rows
/// `r·d/N ..< (r+1)·d/N` of every parameter (d its first dimension), with that parameter's
/// optimizer state for those rows; a 0-d parameter belongs to rank 0 whole. A rank may own no
/// rows of a small parameter. Rows of a row-major tensor are one contiguous run of elements, so a
/// slice is cut and pasted by one copy.
struct RankLayout: Codable, Equatable {
  /// One parameter of the whole model.
  struct Entry: Codable, Equatable {
    /// Its dotted name in the model (`layers.0.weight`).
    var name: String
    /// Its whole shape.
    var shape: [Int]
    /// Whether the optimizer updates it (a frozen base is saved but not trained).
    var trainable: Bool

    /// Elements in one row (1 for a 0-d or 1-d parameter).
    var rowElements: Int { shape.dropFirst().reduce(1, *) }
  }

  /// A rank's part of one parameter.
  struct Piece {
    /// The parameter.
    var entry: Entry
    /// The rows it owns (`0..<1` for a 0-d parameter).
    var rows: Range<Int>

    /// The shape of the slice.
    var shape: [Int] { entry.shape.isEmpty ? [] : [rows.count] + entry.shape.dropFirst() }
    /// The slice's elements within the whole parameter's row-major elements.
    var elements: Range<Int> {
      (rows.lowerBound * entry.rowElements)..<(rows.upperBound * entry.rowElements)
    }
    /// Where the slice lies in the whole parameter, or nil for a parameter owned whole.
    var placement: SlicePlacement? {
      entry.shape.isEmpty
        ? nil
        : SlicePlacement(
          globalShape: entry.shape,
          offset: [rows.lowerBound] + Array(repeating: 0, count: entry.shape.count - 1))
    }
  }

  /// The model's parameters, in name order.
  var entries: [Entry]
  /// The number of ranks.
  var ranks: Int

  /// What rank `rank` owns, in name order; parameters it owns no rows of are left out.
  func pieces(of rank: Int) -> [Piece] {
    entries.compactMap { entry in
      let rows: Range<Int>
      if entry.shape.isEmpty {
        rows = rank == 0 ? 0..<1 : 0..<0
      } else {
        let d = entry.shape[0]
        rows = (rank * d / ranks)..<((rank + 1) * d / ranks)
      }
      return rows.isEmpty ? nil : Piece(entry: entry, rows: rows)
    }
  }
}

/// The first message to a rank worker: what it owns and where it saves.
struct RankSetup: Codable {
  /// The store's folder.
  var store: String
  /// The branch the checkpoints go to.
  var branch: String
  /// This worker's rank.
  var rank: Int
  /// The split of the whole model.
  var layout: RankLayout
  /// Adam's (constant) learning rate.
  var learningRate: Float
  /// The data iterator's examples per epoch and batch size (its position is saved by every rank).
  var exampleCount: Int
  /// Examples per batch.
  var batchSize: Int
  /// The commit to restore this rank's share from; nil: the payload holds the initial slices.
  var restore: String?
}

/// A command to a rank worker after the setup.
struct RankCommand: Codable {
  /// What to do.
  enum Kind: String, Codable {
    /// Apply one optimizer update; the payload holds the gradient slices of `names`.
    case step
    /// Save this rank's part of the checkpoint at `step`; the payload holds `replicated`'s bytes.
    case save
    /// Exit.
    case stop
  }
  /// What to do.
  var kind: Kind
  /// `step`: the parameters whose gradient slices the payload holds, in order.
  var names: [String] = []
  /// `save`: the checkpoint's step.
  var step: Int64 = 0
  /// `save`: the commit's metrics.
  var metrics: [String: Double] = [:]
  /// `save`: the commit message.
  var message: String = ""
  /// `save`: the commit metadata.
  var metadata: [String: String] = [:]
  /// `save`: tensors the same on every rank (step counter, generator state, data position).
  var replicated: [ReplicatedTensor] = []
  /// `save`, to rank 0 only: the steps since the previous save and their losses (as float64 bit
  /// patterns, so a NaN survives JSON), for the `ckstore/metrics/loss` series.
  var loggedSteps: [Int64] = []
  /// The losses of `loggedSteps`, as `Double.bitPattern`.
  var loggedLosses: [UInt64] = []
}

/// A tensor sent whole in a `save` command; its bytes follow in the payload.
struct ReplicatedTensor: Codable {
  /// The tensor's name in the checkpoint.
  var name: String
  /// Its dtype.
  var dtype: DType
  /// Its shape.
  var shape: [Int]
  /// Its size in bytes.
  var byteCount: Int
}

/// A rank worker's answer to the setup or a command.
struct RankReply: Codable {
  /// The error that stopped the worker, if any: the store's code and message.
  var error: RankFailure?
  /// The parameters whose slices the payload holds, in order.
  var names: [String] = []
  /// `save`: the commit this rank built or found, when it completed the set of parts.
  var committed: String?
}

/// An error a rank worker reports before it exits.
struct RankFailure: Codable {
  /// The `StoreError` code, or `other`.
  var code: String
  /// What went wrong.
  var message: String
}
