"""Sharded saves from Python (issue 10): ranks commit parts of one checkpoint at once, a rank
restores its region under another layout reading only what overlaps it."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ckstore

ROWS, WIDTH = 1024, 64  # float32 rows of 256 bytes: 16 rows per 4 KiB chunk


def embedding():
    return np.random.default_rng(7).standard_normal((ROWS, WIDTH)).astype(np.float32)


def rank_rows(rank, ranks):
    return range(rank * ROWS // ranks, (rank + 1) * ROWS // ranks)


RANK = textwrap.dedent("""
    import sys, numpy as np, ckstore
    path, rank = sys.argv[1], int(sys.argv[2])
    emb = np.random.default_rng(7).standard_normal((1024, 64)).astype(np.float32)
    lo, hi = rank * 1024 // 4, (rank + 1) * 1024 // 4
    store = ckstore.Store.open(path)
    tensors = {"model/emb": emb[lo:hi], f"optimizer/rank{rank}/state": np.full(8, rank, np.int64),
               "checkpoint/step": np.array(300, np.int64)}
    commit = store.commit_part(tensors, part=rank, parts=4, step=300,
                               slices={"model/emb": ((1024, 64), (lo, 0))},
                               message="rank save", metrics={"loss": 0.25})
    print(commit or "pending")
""")


def test_four_processes_commit_one_checkpoint_and_three_ranks_restore_it(store):
    procs = [subprocess.Popen([sys.executable, "-c", RANK, store.path, str(r)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    ids = {out.strip() for out, _ in outputs} - {"pending"}
    head = store.resolve("main")
    # Whoever completed the set reports the commit (two finishing together may both).
    assert ids == {head}
    log = store.log()
    assert len(log) == 1 and log[0].step == 300 and log[0].metrics == {"loss": 0.25}
    assert log[0].metadata["ckstore.parts"] == "4"
    emb = embedding()
    assert store.read("main", "model/emb").tobytes() == emb.tobytes()
    for r in range(4):
        assert store.read("main", f"optimizer/rank{r}/state").tolist() == [r] * 8

    # Three ranks restore their rows, each decoding only the chunks its rows overlap.
    for r in range(3):
        rows = rank_rows(r, 3)
        region, chunks, nbytes = store.read_region(
            "main", "model/emb", (rows.start, 0), (len(rows), WIDTH))
        assert region.tobytes() == emb[rows.start:rows.stop].tobytes()
        overlapping = len(range(rows.start // 16, (rows.stop - 1) // 16 + 1))
        assert chunks == overlapping, (r, chunks, overlapping)
        assert nbytes == overlapping * 4096
    # Into a caller buffer, a column block this time.
    out = np.empty((10, 8), np.float32)
    store.read_region("main", "model/emb", (100, 16), (10, 8), out=out)
    assert out.tobytes() == emb[100:110, 16:24].tobytes()
    assert store.fsck().clean


def test_a_gap_is_refused_naming_the_tensor_and_ranks_and_nothing_is_committed(store):
    emb = embedding()
    for r, (lo, hi) in enumerate([(0, 512), (520, 1024)]):
        part = {"model/emb": emb[lo:hi]}
        call = lambda: store.commit_part(part, part=r, parts=2, step=5,
                                         slices={"model/emb": ((ROWS, WIDTH), (lo, 0))})
        if r == 0:
            assert call() is None
        else:
            with pytest.raises(ckstore.StoreError) as error:
                call()
            assert error.value.code == "invalidTensor"
            assert "'model/emb'" in error.value.message and "rank 0" in error.value.message
            assert "rank 1" in error.value.message
    with pytest.raises(ckstore.StoreError) as error:
        store.resolve("main")
    assert error.value.code == "unknownRevision"


def test_a_part_saved_again_is_a_no_op_and_other_content_is_refused(store):
    emb = embedding()
    part = {"model/emb": emb[:512]}
    slices = {"model/emb": ((ROWS, WIDTH), (0, 0))}
    assert store.commit_part(part, part=0, parts=2, step=9, slices=slices) is None
    assert store.commit_part(part, part=0, parts=2, step=9, slices=slices) is None
    with pytest.raises(ckstore.StoreError) as error:
        store.commit_part({"model/emb": emb[:512] * 2}, part=0, parts=2, step=9, slices=slices)
    assert error.value.code == "invalidArgument" and "rank 0" in error.value.message
    with pytest.raises(ckstore.StoreError) as error:
        store.commit_part(part, part=0, parts=2, step=9, slices={"model/bias": ((4,), (0,))})
    assert error.value.code == "invalidArgument" and "model/bias" in error.value.message
    done = store.commit_part({"model/emb": emb[512:]}, part=1, parts=2, step=9,
                             slices={"model/emb": ((ROWS, WIDTH), (512, 0))})
    assert done == store.resolve("main")
    assert store.read("main", "model/emb").tobytes() == emb.tobytes()
