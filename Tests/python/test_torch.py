"""PyTorch: model + Adam saved, restored into fresh objects, one more step bit-identical to an
uninterrupted run (issue 11, acceptance 2). Skipped, saying so, where torch is not importable."""

import pytest

import ckstore

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the PyTorch test is skipped")


def make(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer


def step(model, optimizer, i):
    g = torch.Generator().manual_seed(100 + i)
    x = torch.randn(32, 8, generator=g)
    y = torch.randint(0, 3, (32,), generator=g)
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()


def test_adam_resume_is_bit_identical_to_an_uninterrupted_run(store):
    torch.use_deterministic_algorithms(True)
    model, optimizer = make(0)
    for i in range(3):
        step(model, optimizer, i)
    manager = ckstore.CheckpointManager(store, max_to_keep=2)
    commit = manager.save(3, model=model, optimizer=optimizer, blocking=False)
    assert commit is None
    manager.wait()
    names = {t.name for t in store.tensors("HEAD")}
    assert "optimizer/state/0.weight/exp_avg" in names
    assert "optimizer/state/2.bias/exp_avg_sq" in names and "model/2.bias" in names
    step(model, optimizer, 3)  # the uninterrupted run

    fresh, fresh_optimizer = make(1)  # other initial weights, no optimizer state yet
    restored = manager.restore(model=fresh, optimizer=fresh_optimizer)
    assert restored.step == 3
    step(fresh, fresh_optimizer, 3)
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b) and a.numpy().tobytes() == b.numpy().tobytes(), name
    sa, sb = optimizer.state_dict(), fresh_optimizer.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for i in sa["state"]:
        for key in sa["state"][i]:
            assert torch.equal(sa["state"][i][key], sb["state"][i][key]), (i, key)


def test_torch_dtypes_including_bf16_and_fp8_round_trip_through_byte_views(store):
    tensors = {"bf16": torch.randn(5, 3).to(torch.bfloat16), "f16": torch.randn(4).half(),
               "i64": torch.arange(6).reshape(2, 3), "b": torch.tensor([True, False]),
               "strided": torch.randn(4, 6)[:, ::2]}
    for name in ("float8_e4m3fn", "float8_e5m2"):
        if hasattr(torch, name):
            tensors[name] = torch.randn(8).to(getattr(torch, name))
    commit = store.commit(tensors, step=1)
    infos = {t.name: t for t in store.tensors(commit)}
    assert infos["bf16"].dtype == "bfloat16"
    for name, t in tensors.items():
        out = torch.empty(t.shape, dtype=t.dtype)
        store.read(commit, name, out=out)
        assert out.view(torch.uint8).tolist() == t.contiguous().view(torch.uint8).tolist(), name


def test_strict_restore_into_a_different_model_lists_every_name(store):
    model, optimizer = make(0)
    manager = ckstore.CheckpointManager(store)
    manager.save(1, model=model)
    other = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Tanh(), torch.nn.Linear(16, 3),
                                torch.nn.Linear(3, 3))
    with pytest.raises(ckstore.RestoreError) as e:
        manager.restore(model=other)
    assert "model/3.weight" in e.value.missing and "model/3.bias" in e.value.missing
    assert any("model/0.weight" in m for m in e.value.mismatched)
    assert any("model/0.bias" in m for m in e.value.mismatched)
    assert not any("model/2." in m for m in e.value.mismatched + e.value.missing)
