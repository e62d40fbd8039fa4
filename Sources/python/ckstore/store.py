"""The store: open or create, commit arrays in place, read into buffers, history, gc, fsck."""

import ctypes
import math
import os
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from . import _arrays
from ._lib import ID_SIZE, lib
from . import _lib

# Stable error codes: ckstore.h's CKSTORE_E_* values, named as the Swift StoreError codes.
ERROR_CODES = {
    1: "storeNotFound", 2: "unsupportedFormat", 3: "objectNotFound", 4: "corruptObject",
    5: "invalidName", 6: "invalidTensor", 7: "unknownRevision", 8: "ambiguousRevision",
    9: "prunedCommit", 10: "refConflict", 11: "locked", 12: "malformedSafetensors",
    13: "unsupportedDtype", 14: "io", 15: "compression", 16: "invalidArgument", 17: "internal",
}


class StoreError(Exception):
    """A failure reported by the store: `code` is stable (e.g. "unknownRevision"), `status` its
    number in ckstore.h, and the message names the object, tensor, file or ref at fault."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.code = ERROR_CODES.get(status, "internal")
        self.message = message


def _check(call):
    """Runs `call(error_out)` and raises its failure as a StoreError (freeing the message)."""
    error = ctypes.c_void_p()
    status = call(ctypes.byref(error))
    if status != 0:
        message = ctypes.string_at(error.value).decode() if error.value else "(no message)"
        lib.ckstore_string_free(error)
        raise StoreError(status, message)


def _text(value):
    return value.encode() if isinstance(value, str) else value


def _strings(values):
    array = (ctypes.c_char_p * max(1, len(values)))()
    for i, v in enumerate(values):
        array[i] = _text(v)
    return array


def _tensor_array(tensors):
    """The `ckstore_tensor` array of `{name: array}` read in place, with what keeps it alive."""
    borrowed = [(name, _arrays.borrow(name, value)) for name, value in tensors.items()]
    array = (_lib.Tensor * max(1, len(borrowed)))()
    shapes = []
    for i, (name, b) in enumerate(borrowed):
        shape = (ctypes.c_int64 * max(1, len(b.shape)))(*b.shape)
        shapes.append(shape)
        array[i] = _lib.Tensor(_text(name), b.code, len(b.shape), shape, b.pointer, b.nbytes)
    return borrowed, array, shapes


def _descriptions(metrics, metadata):
    """The six metric and metadata arguments of `ckstore_commit` and `ckstore_commit_part`."""
    metrics = dict(metrics or {})
    metadata = dict(metadata or {})
    values = (ctypes.c_double * max(1, len(metrics)))(*[float(v) for v in metrics.values()])
    return (_strings(list(metrics)), values, len(metrics), _strings(list(metadata)),
            _strings([str(v) for v in metadata.values()]), len(metadata))


@dataclass(frozen=True)
class TensorInfo:
    """A stored tensor: name, dtype name (`float32`, `bfloat16`, …), shape and byte count."""

    name: str
    dtype: str
    shape: Tuple[int, ...]
    nbytes: int
    code: int = field(repr=False)


@dataclass(frozen=True)
class CommitInfo:
    """One commit of a log, newest first."""

    id: str
    parents: int
    parent: Optional[str]
    step: int
    time_ms: int
    message: str
    metrics: Dict[str, float]
    metadata: Dict[str, str]
    logical_bytes: int
    added_bytes: int
    pruned: bool


@dataclass(frozen=True)
class TensorChange:
    """A tensor that differs: change is "added", "removed" or "changed"; the statistics are set
    for changed numeric tensors of the same dtype and shape when asked for."""

    name: str
    change: str
    l2: Optional[float] = None
    relative: Optional[float] = None
    max_abs: Optional[float] = None
    changed_elements: Optional[int] = None
    elements: Optional[int] = None


@dataclass(frozen=True)
class DiffSummary:
    """How two commits differ; `unchanged` counts b's tensors equal in a."""

    changes: List[TensorChange]
    unchanged: int


@dataclass(frozen=True)
class GCReport:
    """What gc did (or, with dry_run, would do)."""

    pruned_commits: int
    objects_deleted: int
    bytes_freed: int
    objects_kept: int


