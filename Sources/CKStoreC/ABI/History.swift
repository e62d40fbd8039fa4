import CKStore
import CKStoreCABI

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// First-parent history of a revision, newest first.
@_cdecl("ckstore_log")
public func ckstore_log(
  _ handle: OpaquePointer?, _ revision: UnsafePointer<CChar>?, _ limit: Int,
  _ out: UnsafeMutablePointer<UnsafeMutablePointer<ckstore_commit_list>?>?, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let out = try required(out, "list out-parameter")
    let store = try store(handle)
    let start = try store.resolve(try argument(revision, "revision"))
    let commits = try store.history(from: start.id, limit: limit <= 0 ? .max : limit)
    let items = allocate(ckstore_commit_info.self, commits.count)
    for (i, c) in commits.enumerated() { fill(&items[i], with: c, pruned: store.isPruned(c.id)) }
    let list = allocate(ckstore_commit_list.self, 1)
    list.pointee = ckstore_commit_list(count: commits.count, items: items)
    out.pointee = list
  }
}

/// Fills a zeroed commit info with malloc'd copies of the commit's fields.
private func fill(_ info: inout ckstore_commit_info, with c: Commit, pruned: Bool) {
  writeID(c.id, into: &info.id)
  writeID(c.parents.first, into: &info.parent)
  info.parent_count = c.parents.count
  info.step = c.step
  info.time_ms = Int64((c.time.timeIntervalSince1970 * 1000).rounded())
  info.message = duplicate(c.message)
  let metrics = c.metrics.sorted { $0.key < $1.key }
  info.metric_count = metrics.count
  info.metric_names = allocate(UnsafeMutablePointer<CChar>?.self, metrics.count)
  info.metric_values = allocate(Double.self, metrics.count)
  for (i, m) in metrics.enumerated() {
    info.metric_names[i] = duplicate(m.key)
    info.metric_values[i] = m.value
  }
  let metadata = c.metadata.sorted { $0.key < $1.key }
  info.metadata_count = metadata.count
  info.metadata_keys = allocate(UnsafeMutablePointer<CChar>?.self, metadata.count)
  info.metadata_values = allocate(UnsafeMutablePointer<CChar>?.self, metadata.count)
  for (i, m) in metadata.enumerated() {
    info.metadata_keys[i] = duplicate(m.key)
    info.metadata_values[i] = duplicate(m.value)
  }
  info.logical_bytes = c.logicalBytes
  info.added_bytes = c.addedBytes
  info.pruned = pruned ? 1 : 0
}

/// Frees a commit list and everything it points to.
@_cdecl("ckstore_commit_list_free")
public func ckstore_commit_list_free(_ list: UnsafeMutablePointer<ckstore_commit_list>?) {
  guard let list else { return }
  for i in 0..<list.pointee.count {
    let info = list.pointee.items[i]
    free(info.message)
    for k in 0..<info.metric_count { free(info.metric_names[k]) }
    for k in 0..<info.metadata_count {
      free(info.metadata_keys[k])
      free(info.metadata_values[k])
    }
    free(info.metric_names)
    free(info.metric_values)
    free(info.metadata_keys)
    free(info.metadata_values)
  }
  free(list.pointee.items)
  free(list)
}

