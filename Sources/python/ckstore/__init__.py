"""ckstore from Python: a content-addressed checkpoint store, called in-process through its C
ABI (libckstore_c, loaded with ctypes).

    store = ckstore.Store.create("ckpts")          # or Store.open
    store.commit({"w": array}, step=1, metrics={"loss": 0.3})
    store.read("HEAD", "w")                         # a NumPy array, verified
    manager = ckstore.CheckpointManager(store, max_to_keep=3)
    manager.save(step, model=model, optimizer=optimizer, blocking=False)
    manager.restore(model=fresh_model, optimizer=fresh_optimizer)   # strict
"""

from ._lib import LibraryNotFound
from .manager import BackgroundSaveError, CheckpointManager, Restored, RestoreError
from .store import (CommitInfo, DiffSummary, FsckReport, GCReport, Store, StoreError,
                    TensorChange, TensorInfo)

__all__ = [
    "BackgroundSaveError", "CheckpointManager", "CommitInfo", "DiffSummary", "FsckReport",
    "GCReport", "LibraryNotFound", "Restored", "RestoreError", "Store", "StoreError",
    "TensorChange", "TensorInfo",
]