@dataclass(frozen=True)
class FsckReport:
    """fsck's findings: (object, message) per problem; clean when there are none."""

    commits_checked: int
    objects_checked: int
    problems: List[Tuple[str, str]]

    @property
    def clean(self):
        return not self.problems


class Store:
    """An open ckstore store. Thread-safe: several threads may commit, read and query at once
    (two commits to one branch at once: the second fails with code "locked")."""

    def __init__(self, handle, path):
        self._handle = handle
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path):
        """Opens the store at `path`; StoreError "storeNotFound" if there is none."""
        handle = ctypes.c_void_p()
        _check(lambda e: lib.ckstore_open(_text(os.fspath(path)), ctypes.byref(handle), e))
        return cls(handle, os.fspath(path))

    @classmethod
    def create(cls, path, chunk_size=0, compression_level=0):
        """Creates an empty store at `path` (0 takes the default chunk size and level)."""
        handle = ctypes.c_void_p()
        _check(lambda e: lib.ckstore_create(
            _text(os.fspath(path)), chunk_size, compression_level, ctypes.byref(handle), e))
        return cls(handle, os.fspath(path))

    def close(self):
        """Releases the store; later calls raise ValueError."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle:
            lib.ckstore_close(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None):
            self.close()

    @property
    def handle(self):
        if not self._handle:
            raise ValueError(f"store '{self.path}' is closed")
        return self._handle

    def commit(self, tensors: Mapping[str, object], branch="main", step=0, message="",
               metrics: Optional[Mapping[str, float]] = None,
               metadata: Optional[Mapping[str, str]] = None) -> str:
        """Commits `{name: array}` as the next checkpoint of `branch` and returns its id.

        Arrays are read in place: NumPy arrays and buffer-protocol objects when C-contiguous and
        little-endian, PyTorch CPU tensors when contiguous (others are copied once, first). They
        must not change until this returns. Durable when it returns.
        """
        borrowed, array, shapes = _tensor_array(tensors)
        described = _descriptions(metrics, metadata)
        out = ctypes.create_string_buffer(ID_SIZE)
        _check(lambda e: lib.ckstore_commit(
            self.handle, _text(branch), int(step), _text(message), array, len(borrowed),
            *described, out, e))
        del borrowed, shapes
        return out.value.decode()

    def commit_part(self, tensors: Mapping[str, object], *, part, parts, step, branch="main",
                    slices: Optional[Mapping[str, Tuple[Tuple[int, ...], Tuple[int, ...]]]] = None,
                    message="", metrics: Optional[Mapping[str, float]] = None,
                    metadata: Optional[Mapping[str, str]] = None) -> Optional[str]:
        """Saves part `part` of `parts` of the sharded checkpoint (`branch`, `step`), as each of
        `parts` processes (ranks, e.g. under torchrun) does at once: the commit appears when,
        and only when, every part is durable, and a rank killed mid-save leaves none.

        `slices` maps a tensor's name to `(global_shape, offset)` when the array is a slice of a
        larger tensor (rows of an embedding, a column block of a tensor-parallel weight); the
        slices of all parts must tile it exactly. Other tensors must come from one part, or be
        equal on all. Returns the commit id when this call completed the set (or found it
        committed), None while other parts are missing. Message, metrics and metadata are part
        0's. Saving a part again with the same content succeeds; with other content it raises.
        """
        borrowed, array, shapes = _tensor_array(tensors)
        slices = dict(slices or {})
        unknown = sorted(set(slices) - {name for name, _ in borrowed})
        if unknown:
            raise StoreError(16, f"slices name tensors this part lacks: {', '.join(unknown)}")
        count = max(1, len(borrowed))
        globals_, offsets = (ctypes.POINTER(ctypes.c_int64) * count)(), (
            ctypes.POINTER(ctypes.c_int64) * count)()
        for i, (name, b) in enumerate(borrowed):
            if name in slices:
                shape, offset = slices[name]
                if len(shape) != len(b.shape) or len(offset) != len(b.shape):
                    raise StoreError(
                        16, f"tensor '{name}': a {len(b.shape)}-d slice needs a global shape and "
                        f"an offset of {len(b.shape)} values, not {tuple(shape)} at {tuple(offset)}")
                globals_[i] = (ctypes.c_int64 * max(1, len(shape)))(*shape)
                offsets[i] = (ctypes.c_int64 * max(1, len(offset)))(*offset)
                shapes += [globals_[i], offsets[i]]
        described = _descriptions(metrics, metadata)
        committed = ctypes.c_int32(0)
        out = ctypes.create_string_buffer(ID_SIZE)
        _check(lambda e: lib.ckstore_commit_part(
            self.handle, _text(branch), int(step), int(part), int(parts), _text(message), array,
            len(borrowed), globals_, offsets, *described, ctypes.byref(committed), out, e))
        del borrowed, shapes
        return out.value.decode() if committed.value else None

    def resolve(self, rev="HEAD") -> str:
        """The commit id `rev` names (HEAD, branch, tag, id prefix, step-N, BRANCH:step-N, …~N)."""
        out = ctypes.create_string_buffer(ID_SIZE)
        _check(lambda e: lib.ckstore_resolve(self.handle, _text(rev), out, e))
        return out.value.decode()

    def tensors(self, rev="HEAD") -> List[TensorInfo]:
        """The tensors of a commit, sorted by name, without reading their data."""
        out = ctypes.POINTER(_lib.TensorList)()
        _check(lambda e: lib.ckstore_list_tensors(self.handle, _text(rev), ctypes.byref(out), e))
        try:
            items = out.contents.items
            return [
                TensorInfo(
                    items[i].name.decode(), _arrays.DTYPE_NAMES[items[i].dtype],
                    tuple(items[i].shape[d] for d in range(items[i].rank)),
                    items[i].byte_count, items[i].dtype)
                for i in range(out.contents.count)
            ]
        finally:
            lib.ckstore_tensor_list_free(out)

    def read(self, rev, name, out=None):
        """Reads tensor `name` of commit `rev`, verified, into `out` (a writable contiguous NumPy
        array or CPU tensor of the same byte count) or into a new NumPy array, and returns it.

        Store dtypes NumPy lacks (bfloat16, float8) come back as uint16/uint8 arrays with the bits
        unchanged (or as ml_dtypes types when ml_dtypes is installed); the packed float4/float6
        as their raw bytes.
        """
        return self.read_many(rev, {name: out})[name]

    def read_many(self, rev, targets: Mapping[str, object]) -> Dict[str, object]:
        """Reads several tensors of one commit at once, all chunks on all cores (the fast path
        of a restore). `targets` maps names to output buffers or None (a new NumPy array)."""
        commit = self.resolve(rev)
        infos = {t.name: t for t in self.tensors(commit)} if any(
            v is None for v in targets.values()) else None
        results, pointers, sizes, names = {}, [], [], []
        for name, out in targets.items():
            if out is None:
                if name not in infos:
                    raise StoreError(16, f"commit {commit[:12]} has no tensor named '{name}'")
                info = infos[name]
                out = _arrays.empty_numpy(info.code, info.shape, info.nbytes)
                pointer, size = out.ctypes.data, out.nbytes
            else:
                pointer, size, out = _arrays.writable_target(name, out)
            results[name] = out
            names.append(name)
            pointers.append(pointer)
            sizes.append(size)
        count = len(names)
        _check(lambda e: lib.ckstore_read_many(
            self.handle, _text(commit), _strings(names),
            (ctypes.c_void_p * max(1, count))(*pointers),
            (ctypes.c_uint64 * max(1, count))(*sizes), count, e))
        return results

    def read_region(self, rev, name, offset, shape, out=None):
        """Reads the box of `shape` at `offset` of tensor `name` of commit `rev` (row-major) into
        `out` or a new NumPy array, decoding only the chunks that overlap it: how a rank restores
        its slice of a sharded checkpoint under another number of ranks. Returns
        `(array, chunks_decoded, bytes_decoded)`."""
        info = next((t for t in self.tensors(rev) if t.name == name), None)
        if info is None:
            raise StoreError(16, f"commit {self.resolve(rev)[:12]} has no tensor named '{name}'")
        rank = len(info.shape)
        if len(offset) != rank or len(shape) != rank:
            raise StoreError(16, f"tensor '{name}' has {rank} dimensions; the region is "
                             f"{tuple(shape)} at {tuple(offset)}")
        if out is None:
            itemsize = info.nbytes // max(1, math.prod(info.shape))
            out = _arrays.empty_numpy(info.code, tuple(shape), math.prod(shape) * itemsize)
            pointer, size = out.ctypes.data, out.nbytes
        else:
            pointer, size, out = _arrays.writable_target(name, out)
        chunks, nbytes = ctypes.c_uint64(0), ctypes.c_uint64(0)
        _check(lambda e: lib.ckstore_read_region(
            self.handle, _text(rev), _text(name), rank,
            (ctypes.c_int64 * max(1, rank))(*offset), (ctypes.c_int64 * max(1, rank))(*shape),
            pointer, size, ctypes.byref(chunks), ctypes.byref(nbytes), e))
        return out, chunks.value, nbytes.value

    def log(self, rev="HEAD", limit=0) -> List[CommitInfo]:
        """First-parent history from `rev`, newest first (limit 0: all)."""
        out = ctypes.POINTER(_lib.CommitList)()
        _check(lambda e: lib.ckstore_log(self.handle, _text(rev), limit, ctypes.byref(out), e))
        try:
            result = []
            for i in range(out.contents.count):
                c = out.contents.items[i]
                result.append(CommitInfo(
                    id=c.id.decode(), parents=c.parent_count,
                    parent=c.parent.decode() or None, step=c.step, time_ms=c.time_ms,
                    message=c.message.decode(),
                    metrics={c.metric_names[k].decode(): c.metric_values[k]
                             for k in range(c.metric_count)},
                    metadata={c.metadata_keys[k].decode(): c.metadata_values[k].decode()
                              for k in range(c.metadata_count)},
                    logical_bytes=c.logical_bytes, added_bytes=c.added_bytes,
                    pruned=bool(c.pruned)))
            return result
        finally:
            lib.ckstore_commit_list_free(out)

    def diff(self, a, b, statistics=True) -> DiffSummary:
        """Compares two commits tensor by tensor."""
        out = ctypes.POINTER(_lib.Diff)()
        _check(lambda e: lib.ckstore_diff(
            self.handle, _text(a), _text(b), 1 if statistics else 0, ctypes.byref(out), e))
        try:
            kinds = {1: "added", 2: "removed", 3: "changed"}
            changes = []
            for i in range(out.contents.count):
                d = out.contents.entries[i]
                stats = {}
                if d.has_statistics:
                    stats = dict(l2=d.l2, relative=d.relative, max_abs=d.max_abs,
                                 changed_elements=d.changed_elements, elements=d.elements)
                changes.append(TensorChange(d.name.decode(), kinds[d.change], **stats))
            return DiffSummary(changes, out.contents.unchanged_count)
        finally:
            lib.ckstore_diff_free(out)

    def gc(self, keep_last=None, keep_every=None, branch=None, dry_run=False) -> GCReport:
        """Applies retention (keep the newest `keep_last` commits and every step that is a
        multiple of `keep_every`, on `branch` or every branch), then frees unreachable data."""
        report = _lib.GCReport()
        _check(lambda e: lib.ckstore_gc(
            self.handle, keep_last or 0, keep_every or 0,
            _text(branch) if branch is not None else None, 1 if dry_run else 0,
            ctypes.byref(report), e))
        return GCReport(report.pruned_commits, report.objects_deleted, report.bytes_freed,
                        report.objects_kept)

    def fsck(self) -> FsckReport:
        """Verifies every reachable object."""
        out = ctypes.POINTER(_lib.FsckReport)()
        _check(lambda e: lib.ckstore_fsck(self.handle, ctypes.byref(out), e))
        try:
            r = out.contents
            problems = [(r.problems[i].object.decode(), r.problems[i].message.decode())
                        for i in range(r.problem_count)]
            return FsckReport(r.commits_checked, r.objects_checked, problems)
        finally:
            lib.ckstore_fsck_report_free(out)
