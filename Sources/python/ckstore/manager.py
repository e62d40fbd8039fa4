"""CheckpointManager: saves and strictly restores model, optimizer and extra training state."""

import atexit
import os
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from . import _arrays, _flatten
from .store import StoreError


class RestoreError(Exception):
    """A strict restore found names that do not line up; lists every one of them at once."""

    def __init__(self, missing, unexpected, mismatched):
        self.missing, self.unexpected, self.mismatched = missing, unexpected, mismatched
        parts = []
        for label, names in (("missing", missing), ("unexpected", unexpected),
                             ("mismatched", mismatched)):
            if names:
                parts.append(f"{label} ({len(names)}): " + ", ".join(names))
        super().__init__("checkpoint does not match the objects restored into; " + "; ".join(parts))


class BackgroundSaveError(Exception):
    """A save made with blocking=False failed; raised by the manager's next call."""


@dataclass
class Restored:
    """What a restore loaded: the commit, its step, message and metrics, the tensor names put
    into the model and optimizer, and the extra values saved with the checkpoint."""

    commit: str
    step: int
    message: str
    metrics: Dict[str, float]
    tensors: List[str]
    extra: Dict[str, object] = field(default_factory=dict)
    optimizer_state: Optional[dict] = None


# Managers holding a background failure no call has surfaced yet (strong references, so that a
# manager dropped by its caller still reports at exit).
_unsurfaced = set()
_unsurfaced_lock = threading.Lock()


@atexit.register
def _report_unsurfaced_failures():
    # Non-daemon save threads are joined before atexit handlers run. A failure no call surfaced
    # must not end in a zero exit status.
    with _unsurfaced_lock:
        managers = list(_unsurfaced)
    errors = [e for e in (m._take_failure() for m in managers) if e is not None]
    for error in errors:
        sys.stderr.write(f"ckstore: {error}\n")
    if errors:
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(1)


class CheckpointManager:
    """Saves training state as commits of one branch and applies retention after each save.

    `max_to_keep` keeps the newest N checkpoints' data, `keep_every` also every step that is a
    multiple of K (both None: keep all); older commits keep their metadata in `log`.
    """

    def __init__(self, store, branch="main", max_to_keep=None, keep_every=None):
        if max_to_keep is not None and max_to_keep < 1:
            raise ValueError(f"max_to_keep must be at least 1 (got {max_to_keep})")
        if keep_every is not None and keep_every < 1:
            raise ValueError(f"keep_every must be at least 1 (got {keep_every})")
        self.store, self.branch = store, branch
        self.max_to_keep, self.keep_every = max_to_keep, keep_every
        self._thread = None
        self._failure = None
        self._last = None
        self._guard = threading.Lock()

    def save(self, step, model=None, optimizer=None, *, blocking=True, message="", metrics=None,
             **extra):
        """Commits `model` and `optimizer` (objects with state_dict(), or state dicts) and any
        `extra` arrays or JSON-able values as step `step`; returns the commit id.

        With blocking=False the arrays are copied (a snapshot) and committed on a background
        thread; this returns None at once, and a failure is raised by the next call to the
        manager (save, restore, wait) or reported at exit with a non-zero exit status.
        """
        self.wait()
        tensors, scalars = _flatten.flatten(model, optimizer, extra)
        metadata = {_flatten.SCALARS_KEY: _flatten.encode(scalars)}
        if blocking:
            return self._commit(step, tensors, metadata, message, metrics)
        snapshot = {name: _arrays.snapshot(value) for name, value in tensors.items()}

        def run():
            try:
                self._commit(step, snapshot, metadata, message, metrics)
            except BaseException as e:
                with self._guard:
                    self._failure = BackgroundSaveError(
                        f"background save of step {step} to branch '{self.branch}' failed: {e}")
                    self._failure.__cause__ = e
                with _unsurfaced_lock:
                    _unsurfaced.add(self)

        self._thread = threading.Thread(target=run, name=f"ckstore-save-{step}")
        self._thread.start()
        return None

    def _commit(self, step, tensors, metadata, message, metrics):
        commit = self.store.commit(tensors, branch=self.branch, step=step, message=message,
                                   metrics=metrics, metadata=metadata)
        self._last = commit
        if self.max_to_keep is not None or self.keep_every is not None:
            try:
                self.store.gc(keep_last=self.max_to_keep, keep_every=self.keep_every,
                              branch=self.branch)
            except StoreError as e:
                # The checkpoint is committed; retention is best effort and runs again next save.
                warnings.warn(f"ckstore: step {step} saved, but retention failed: {e}")
        return commit

    def wait(self):
        """Waits for a background save; returns the last commit id, or raises its failure."""
        thread = self._thread
        if thread is not None:
            thread.join()
            self._thread = None
        error = self._take_failure()
        if error is not None:
            raise error
        return self._last

    def _take_failure(self):
        with self._guard:
            error, self._failure = self._failure, None
        with _unsurfaced_lock:
            _unsurfaced.discard(self)
        return error

    def restore(self, rev=None, model=None, optimizer=None, strict=True):
        """Loads checkpoint `rev` (default: the branch head; an int is a step on the branch) into
        `model` and `optimizer`, in place, and returns a `Restored`.

        Strict by default: one RestoreError lists every missing, unexpected and mismatched
        (dtype or shape) name, and nothing is loaded. With strict=False what matches is loaded.
        A plain dict optimizer gets its rebuilt state dict in `Restored.optimizer_state`.
        """
        self.wait()
        if rev is None:
            rev = self.branch
        elif isinstance(rev, int):
            rev = f"{self.branch}:step-{rev}"
        commit = self.store.resolve(rev)
        info = self.store.log(commit, limit=1)[0]
        stored = {t.name: t for t in self.store.tensors(commit)}
        scalars = _flatten.decode(info.metadata)
        plan = _Plan(stored)
        if model is not None:
            plan.model(_flatten.state_dict(model), model)
        rebuilt = None
        if optimizer is not None:
            rebuilt = plan.optimizer(optimizer, model, scalars.get("optimizer"))
        extra = plan.extra(scalars.get("extra", {}))
        if strict and (plan.missing or plan.unexpected or plan.mismatched):
            raise RestoreError(plan.missing, plan.unexpected, plan.mismatched)
        self.store.read_many(commit, plan.targets)
        for finish in plan.finish:
            finish()
        state = None
        if rebuilt is not None:
            if hasattr(optimizer, "load_state_dict"):
                optimizer.load_state_dict(rebuilt)
            else:
                state = rebuilt
        return Restored(commit, info.step, info.message, info.metrics,
                        sorted(n for n in plan.targets if not n.startswith("extra/")),
                        extra, state)


