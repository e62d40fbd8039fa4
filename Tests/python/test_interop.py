"""A store written from Python reads in the CLI (Swift), and the other way round."""

import json
import struct
import subprocess

import numpy as np

import ckstore

SAFETENSORS_DTYPES = {"float32": "F32", "int64": "I64", "uint8": "U8", "float16": "F16"}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    header.pop("__metadata__", None)
    body = data[8 + length:]
    return {name: (h["dtype"], tuple(h["shape"]), body[h["data_offsets"][0]:h["data_offsets"][1]])
            for name, h in header.items()}


def write_safetensors(path, arrays):
    header, offset, body = {}, 0, b""
    for name, a in arrays.items():
        raw = a.tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        body += raw
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def test_python_store_reads_in_the_cli(store, cli, tmp_path):
    arrays = {"model/w": np.random.default_rng(3).standard_normal((5, 7)).astype(np.float32),
              "model/step": np.array(12, dtype=np.int64), "empty": np.zeros((0, 3), np.float16)}
    commit = store.commit(arrays, step=12, message="from python", metrics={"loss": 0.5})
    log = json.loads(subprocess.run([cli, "log", "--json", "--store", store.path],
                                    check=True, capture_output=True, text=True).stdout)
    assert json.dumps(log).count(commit) >= 1 and "from python" in json.dumps(log)
    out = tmp_path / "out.safetensors"
    subprocess.run([cli, "export", commit, "-o", str(out), "--store", store.path], check=True,
                   capture_output=True)
    exported = read_safetensors(out)
    assert set(exported) == set(arrays)
    for name, a in arrays.items():
        dtype, shape, raw = exported[name]
        assert dtype == SAFETENSORS_DTYPES[a.dtype.name] and shape == a.shape
        assert raw == a.tobytes()
    subprocess.run([cli, "fsck", "--store", store.path], check=True, capture_output=True)


def test_cli_store_reads_in_python(cli, tmp_path):
    path = str(tmp_path / "cli-store")
    subprocess.run([cli, "init", path], check=True, capture_output=True)
    arrays = {"a.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
              "a.count": np.array([1, 2, 3], dtype=np.int64), "mask": np.array([0, 1], np.uint8)}
    f = tmp_path / "in.safetensors"
    write_safetensors(f, arrays)
    subprocess.run([cli, "import", str(f), "--store", path, "--step", "4", "-m", "from cli"],
                   check=True, capture_output=True)
    store = ckstore.Store.open(path)
    head = store.log()[0]
    assert head.step == 4 and head.message == "from cli"
    for name, a in arrays.items():
        got = store.read("HEAD", name)
        assert got.dtype == a.dtype and got.shape == a.shape and got.tobytes() == a.tobytes()
    store.commit({"more": np.ones(2, np.float32)}, step=5)
    show = subprocess.run([cli, "show", "HEAD", "--store", path], check=True,
                          capture_output=True, text=True).stdout
    assert "more" in show
