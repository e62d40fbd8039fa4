"""Shared fixtures: a fresh store per test and the built ckstore CLI."""

import os

import pytest

import ckstore

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def store(tmp_path):
    s = ckstore.Store.create(str(tmp_path / "store"), chunk_size=4096)
    yield s
    s.close()


@pytest.fixture
def cli():
    """The ckstore binary built beside the library (.build/release/ckstore)."""
    path = os.environ.get("CKSTORE_CLI", os.path.join(REPO, ".build", "release", "ckstore"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"the ckstore CLI is not built at {path}: run `swift build -c release`")
    return path
