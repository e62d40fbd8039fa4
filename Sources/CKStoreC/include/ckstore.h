/*
 * ckstore.h: the C ABI of the ckstore checkpoint store (library libckstore_c).
 *
 * Conventions, for every function below:
 * - The return value is CKSTORE_OK (0) on success or one of the CKSTORE_E_* codes. On failure,
 *   if `error` is not NULL, *error receives a message (UTF-8, NUL-terminated) naming the thing at
 *   fault; the caller frees it with ckstore_string_free. On success *error is set to NULL. Nothing
 *   unwinds across the ABI: every failure, bad arguments included, comes back as a code.
 * - Strings passed in are UTF-8 and NUL-terminated; they are only read during the call.
 * - Every pointer this library returns is owned by the caller and freed with the free function
 *   named at its declaration (never with free(3) directly). Out-parameters are set only on success.
 * - Functions are safe to call from several threads at once, on one store handle or several.
 *   Two commits to the same branch at the same time: one fails with CKSTORE_E_LOCKED.
 * - Commit ids are 64 lowercase hex digits; CKSTORE_ID_SIZE bytes hold one with its NUL.
 * - dtype values are the store's on-disk codes (docs/FORMAT.md, "dtype codes"): 1 float32,
 *   2 float64, 3 float16, 4 bfloat16, 5 int8, 6 int16, 7 int32, 8 int64, 9 uint8, 10 bool,
 *   11 uint16, 12 uint32, 13 uint64, 14 float8_e4m3, 15 float8_e5m2, 16 float8_e8m0,
 *   17 float8_e4m3fnuz, 18 float8_e5m2fnuz, 19 complex64, 20 float4, 21 float6_e2m3,
 *   22 float6_e3m2.
 */
#ifndef CKSTORE_H
#define CKSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The version of this ABI; bumped whenever a declaration below changes incompatibly. */
#define CKSTORE_ABI_VERSION 1
/** Bytes of a commit id in hex plus its terminating NUL. */
#define CKSTORE_ID_SIZE 65

/** Status codes: 0 is success; the others match the store's StoreError codes one to one. */
enum {
  CKSTORE_OK = 0,
  CKSTORE_E_STORE_NOT_FOUND = 1,
  CKSTORE_E_UNSUPPORTED_FORMAT = 2,
  CKSTORE_E_OBJECT_NOT_FOUND = 3,
  CKSTORE_E_CORRUPT_OBJECT = 4,
  CKSTORE_E_INVALID_NAME = 5,
  CKSTORE_E_INVALID_TENSOR = 6,
  CKSTORE_E_UNKNOWN_REVISION = 7,
  CKSTORE_E_AMBIGUOUS_REVISION = 8,
  CKSTORE_E_PRUNED_COMMIT = 9,
  CKSTORE_E_REF_CONFLICT = 10,
  CKSTORE_E_LOCKED = 11,
  CKSTORE_E_MALFORMED_SAFETENSORS = 12,
  CKSTORE_E_UNSUPPORTED_DTYPE = 13,
  CKSTORE_E_IO = 14,
  CKSTORE_E_COMPRESSION = 15,
  /** An argument is out of range, NULL where a value is required, or inconsistent. */
  CKSTORE_E_INVALID_ARGUMENT = 16,
  /** A failure that is none of the above (a bug; the message says what). */
  CKSTORE_E_INTERNAL = 17
};

/** An open store. Created by ckstore_open/ckstore_create, released by ckstore_close. */
typedef struct ckstore_store ckstore_store;

/** A tensor to commit, read in place: `data` must stay valid and unchanged during the call. */
typedef struct ckstore_tensor {
  /** Full name, `model.dense1.weight` or `optimizer/state/w/exp_avg` (docs/FORMAT.md). */
  const char *name;
  /** A dtype code (see the top of this file). */
  uint8_t dtype;
  /** Number of dimensions; 0 for a scalar. */
  int32_t rank;
  /** `rank` dimensions (may be NULL when rank is 0). */
  const int64_t *shape;
  /** The canonical bytes, little-endian, C order; may be NULL when byte_count is 0. */
  const void *data;
  /** Bytes at `data`: element count x dtype size (packed bits for the sub-byte floats). */
  uint64_t byte_count;
} ckstore_tensor;

/** A stored tensor's description. */
typedef struct ckstore_tensor_info {
  char *name;
  uint8_t dtype;
  int32_t rank;
  int64_t *shape;
  uint64_t byte_count;
} ckstore_tensor_info;

/** The tensors of one commit, in name order. Freed with ckstore_tensor_list_free. */
typedef struct ckstore_tensor_list {
  size_t count;
  ckstore_tensor_info *items;
} ckstore_tensor_list;

