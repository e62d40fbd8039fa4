"""Store round trips, errors, history, threads (issue 11, acceptance 1)."""

import threading

import numpy as np
import pytest

import ckstore

# Every NumPy dtype that has a store dtype (docs/FORMAT.md).
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64", "bool", "complex64"]
SHAPES = [(), (0,), (3, 0, 2), (7,), (3, 5, 4), (1, 1, 1, 1)]


def random_array(dtype, shape, rng):
    """Random bits of the dtype (NaN payloads, infinities and denormals included)."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    raw = rng.integers(0, 256, size=count * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)


def test_every_numpy_dtype_round_trips_bit_exactly(store, tmp_path):
    rng = np.random.default_rng(1)
    arrays = {f"{d}/r{len(s)}_{i}": random_array(d, s, rng)
              for d in DTYPES for i, s in enumerate(SHAPES)}
    commit = store.commit(arrays, step=3, message="all dtypes")
    reopened = ckstore.Store.open(store.path)
    infos = {t.name: t for t in reopened.tensors(commit)}
    assert set(infos) == set(arrays)
    for name, a in arrays.items():
        b = reopened.read(commit, name)
        assert b.dtype == a.dtype and b.shape == a.shape, name
        assert b.tobytes() == a.tobytes(), name
        assert infos[name].shape == a.shape and infos[name].nbytes == a.nbytes
    # All at once into caller buffers, as a restore does.
    outs = {name: np.empty_like(a) for name, a in arrays.items()}
    reopened.read_many(commit, outs)
    assert all(outs[n].tobytes() == a.tobytes() for n, a in arrays.items())


def test_numpy_scalars_buffers_and_non_contiguous_layouts(store):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    tensors = {
        "strided": base[:, ::2],
        "transposed": base.T,
        "big_endian": np.arange(5, dtype=">i4"),
        "scalar": np.float64(2.5),
        "buffer": memoryview(bytearray(b"\x01\x02\x03")),
    }
    commit = store.commit(tensors, step=1)
    assert np.array_equal(store.read(commit, "strided"), base[:, ::2])
    assert np.array_equal(store.read(commit, "transposed"), base.T)
    be = store.read(commit, "big_endian")
    assert be.dtype == np.dtype("<i4") and list(be) == [0, 1, 2, 3, 4]
    assert store.read(commit, "scalar").shape == () and store.read(commit, "scalar") == 2.5
    assert store.read(commit, "buffer").tobytes() == b"\x01\x02\x03"


def test_read_into_a_caller_buffer_and_its_errors(store):
    a = np.arange(10, dtype=np.int16)
    commit = store.commit({"a": a})
    out = np.zeros(10, dtype=np.int16)
    assert store.read(commit, "a", out=out) is out
    assert np.array_equal(out, a)
    with pytest.raises(ckstore.StoreError) as e:
        store.read(commit, "a", out=np.zeros(9, dtype=np.int16))
    assert e.value.code == "invalidArgument" and "'a'" in str(e.value)
    with pytest.raises(ValueError):
        store.read(commit, "a", out=np.zeros(20, dtype=np.int16)[::2])
    with pytest.raises(ckstore.StoreError) as e:
        store.read(commit, "nosuch")
    assert "'nosuch'" in str(e.value)


def test_errors_carry_stable_codes_and_name_the_thing_at_fault(store, tmp_path):
    with pytest.raises(ckstore.StoreError) as e:
        ckstore.Store.open(str(tmp_path / "none"))
    assert e.value.code == "storeNotFound" and str(tmp_path / "none") in str(e.value)
    with pytest.raises(ckstore.StoreError) as e:
        ckstore.Store.create(store.path)
    assert e.value.code == "invalidArgument"
    with pytest.raises(ckstore.StoreError) as e:
        store.resolve("nosuch")
    assert e.value.code == "unknownRevision" and "nosuch" in str(e.value)
    with pytest.raises(ckstore.StoreError) as e:
        store.commit({"bad..name": np.zeros(2)})
    assert e.value.code == "invalidName" and "bad..name" in str(e.value)
    with pytest.raises(TypeError, match="'c'.*complex128"):
        store.commit({"c": np.zeros(2, dtype=np.complex128)})
    with pytest.raises(ckstore.StoreError) as e:
        store.log("HEAD")
    assert e.value.code == "unknownRevision"
    store.close()
    with pytest.raises(ValueError, match="closed"):
        store.resolve("HEAD")


def test_log_diff_gc_and_fsck(store):
    w = np.ones((4, 4), dtype=np.float32)
    first = store.commit({"w": w, "b": np.zeros(4, np.float32)}, step=1, message="one",
                         metrics={"loss": 1.5}, metadata={"lr": "0.1"})
    w2 = w.copy()
    w2[0, 0] = 3
    second = store.commit({"w": w2, "b": np.zeros(4, np.float32), "c": np.ones(1)}, step=2)
    log = store.log()
    assert [c.id for c in log] == [second, first]
    assert log[1].metrics == {"loss": 1.5} and log[1].metadata == {"lr": "0.1"}
    assert log[1].message == "one" and log[0].parent == first and log[1].parent is None
    d = store.diff(first, second)
    assert {(c.name, c.change) for c in d.changes} == {("w", "changed"), ("c", "added")}
    assert d.unchanged == 1
    w_change = next(c for c in d.changes if c.name == "w")
    assert w_change.changed_elements == 1 and w_change.max_abs == 2.0
    assert store.gc(keep_last=1, dry_run=True).pruned_commits == 1
    assert store.read(first, "w").sum() == 16
    report = store.gc(keep_last=1)
    assert report.pruned_commits == 1 and report.bytes_freed >= 0
    assert store.log()[1].pruned
    with pytest.raises(ckstore.StoreError) as e:
        store.read(first, "w")
    assert e.value.code == "prunedCommit"
    assert store.fsck().clean


def test_commit_while_reading_from_several_threads(store):
    """One writer commits while four readers restore HEAD; each read sees one whole commit."""
    shape = (64, 256)
    store.commit({"w": np.zeros(shape, np.float32), "s": np.int64(0)}, step=0)
    errors, stop = [], threading.Event()

    def writer():
        try:
            for step in range(1, 16):
                store.commit({"w": np.full(shape, step, np.float32), "s": np.int64(step)},
                             step=step)
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            stop.set()

    def reader():
        try:
            while not stop.is_set():
                commit = store.resolve("HEAD")
                got = store.read_many(commit, {"w": None, "s": None})
                values = np.unique(got["w"])
                if len(values) != 1 or values[0] != got["s"]:
                    errors.append(AssertionError(f"torn read: {values} vs {got['s']}"))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [c.step for c in store.log()] == list(range(15, -1, -1))


def test_two_commits_to_one_branch_at_once_one_is_locked_or_both_land(store):
    """Concurrent commits to one branch never interleave: each lands whole or fails 'locked'."""
    results = []

    def commit(i):
        try:
            results.append(store.commit({"w": np.full(1 << 18, i, np.float32)}, step=i))
        except ckstore.StoreError as e:
            results.append(e.code)

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    landed = [r for r in results if len(r) == 64]
    assert all(r in landed or r == "locked" for r in results) and landed
    assert len(store.log()) == len(landed)