/// Compares two commits.
@_cdecl("ckstore_diff")
public func ckstore_diff(
  _ handle: OpaquePointer?, _ a: UnsafePointer<CChar>?, _ b: UnsafePointer<CChar>?,
  _ statistics: Int32, _ out: UnsafeMutablePointer<UnsafeMutablePointer<ckstore_diff_summary>?>?,
  _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let out = try required(out, "diff out-parameter")
    let store = try store(handle)
    let left = try store.resolve(try argument(a, "revision a"))
    let right = try store.resolve(try argument(b, "revision b"))
    let diff = try store.diff(left, right, statistics: statistics != 0)
    let entries = allocate(ckstore_diff_entry.self, diff.tensors.count)
    for (i, d) in diff.tensors.enumerated() {
      let change: Int
      switch d.change {
      case .added: change = CKSTORE_ADDED
      case .removed: change = CKSTORE_REMOVED
      case .changed: change = CKSTORE_CHANGED
      }
      let s = d.statistics
      entries[i] = ckstore_diff_entry(
        name: duplicate(d.name), change: Int32(change), has_statistics: s == nil ? 0 : 1,
        l2: s?.l2 ?? 0, relative: s?.relative ?? 0, max_abs: s?.maxAbs ?? 0,
        changed_elements: UInt64(s?.changedElements ?? 0), elements: UInt64(s?.elements ?? 0))
    }
    // Tensors of b equal in a: b's tensors less those added or changed (trees only, no data).
    let differing = diff.tensors.filter { $0.change != .removed }.count
    let result = allocate(ckstore_diff_summary.self, 1)
    result.pointee = ckstore_diff_summary(
      unchanged_count: try store.tensors(in: right).count - differing,
      count: diff.tensors.count, entries: entries)
    out.pointee = result
  }
}

/// Frees a diff and its entries.
@_cdecl("ckstore_diff_free")
public func ckstore_diff_free(_ diff: UnsafeMutablePointer<ckstore_diff_summary>?) {
  guard let diff else { return }
  for i in 0..<diff.pointee.count { free(diff.pointee.entries[i].name) }
  free(diff.pointee.entries)
  free(diff)
}

/// Retention, then garbage collection.
@_cdecl("ckstore_gc")
public func ckstore_gc(
  _ handle: OpaquePointer?, _ keepLast: Int64, _ keepEvery: Int64,
  _ branch: UnsafePointer<CChar>?, _ dryRun: Int32,
  _ report: UnsafeMutablePointer<ckstore_gc_report>?, _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let store = try store(handle)
    guard keepLast >= 0, keepEvery >= 0, let last = Int(exactly: keepLast) else {
      throw StoreError(
        .invalidArgument, "keep_last \(keepLast) and keep_every \(keepEvery) must not be negative")
    }
    let policy = RetentionPolicy(
      keepLast: last == 0 ? nil : last, keepEvery: keepEvery == 0 ? nil : keepEvery,
      branches: branch == nil ? nil : [try argument(branch, "branch")])
    if let only = policy.branches?.first, try store.head(of: only) == nil {
      throw StoreError(.unknownRevision, "gc: branch '\(only)' has no commits")
    }
    let r = try store.gc(policy: policy, dryRun: dryRun != 0)
    report?.pointee = ckstore_gc_report(
      pruned_commits: UInt64(r.prunedCommits.count), objects_deleted: UInt64(r.objectsDeleted),
      bytes_freed: UInt64(r.bytesFreed), objects_kept: UInt64(r.objectsKept))
  }
}

/// Verifies the store.
@_cdecl("ckstore_fsck")
public func ckstore_fsck(
  _ handle: OpaquePointer?,
  _ out: UnsafeMutablePointer<UnsafeMutablePointer<ckstore_fsck_report>?>?,
  _ error: ErrorOut
) -> Int32 {
  guarded(error) {
    let out = try required(out, "report out-parameter")
    let r = try store(handle).fsck()
    let problems = allocate(ckstore_fsck_problem.self, r.problems.count)
    for (i, p) in r.problems.enumerated() {
      problems[i] = ckstore_fsck_problem(object: duplicate(p.object), message: duplicate(p.message))
    }
    let report = allocate(ckstore_fsck_report.self, 1)
    report.pointee = ckstore_fsck_report(
      commits_checked: UInt64(r.commitsChecked), objects_checked: UInt64(r.objectsChecked),
      problem_count: r.problems.count, problems: problems)
    out.pointee = report
  }
}

/// Frees an fsck report.
@_cdecl("ckstore_fsck_report_free")
public func ckstore_fsck_report_free(_ report: UnsafeMutablePointer<ckstore_fsck_report>?) {
  guard let report else { return }
  for i in 0..<report.pointee.problem_count {
    free(report.pointee.problems[i].object)
    free(report.pointee.problems[i].message)
  }
  free(report.pointee.problems)
  free(report)
}