/** One commit as `log` shows it. */
typedef struct ckstore_commit_info {
  char id[CKSTORE_ID_SIZE];
  /** The first parent's id, or "" for a root commit. */
  char parent[CKSTORE_ID_SIZE];
  size_t parent_count;
  int64_t step;
  /** Creation time, milliseconds since 1970-01-01 UTC. */
  int64_t time_ms;
  char *message;
  size_t metric_count;
  char **metric_names;
  double *metric_values;
  size_t metadata_count;
  char **metadata_keys;
  char **metadata_values;
  int64_t logical_bytes;
  int64_t added_bytes;
  /** 1 if retention freed this commit's data (only its metadata remains), else 0. */
  int32_t pruned;
} ckstore_commit_info;

/** Commits, newest first. Freed with ckstore_commit_list_free. */
typedef struct ckstore_commit_list {
  size_t count;
  ckstore_commit_info *items;
} ckstore_commit_list;

/** Values of ckstore_diff_entry.change. */
enum { CKSTORE_ADDED = 1, CKSTORE_REMOVED = 2, CKSTORE_CHANGED = 3 };

/** One tensor that differs between two commits. */
typedef struct ckstore_diff_entry {
  char *name;
  int32_t change;
  /** 1 if the statistics below were computed (same dtype and shape, numeric dtype), else 0. */
  int32_t has_statistics;
  double l2;
  double relative;
  double max_abs;
  uint64_t changed_elements;
  uint64_t elements;
} ckstore_diff_entry;

/** How two commits differ. Freed with ckstore_diff_free. */
typedef struct ckstore_diff_summary {
  size_t unchanged_count;
  size_t count;
  ckstore_diff_entry *entries;
} ckstore_diff_summary;

/** What gc did (or would do, in a dry run). Filled in a caller-owned struct; nothing to free. */
typedef struct ckstore_gc_report {
  uint64_t pruned_commits;
  uint64_t objects_deleted;
  uint64_t bytes_freed;
  uint64_t objects_kept;
} ckstore_gc_report;

/** A problem fsck found. */
typedef struct ckstore_fsck_problem {
  char *object;
  char *message;
} ckstore_fsck_problem;

/** fsck's findings; clean when problem_count is 0. Freed with ckstore_fsck_report_free. */
typedef struct ckstore_fsck_report {
  uint64_t commits_checked;
  uint64_t objects_checked;
  size_t problem_count;
  ckstore_fsck_problem *problems;
} ckstore_fsck_report;

/** CKSTORE_ABI_VERSION as the library was built; a binding compares it with its own. */
int32_t ckstore_abi_version(void);

/** Frees a string this library returned (error messages). NULL is ignored. */
void ckstore_string_free(char *string);

/** Opens the store at `path`. *store is released with ckstore_close. */
int32_t ckstore_open(const char *path, ckstore_store **store, char **error);

/**
 * Creates an empty store at `path` (with a `main` branch) and opens it. `chunk_size` and
 * `compression_level` of 0 take the defaults. Fails with CKSTORE_E_INVALID_ARGUMENT if a store
 * already exists there.
 */
int32_t ckstore_create(const char *path, int64_t chunk_size, int32_t compression_level,
                       ckstore_store **store, char **error);

/** Releases a store handle; it must not be in use by another call. NULL is ignored. */
void ckstore_close(ckstore_store *store);

/**
 * Commits `count` tensors read in place as the next checkpoint of `branch` (taking the branch's
 * writer lock for the call) and writes the new commit's id to `commit_id` (CKSTORE_ID_SIZE bytes,
 * may be NULL). Metrics are `metric_count` names with values; metadata `metadata_count` key/value
 * strings. The commit is durable when this returns; on failure the branch is unchanged.
 */
int32_t ckstore_commit(ckstore_store *store, const char *branch, int64_t step, const char *message,
                       const ckstore_tensor *tensors, size_t count,
                       const char *const *metric_names, const double *metric_values,
                       size_t metric_count, const char *const *metadata_keys,
                       const char *const *metadata_values, size_t metadata_count,
                       char *commit_id, char **error);

/** Resolves a revision (HEAD, branch, tag, id prefix, step-N, BRANCH:step-N, …~N) to a commit id. */
int32_t ckstore_resolve(ckstore_store *store, const char *revision, char *commit_id, char **error);

/** Lists the tensors of the commit `revision` names. Free *list with ckstore_tensor_list_free. */
int32_t ckstore_list_tensors(ckstore_store *store, const char *revision,
                             ckstore_tensor_list **list, char **error);

/** Frees a tensor list. NULL is ignored. */
void ckstore_tensor_list_free(ckstore_tensor_list *list);

