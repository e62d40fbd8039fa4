"""CheckpointManager with NumPy state dicts: strict restore, background saves, retention."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ckstore


def model_state(seed):
    rng = np.random.default_rng(seed)
    return {"dense.weight": rng.standard_normal((4, 3)).astype(np.float32),
            "dense.bias": rng.standard_normal(4).astype(np.float32)}


def optimizer_state(model):
    return {
        "state": {i: {"step": np.float32(5), "exp_avg": np.ones_like(v), "exp_avg_sq": v * v}
                  for i, v in enumerate(model.values())},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1]}],
    }


def test_save_and_restore_in_place_returns_what_it_restored(store):
    manager = ckstore.CheckpointManager(store, branch="run")
    saved = model_state(1)
    commit = manager.save(7, model=saved, optimizer=optimizer_state(saved), metrics={"loss": 0.25},
                          epoch=2, rng=np.arange(3, dtype=np.uint32))
    names = {t.name for t in store.tensors(commit)}
    assert "optimizer/state/0/exp_avg" in names and "model/dense.weight" in names
    assert "extra/rng" in names
    fresh = model_state(2)
    weight = fresh["dense.weight"]
    opt = {"state": {}, "param_groups": [{"lr": 0.5, "betas": (0, 0), "params": [0, 1]}]}
    restored = manager.restore(model=fresh, optimizer=opt)
    assert restored.commit == commit and restored.step == 7 and restored.metrics == {"loss": 0.25}
    assert fresh["dense.weight"] is weight  # loaded in place
    for k in saved:
        assert fresh[k].tobytes() == saved[k].tobytes()
    state = restored.optimizer_state
    assert state["param_groups"][0]["lr"] == 0.001 and state["param_groups"][0]["params"] == [0, 1]
    assert state["state"][1]["exp_avg_sq"].tobytes() == (saved["dense.bias"] ** 2).tobytes()
    assert restored.extra["epoch"] == 2 and list(restored.extra["rng"]) == [0, 1, 2]
    assert "model/dense.bias" in restored.tensors
    assert manager.restore(7, model=model_state(3)).step == 7


def test_strict_restore_lists_every_missing_unexpected_and_mismatched_name(store):
    manager = ckstore.CheckpointManager(store)
    manager.save(1, model=model_state(1))
    target = {"dense.weight": np.zeros((3, 3), np.float32),   # wrong shape
              "head.weight": np.zeros(2, np.float32)}         # not in the checkpoint
    before = {k: v.copy() for k, v in target.items()}
    with pytest.raises(ckstore.RestoreError) as e:
        manager.restore(model=target)
    message = str(e.value)
    assert e.value.missing == ["model/head.weight"]
    assert e.value.unexpected == ["model/dense.bias"]
    assert len(e.value.mismatched) == 1 and "model/dense.weight" in e.value.mismatched[0]
    for name in ("model/head.weight", "model/dense.bias", "model/dense.weight"):
        assert name in message
    assert all(np.array_equal(target[k], before[k]) for k in target)  # nothing loaded
    dtype_target = {"dense.weight": np.zeros((4, 3), np.float64),
                    "dense.bias": np.zeros(4, np.float32)}
    with pytest.raises(ckstore.RestoreError, match="float64"):
        manager.restore(model=dtype_target)
    with pytest.raises(ckstore.RestoreError, match="optimizer"):
        manager.restore(model=model_state(2), optimizer={"state": {}, "param_groups": []})
    loose = manager.restore(model=target, strict=False)
    assert loose.tensors == [] and np.array_equal(target["head.weight"], before["head.weight"])


def test_background_save_commits_a_snapshot(store):
    manager = ckstore.CheckpointManager(store)
    state = model_state(1)
    expected = state["dense.weight"].copy()
    assert manager.save(1, model=state, blocking=False) is None
    state["dense.weight"][:] = 0  # the snapshot was taken before save returned
    commit = manager.wait()
    assert store.read(commit, "model/dense.weight").tobytes() == expected.tobytes()


def test_background_save_failure_is_raised_by_the_next_call(store):
    manager = ckstore.CheckpointManager(store)
    manager.save(1, model=model_state(1), blocking=False, **{"bad..name": np.zeros(2)})
    with pytest.raises(ckstore.BackgroundSaveError, match="step 1.*bad..name") as e:
        manager.save(2, model=model_state(1))
    assert isinstance(e.value.__cause__, ckstore.StoreError)
    assert manager.save(3, model=model_state(1)) is not None  # the manager still works
    assert [c.step for c in store.log()] == [3]


def test_background_save_failure_no_call_surfaced_fails_the_process_at_exit(store, tmp_path):
    script = textwrap.dedent(f"""
        import numpy as np, ckstore
        store = ckstore.Store.open({store.path!r})
        manager = ckstore.CheckpointManager(store)
        manager.save(9, blocking=False, **{{"bad..name": np.zeros(2)}})
        del manager  # dropping the manager does not lose the failure
        print("script finished")
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=dict(os.environ))
    assert r.returncode == 1, r.stderr
    assert "script finished" in r.stdout
    assert "background save of step 9" in r.stderr and "bad..name" in r.stderr


def test_retention_keeps_max_to_keep_and_keep_every(store):
    manager = ckstore.CheckpointManager(store, max_to_keep=2, keep_every=4)
    for step in range(1, 7):
        manager.save(step, model=model_state(step))
    kept = [c.step for c in store.log() if not c.pruned]
    assert kept == [6, 5, 4]
    with pytest.raises(ValueError):
        ckstore.CheckpointManager(store, max_to_keep=0)
