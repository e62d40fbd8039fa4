"""Loads libckstore_c and declares the C ABI of Sources/CKStoreC/include/ckstore.h."""

import ctypes
import os

ABI_VERSION = 1
LIBRARY_NAME = "libckstore_c.so"
_ENV = "CKSTORE_LIBRARY"


class LibraryNotFound(ImportError):
    """The C library could not be found or loaded; the message says what to do."""


def _candidates():
    """Where to look, in order: $CKSTORE_LIBRARY, the build recorded at install time, then the
    repository this package's source lies in (for running from a checkout)."""
    if os.environ.get(_ENV):
        yield os.environ[_ENV]
        return
    roots = []
    try:
        from . import _location

        roots.append(_location.REPO_ROOT)
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    roots.append(os.path.dirname(os.path.dirname(os.path.dirname(here))))
    for root in roots:
        yield os.path.join(root, ".build", "release", LIBRARY_NAME)


def _load():
    tried = []
    for path in _candidates():
        tried.append(path)
        if os.path.exists(path):
            try:
                return ctypes.CDLL(path)
            except OSError as e:
                raise LibraryNotFound(f"ckstore: cannot load {path}: {e}") from e
    raise LibraryNotFound(
        "ckstore: the C library libckstore_c.so was not found (looked at: "
        + ", ".join(tried)
        + "). Build it in the ckstore repository with "
        "`swift build -c release --product ckstore_c`, or set "
        f"{_ENV}=/path/to/libckstore_c.so."
    )


c_char_pp = ctypes.POINTER(ctypes.c_char_p)
ID_SIZE = 65


class Tensor(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_uint8),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("data", ctypes.c_void_p),
        ("byte_count", ctypes.c_uint64),
    ]


class TensorInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_uint8),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("byte_count", ctypes.c_uint64),
    ]


class TensorList(ctypes.Structure):
    _fields_ = [("count", ctypes.c_size_t), ("items", ctypes.POINTER(TensorInfo))]


class CommitInfo(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_char * ID_SIZE),
        ("parent", ctypes.c_char * ID_SIZE),
        ("parent_count", ctypes.c_size_t),
        ("step", ctypes.c_int64),
        ("time_ms", ctypes.c_int64),
        ("message", ctypes.c_char_p),
        ("metric_count", ctypes.c_size_t),
        ("metric_names", c_char_pp),
        ("metric_values", ctypes.POINTER(ctypes.c_double)),
        ("metadata_count", ctypes.c_size_t),
        ("metadata_keys", c_char_pp),
        ("metadata_values", c_char_pp),
        ("logical_bytes", ctypes.c_int64),
        ("added_bytes", ctypes.c_int64),
        ("pruned", ctypes.c_int32),
    ]


class CommitList(ctypes.Structure):
    _fields_ = [("count", ctypes.c_size_t), ("items", ctypes.POINTER(CommitInfo))]


class DiffEntry(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("change", ctypes.c_int32),
        ("has_statistics", ctypes.c_int32),
        ("l2", ctypes.c_double),
        ("relative", ctypes.c_double),
        ("max_abs", ctypes.c_double),
        ("changed_elements", ctypes.c_uint64),
        ("elements", ctypes.c_uint64),
    ]


class Diff(ctypes.Structure):
    _fields_ = [
        ("unchanged_count", ctypes.c_size_t),
        ("count", ctypes.c_size_t),
        ("entries", ctypes.POINTER(DiffEntry)),
    ]


class GCReport(ctypes.Structure):
    _fields_ = [
        ("pruned_commits", ctypes.c_uint64),
        ("objects_deleted", ctypes.c_uint64),
        ("bytes_freed", ctypes.c_uint64),
        ("objects_kept", ctypes.c_uint64),
    ]


class FsckProblem(ctypes.Structure):
    _fields_ = [("object", ctypes.c_char_p), ("message", ctypes.c_char_p)]


class FsckReport(ctypes.Structure):
    _fields_ = [
        ("commits_checked", ctypes.c_uint64),
        ("objects_checked", ctypes.c_uint64),
        ("problem_count", ctypes.c_size_t),
        ("problems", ctypes.POINTER(FsckProblem)),
    ]


def _declare(lib):
    P = ctypes.POINTER
    err = P(ctypes.c_void_p)
    handle = ctypes.c_void_p
    i32 = ctypes.c_int32
    sigs = {
        "ckstore_abi_version": (i32, []),
        "ckstore_string_free": (None, [ctypes.c_void_p]),
        "ckstore_open": (i32, [ctypes.c_char_p, P(handle), err]),
        "ckstore_create": (i32, [ctypes.c_char_p, ctypes.c_int64, i32, P(handle), err]),
        "ckstore_close": (None, [handle]),
        "ckstore_commit": (
            i32,
            [handle, ctypes.c_char_p, ctypes.c_int64, ctypes.c_char_p, P(Tensor), ctypes.c_size_t,
             c_char_pp, P(ctypes.c_double), ctypes.c_size_t, c_char_pp, c_char_pp,
             ctypes.c_size_t, ctypes.c_char_p, err],
        ),
        "ckstore_resolve": (i32, [handle, ctypes.c_char_p, ctypes.c_char_p, err]),
        "ckstore_list_tensors": (i32, [handle, ctypes.c_char_p, P(P(TensorList)), err]),
        "ckstore_tensor_list_free": (None, [P(TensorList)]),
        "ckstore_read": (
            i32, [handle, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint64, err]
        ),
        "ckstore_read_many": (
            i32,
            [handle, ctypes.c_char_p, c_char_pp, P(ctypes.c_void_p), P(ctypes.c_uint64),
             ctypes.c_size_t, err],
        ),
        "ckstore_log": (i32, [handle, ctypes.c_char_p, ctypes.c_size_t, P(P(CommitList)), err]),
        "ckstore_commit_list_free": (None, [P(CommitList)]),
        "ckstore_diff": (i32, [handle, ctypes.c_char_p, ctypes.c_char_p, i32, P(P(Diff)), err]),
        "ckstore_diff_free": (None, [P(Diff)]),
        "ckstore_gc": (
            i32,
            [handle, ctypes.c_int64, ctypes.c_int64, ctypes.c_char_p, i32, P(GCReport), err],
        ),
        "ckstore_commit_part": (
            i32,
            [handle, ctypes.c_char_p, ctypes.c_int64, i32, i32, ctypes.c_char_p, P(Tensor),
             ctypes.c_size_t, P(P(ctypes.c_int64)), P(P(ctypes.c_int64)), c_char_pp,
             P(ctypes.c_double), ctypes.c_size_t, c_char_pp, c_char_pp, ctypes.c_size_t,
             P(i32), ctypes.c_char_p, err],
        ),
        "ckstore_read_region": (
            i32,
            [handle, ctypes.c_char_p, ctypes.c_char_p, i32, P(ctypes.c_int64), P(ctypes.c_int64),
             ctypes.c_void_p, ctypes.c_uint64, P(ctypes.c_uint64), P(ctypes.c_uint64), err],
        ),
        "ckstore_fsck": (i32, [handle, P(P(FsckReport)), err]),
        "ckstore_fsck_report_free": (None, [P(FsckReport)]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    found = lib.ckstore_abi_version()
    if found != ABI_VERSION:
        raise LibraryNotFound(
            f"ckstore: {lib._name} implements C ABI version {found}, this package needs "
            f"{ABI_VERSION}; rebuild the library or reinstall the package from the same checkout"
        )
    return lib


lib = _declare(_load())
