"""TwoTower: exports, stored histories, the towers as pure functions, clone, parameter groups."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")
pytest.importorskip("tqdm")

import torch  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from xcat.models import IdTable, MeanPoolTower, TwoTower, TwoTowerConfig, Vocab  # noqa: E402
from xcat.models.two_tower import default_freeze_names, default_reinit_names  # noqa: E402
from xcat.train import TrainConfig, fit  # noqa: E402

torch.set_num_threads(2)


def tiny_model(seed: int = 0) -> tuple[TwoTower, Vocab]:
    data, _, _ = make_cross_domain(n_users=60, seed=seed)
    v = Vocab.from_interactions(data.source, data.target)
    torch.manual_seed(seed)
    m = TwoTower(v.model_config(dim=8, embedding_dim=8, hidden_dims=(16,)), v)
    m.set_history(v.histories(data.source, data.target, max_len=10))
    return m, v


def test_embeddings_are_float32_unit_rows_ready_for_topn():
    m, v = tiny_model()
    u = m.user_embeddings([0, 2, 1])
    i = m.item_embeddings()
    assert u.dtype == np.float32 and u.flags.c_contiguous and u.shape == (3, 8)
    assert i.shape == (v.n_items, 8)
    np.testing.assert_allclose(np.linalg.norm(i, axis=1), 1.0, rtol=1e-5)
    # a GEMM's row may round differently with the batch's row count on some CPUs' BLAS
    # kernels (seen on AMD EPYC with torch 2.15): equal to a few ulp, not bit for bit
    np.testing.assert_allclose(m.user_embeddings()[[0, 2, 1]], u, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="users"):
        m.user_embeddings([v.n_users])
    with pytest.raises(ValueError, match="items"):
        m.item_embeddings(np.array([0.5]))
    with pytest.raises(ValueError, match="history"):
        m.set_history(np.zeros((2, 3), dtype=np.int64))


def test_towers_are_pure_functions_of_their_inputs():
    m, _ = tiny_model()
    m.eval()
    users = torch.tensor([0, 1, 2])
    hist = m.user_history[users]
    # the exported vectors are the tower applied to the stored histories ...
    np.testing.assert_array_equal(
        m.user_embeddings(users.numpy()), m.encode_users(users, hist).detach().numpy()
    )
    # ... and the tower reads nothing but its inputs: other histories give other vectors,
    # an empty one a vector from the user id alone, whatever the model stores
    empty = torch.full_like(hist, m.config.n_items)
    assert not torch.allclose(m.encode_users(users, hist), m.encode_users(users, empty))
    stored = m.user_history.clone()
    m.user_history.fill_(m.config.n_items)
    torch.testing.assert_close(m.encode_users(users, hist), m.user_tower(users, hist))
    m.user_history.copy_(stored)
    items = torch.tensor([3, 4, 5])
    scores = m(users, hist, items)
    torch.testing.assert_close(
        scores, (m.encode_users(users, hist) * m.encode_items(items)).sum(-1)
    )


def test_cold_start_users_get_nondegenerate_differing_scores():
    data, cold, _ = make_cross_domain(n_users=200, seed=1)
    v = Vocab.from_interactions(data.source, data.target)
    torch.manual_seed(0)
    m = TwoTower(v.model_config(dim=16, embedding_dim=16, hidden_dims=(32,)), v)
    hist = v.histories(data.source, data.target, max_len=10)
    tc = TrainConfig(epochs=3, batch_size=64, progress=False)
    fit(m, v.encode(data.target), config=tc, history=hist)
    rows = v.users.encode(cold)
    assert m.has_history()[rows].all()  # cold-start users still have source history
    tgt_items = v.domain_items("tgt")
    scores = m.user_embeddings(rows) @ m.item_embeddings(tgt_items).T
    assert np.isfinite(scores).all()
    assert scores.std(axis=1).min() > 1e-3  # each cold user ranks items differently from flat
    # different cold users get different score vectors
    assert len(np.unique(np.round(scores, 5), axis=0)) == len(rows)


def test_import_xcat_does_not_import_torch():
    code = "import sys, xcat; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_set_history_keeps_the_most_recent_items():
    _, v = tiny_model()
    m = TwoTower(v.model_config(dim=8, embedding_dim=8, max_history=10), v)
    long = np.full((v.n_users, 15), -1, dtype=np.int64)
    long[0, :12] = np.arange(12)  # 12 items, max_history is 10 -> keep items 2..11
    m.set_history(long)
    pad = m.config.n_items
    assert m.user_history[0].tolist() == list(range(2, 12))
    assert m.user_history[1].tolist() == [pad] * m.config.max_history
    assert not m.has_history()[1] and m.has_history()[0]
    stored = m.stored_history()
    assert stored[0].tolist() == list(range(2, 12)) and (stored[1] == -1).all()
    m2 = TwoTower(m.config, v)
    m2.set_history(stored)  # the stored form is what set_history takes
    assert torch.equal(m2.user_history, m.user_history)


def test_clone_is_an_independent_copy_with_equal_outputs():
    m, v = tiny_model()
    m.frozen, m.trained_until = ("user_tower.mlp.0.weight",), "2024-01-01T00:00:00+00:00"
    c = m.clone()
    assert isinstance(c, TwoTower) and c is not m
    assert c.vocab is v and c.config == m.config
    assert (c.frozen, c.trained_until) == (m.frozen, m.trained_until)
    np.testing.assert_array_equal(c.user_embeddings(), m.user_embeddings())
    np.testing.assert_array_equal(c.item_embeddings(), m.item_embeddings())
    sd, sc = m.state_dict(), c.state_dict()
    assert sd.keys() == sc.keys()
    assert all(sd[k].data_ptr() != sc[k].data_ptr() for k in sd)  # copied, not shared
    before = m.user_embeddings()
    with torch.no_grad():
        for p in c.parameters():
            p.add_(1.0)
    c.user_history.fill_(m.config.n_items)
    np.testing.assert_array_equal(m.user_embeddings(), before)  # the original is untouched
    assert not np.array_equal(c.user_embeddings(), before)
    # training the copy leaves the original as it was
    data, _, _ = make_cross_domain(n_users=60, seed=0)
    c2 = m.clone()
    fit(c2, v.encode(data.target), config=TrainConfig(epochs=1, batch_size=32, progress=False))
    np.testing.assert_array_equal(m.user_embeddings(), before)


def test_parameter_groups_come_from_the_towers():
    m, _ = tiny_model()
    assert m.id_tables() == {
        "user_tower.user_id.weight": IdTable("user"),
        "user_tower.history.weight": IdTable("item", padding=True),
        "item_tower.item_id.weight": IdTable("item"),
        "item_tower.features.weight": IdTable("feature", padding=True),
    }
    # without item features there is no feature table
    plain = TwoTower(m.config.replace(n_features=0, max_item_features=0))
    assert "item_tower.features.weight" not in plain.id_tables()
    assert m.default_freeze() == ("user_tower.user_id", "user_tower.mlp")
    assert m.default_freeze() == default_freeze_names() == default_freeze_names("mean")
    assert m.default_reinit() == default_reinit_names() == ("item_tower",)
    assert set(m.input_buffers) <= set(m.state_dict())
    assert isinstance(m.user_tower, MeanPoolTower)
    # without a user-id table the tower says so
    inductive = TwoTower(m.config.replace(use_user_id=False))
    assert "user_tower.user_id.weight" not in inductive.id_tables()


def test_state_dict_keys_are_those_of_saved_models():
    m = TwoTower(TwoTowerConfig(n_users=3, n_items=4, n_features=2, max_item_features=1))
    assert list(m.state_dict()) == [
        "user_history",
        "user_tower.user_id.weight",
        "user_tower.history.weight",
        "user_tower.mlp.0.weight",
        "user_tower.mlp.0.bias",
        "user_tower.mlp.2.weight",
        "user_tower.mlp.2.bias",
        "item_tower.item_features",
        "item_tower.item_id.weight",
        "item_tower.features.weight",
        "item_tower.mlp.0.weight",
        "item_tower.mlp.0.bias",
        "item_tower.mlp.2.weight",
        "item_tower.mlp.2.bias",
    ]
    with pytest.raises(ValueError, match="unknown tower 'nope'"):
        TwoTower(TwoTowerConfig(n_users=3, n_items=4, user_tower="nope"))