/**
 * Reads tensor `name` of commit `revision` into `buffer`, which must hold exactly its byte count
 * (else CKSTORE_E_INVALID_ARGUMENT). Chunks are verified against their ids as they are read.
 */
int32_t ckstore_read(ckstore_store *store, const char *revision, const char *name, void *buffer,
                     uint64_t buffer_size, char **error);

/**
 * Reads `count` tensors of one commit into their buffers at once, all chunks on all cores (the
 * fast path for a restore). Each buffer must hold exactly its tensor's byte count. On failure the
 * buffers' contents are unspecified.
 */
int32_t ckstore_read_many(ckstore_store *store, const char *revision, const char *const *names,
                          void *const *buffers, const uint64_t *buffer_sizes, size_t count,
                          char **error);

/**
 * The history of `revision` along first parents, newest first, at most `limit` commits
 * (0: no limit). Free *list with ckstore_commit_list_free.
 */
int32_t ckstore_log(ckstore_store *store, const char *revision, size_t limit,
                    ckstore_commit_list **list, char **error);

/** Frees a commit list. NULL is ignored. */
void ckstore_commit_list_free(ckstore_commit_list *list);

/**
 * Compares commits `a` and `b` tensor by tensor; with `statistics` non-zero, changed numeric
 * tensors of the same shape get their differences. Free *diff with ckstore_diff_free.
 */
int32_t ckstore_diff(ckstore_store *store, const char *a, const char *b, int32_t statistics,
                     ckstore_diff_summary **diff, char **error);

/** Frees a diff. NULL is ignored. */
void ckstore_diff_free(ckstore_diff_summary *diff);

/**
 * Applies retention, then frees what no kept commit uses. `keep_last` keeps the newest N
 * commits of each governed branch, `keep_every` every commit whose step is a multiple of K (0:
 * rule off; both 0 keeps every commit and gc only frees unreachable objects). `branch` limits
 * the policy to one branch (NULL: every branch). Branch heads and tags always keep their data.
 * With `dry_run` non-zero nothing is changed. `report` (caller-owned) may be NULL.
 */
int32_t ckstore_gc(ckstore_store *store, int64_t keep_last, int64_t keep_every, const char *branch,
                   int32_t dry_run, ckstore_gc_report *report, char **error);

/** Verifies every reachable object. Free *report with ckstore_fsck_report_free. */
int32_t ckstore_fsck(ckstore_store *store, ckstore_fsck_report **report, char **error);

/** Frees an fsck report. NULL is ignored. */
void ckstore_fsck_report_free(ckstore_fsck_report *report);

/**
 * Saves part `part` (0-based) of `parts` of the sharded checkpoint (`branch`, `step`), run by
 * each of `parts` processes (ranks) at once (docs/FORMAT.md, "Sharded commits"). The commit
 * appears when, and only when, every part is durable; a rank killed at any moment leaves none,
 * and running its save again completes the step. A tensor whose `global_shapes[i]` is not NULL
 * is a slice of a global tensor of that shape (same rank), placed at `offsets[i]`; the slices of
 * all parts must tile it exactly, else the last part fails with CKSTORE_E_INVALID_TENSOR naming
 * the tensor and the ranks. `global_shapes` and `offsets` may be NULL when no tensor is sliced.
 * The commit's message, metrics and metadata are part 0's. *committed (may be NULL) is 1 when
 * this call built the commit or found it already there, and then its id is written to
 * `commit_id` (may be NULL); 0 while other parts are missing. Saving a part again with the same
 * content succeeds; with other content it fails with CKSTORE_E_INVALID_ARGUMENT.
 */
int32_t ckstore_commit_part(ckstore_store *store, const char *branch, int64_t step, int32_t part,
                            int32_t parts, const char *message, const ckstore_tensor *tensors,
                            size_t count, const int64_t *const *global_shapes,
                            const int64_t *const *offsets, const char *const *metric_names,
                            const double *metric_values, size_t metric_count,
                            const char *const *metadata_keys, const char *const *metadata_values,
                            size_t metadata_count, int32_t *committed, char *commit_id,
                            char **error);

/**
 * Reads the box at `offset` of extent `extent` (`rank` values each, the tensor's rank) of tensor
 * `name` of commit `revision` into `buffer`, row-major, which must hold exactly its bytes.
 * Only the chunks that overlap the box are read and verified (how a rank restores its slice
 * under another layout); *chunks_decoded and *bytes_decoded (may be NULL) say how many.
 */
int32_t ckstore_read_region(ckstore_store *store, const char *revision, const char *name,
                            int32_t rank, const int64_t *offset, const int64_t *extent,
                            void *buffer, uint64_t buffer_size, uint64_t *chunks_decoded,
                            uint64_t *bytes_decoded, char **error);

#ifdef __cplusplus
}
#endif

#endif /* CKSTORE_H */