def _describe(value):
    if _arrays.is_torch_tensor(value):
        return str(value.dtype).removeprefix("torch."), tuple(value.shape)
    return np.asarray(value).dtype.name, tuple(np.shape(value))


def _code(value):
    if _arrays.is_torch_tensor(value):
        return _arrays.TORCH_CODES.get(str(value.dtype).removeprefix("torch."))
    return _arrays.NUMPY_CODES.get(np.asarray(value).dtype.name)


class _Plan:
    """What a restore will read where, and what does not line up."""

    def __init__(self, stored):
        self.stored = stored
        self.targets = {}
        self.finish = []
        self.missing, self.unexpected, self.mismatched = [], [], []

    def _check(self, name, value):
        t = self.stored.get(name)
        if t is None:
            self.missing.append(name)
            return False
        if _code(value) != t.code or _describe(value)[1] != tuple(t.shape):
            dtype, shape = _describe(value)
            self.mismatched.append(
                f"{name} (stored {t.dtype} {list(t.shape)}, expected {dtype} {list(shape)})")
            return False
        return True

    def model(self, state, owner):
        expected = {f"model/{k}": (k, v) for k, v in state.items() if _flatten.is_array(v)}
        for name, (key, value) in expected.items():
            if self._check(name, value):
                self._into(name, value, state if isinstance(owner, dict) else None, key)
        self.unexpected += sorted(
            n for n in self.stored if n.startswith("model/") and n not in expected)

    def _into(self, name, value, mapping, key):
        """Reads `name` into `value` in place, or through a contiguous temporary."""
        if _arrays.is_torch_tensor(value):
            if value.is_contiguous() and value.device.type == "cpu":
                self.targets[name] = value
            else:
                temp = value.detach().cpu().contiguous().clone()
                self.targets[name] = temp
                self.finish.append(lambda: value.data.copy_(temp))
            return
        array = np.asarray(value)
        if array.flags.c_contiguous and array.flags.writeable:
            self.targets[name] = array
        elif mapping is not None:
            temp = np.empty(array.shape, array.dtype)
            self.targets[name] = temp
            self.finish.append(lambda: mapping.__setitem__(key, temp))
        else:
            self.mismatched.append(f"{name} (the target array is read-only)")

    def optimizer(self, optimizer, model, saved):
        prefix = "optimizer/state/"
        stored_state = [n for n in self.stored if n.startswith(prefix)]
        if saved is None:
            self.missing.append("optimizer (the checkpoint holds no optimizer state)")
            self.unexpected += stored_state
            return None
        names = _flatten.parameter_names(model, optimizer)
        current = _flatten.state_dict(optimizer)
        groups = current.get("param_groups", [])
        index_of = {}
        for group in groups:
            for i in group["params"]:
                index_of[names.get(i, str(i))] = i
        saved_groups = saved.get("param_groups", [])
        if len(saved_groups) != len(groups):
            self.mismatched.append(
                f"optimizer/param_groups (stored {len(saved_groups)}, expected {len(groups)})")
        rebuilt_groups = []
        for g, (group, mine) in enumerate(zip(saved_groups, groups)):
            mine_names = [names.get(i, str(i)) for i in mine["params"]]
            if group["params"] != mine_names:
                self.mismatched.append(
                    f"optimizer/param_groups/{g} (stored params {group['params']}, "
                    f"expected {mine_names})")
            rebuilt_groups.append(dict(group, params=list(mine["params"])))
        state = {}
        torch_like = hasattr(optimizer, "param_groups")
        for name in stored_state:
            pname, key = name[len(prefix):].rsplit("/", 1)
            if pname not in index_of:
                self.unexpected.append(name)
                continue
            t = self.stored[name]
            if torch_like:
                import torch

                dtype = _arrays.torch_dtype(t.code)
                buffer = torch.empty(t.shape, dtype=dtype)
            else:
                buffer = _arrays.empty_numpy(t.code, t.shape, t.nbytes)
            self.targets[name] = buffer
            state.setdefault(index_of[pname], {})[key] = buffer
        for pname, entries in saved.get("state", {}).items():
            if pname not in index_of:
                self.unexpected.append(f"optimizer/state/{pname}")
                continue
            state.setdefault(index_of[pname], {}).update(entries)
        return {"state": state, "param_groups": rebuilt_groups}

    def extra(self, scalars):
        extra = dict(scalars)
        for name, t in self.stored.items():
            if name.startswith("extra/"):
                buffer = _arrays.empty_numpy(t.code, t.shape, t.nbytes)
                self.targets[name] = buffer
                key, _, sub = name[len("extra/"):].partition("/")
                if sub:
                    extra.setdefault(key, {})[sub] = buffer
                else:
                    extra[key] = buffer
        return extra
