#!/usr/bin/env python3
"""ckstore from Python against safetensors, on the same arrays in the same run (issue 11).

Trained-like float32 weights (normal, std 0.02) with Adam moments (exp_avg ~ N(0, 1e-3),
exp_avg_sq = its square + 1e-8 noise), as {name: array}. For each total size:
  save     ckstore Store.commit (durable: the store fsyncs) vs safetensors.numpy.save_file + fsync
  restore  ckstore read_many into new arrays (verified) vs safetensors.numpy.load_file
  bytes    one checkpoint's object bytes vs the .safetensors file
Then ten saves of a fine-tune whose base (80% of the weights, no optimizer state) is frozen: one
store vs ten separate files. Medians of --repeats runs; ratios are ckstore / safetensors.

Run in the test venv: .venv-test/bin/pip install safetensors; .venv-test/bin/python
scripts/bench_python.py [--sizes 192,1024] [--repeats 5] [--dir DIR].
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file, save_file

import ckstore

MiB = 1 << 20


def trained_like(total_bytes, seed):
    """Weights plus exp_avg and exp_avg_sq, a third of the bytes each, in [rows, 1024] tensors."""
    rng = np.random.default_rng(seed)
    per_kind = total_bytes // 3 // 4
    tensors, rows, i = {}, 1024, 0
    while per_kind > 0:
        n = min(per_kind, rows * 1024)
        shape = (n // 1024, 1024) if n >= 1024 else (n,)
        w = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)
        m = (rng.standard_normal(shape, dtype=np.float32) * 1e-3).astype(np.float32)
        v = (m * m + np.abs(rng.standard_normal(shape, dtype=np.float32)) * 1e-8).astype(
            np.float32)
        tensors[f"model/layers.{i}.weight"] = w
        tensors[f"optimizer/state/layers.{i}.weight/exp_avg"] = m
        tensors[f"optimizer/state/layers.{i}.weight/exp_avg_sq"] = v
        per_kind -= int(np.prod(shape))
        i += 1
    return tensors


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def safetensors_save(tensors, path):
    save_file(tensors, path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_size(size_mib, repeats, root):
    tensors = trained_like(size_mib * MiB, seed=size_mib)
    logical = sum(a.nbytes for a in tensors.values())
    saves, st_saves, loads, st_loads = [], [], [], []
    stored = file_bytes = 0
    for r in range(repeats):
        folder = os.path.join(root, f"s{size_mib}-{r}")
        os.makedirs(folder)
        store = ckstore.Store.create(os.path.join(folder, "store"))
        path = os.path.join(folder, "ckpt.safetensors")
        # Alternate which goes first, so neither always meets a cold or a warm disk.
        order = [0, 1] if r % 2 == 0 else [1, 0]
        for which in order:
            if which == 0:
                t, commit = timed(lambda: store.commit(tensors, step=r))
                saves.append(t)
            else:
                t, _ = timed(lambda: safetensors_save(tensors, path))
                st_saves.append(t)
        for which in order:
            if which == 0:
                t, got = timed(lambda: store.read_many(commit, {n: None for n in tensors}))
                loads.append(t)
            else:
                t, got = timed(lambda: load_file(path))
                st_loads.append(t)
            assert all(got[n].tobytes() == a.tobytes() for n, a in list(tensors.items())[:2])
            del got
        stored = folder_bytes(os.path.join(folder, "store", "objects"))
        file_bytes = os.path.getsize(path)
        store.close()
        shutil.rmtree(folder)
    med = statistics.median
    print(f"\n{size_mib} MiB ({len(tensors)} tensors, {logical / MiB:.0f} MiB logical), "
          f"median of {repeats}:")
    print(f"  save     ckstore {med(saves):7.3f} s  safetensors+fsync {med(st_saves):7.3f} s  "
          f"ratio {med(saves) / med(st_saves):.2f}  (target <= 0.5)")
    print(f"  restore  ckstore {med(loads):7.3f} s  safetensors load  {med(st_loads):7.3f} s  "
          f"ratio {med(loads) / med(st_loads):.2f}  (target <= 1.0)")
    print(f"  bytes    ckstore {stored / MiB:7.1f} MiB  safetensors {file_bytes / MiB:7.1f} MiB  "
          f"ratio {stored / file_bytes:.2f}  (target <= 0.85)")
    print(f"  all runs: save {fmt(saves)} vs {fmt(st_saves)}; restore {fmt(loads)} vs "
          f"{fmt(st_loads)}")


def fmt(xs):
    return "[" + ", ".join(f"{x:.3f}" for x in xs) + "]"


def bench_finetune(size_mib, root):
    """Ten saves; the frozen base (80% of the weights) never changes, the head and its Adam
    moments change every step."""
    rng = np.random.default_rng(7)
    n = size_mib * MiB // 4
    base_n, head_n = int(n * 0.8) // 1024 * 1024, int(n * 0.2) // 3 // 1024 * 1024
    rows = base_n // 8 // 1024
    base = {f"model/base.{i}.weight":
            (rng.standard_normal((rows, 1024), dtype=np.float32) * 0.02).astype(np.float32)
            for i in range(8)}
    head = (rng.standard_normal((head_n // 1024, 1024), dtype=np.float32) * 0.02).astype(np.float32)
    m = np.zeros_like(head)
    v = np.zeros_like(head)
    folder = os.path.join(root, "finetune")
    os.makedirs(folder)
    store = ckstore.Store.create(os.path.join(folder, "store"))
    files = 0
    store_time = file_time = 0.0
    for step in range(10):
        grad = (rng.standard_normal(head.shape, dtype=np.float32) * 1e-3).astype(np.float32)
        m = (0.9 * m + 0.1 * grad).astype(np.float32)
        v = (0.999 * v + 0.001 * grad * grad).astype(np.float32)
        head = (head - 1e-3 * m / (np.sqrt(v) + 1e-8)).astype(np.float32)
        tensors = dict(base, **{"model/head.weight": head,
                                "optimizer/state/head.weight/exp_avg": m,
                                "optimizer/state/head.weight/exp_avg_sq": v})
        t, _ = timed(lambda: store.commit(tensors, step=step))
        store_time += t
        path = os.path.join(folder, f"step{step}.safetensors")
        t, _ = timed(lambda: safetensors_save(tensors, path))
        file_time += t
        files += os.path.getsize(path)
    stored = folder_bytes(os.path.join(folder, "store", "objects"))
    store.close()
    shutil.rmtree(folder)
    print(f"\nfine-tune, frozen base, ten saves of {size_mib} MiB:")
    print(f"  bytes    ckstore {stored / MiB:7.1f} MiB  ten files {files / MiB:7.1f} MiB  "
          f"ratio {stored / files:.2f}  (target <= 0.35)")
    print(f"  time     ckstore {store_time:7.3f} s  ten files {file_time:7.3f} s  "
          f"ratio {store_time / file_time:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="192,1024", help="total MiB per checkpoint")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--finetune-mib", type=int, default=192)
    parser.add_argument("--dir", default=None, help="scratch folder (default: a temp folder)")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="ckstore-bench-py-", dir=args.dir)
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            bench_size(size, args.repeats, root)
        bench_finetune(args.finetune_mib, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
