"""Two-tower model, config, vocabulary, losses and ranking metrics."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")
pytest.importorskip("tqdm")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from xcat.data.interactions import Interactions  # noqa: E402
from xcat.models import (  # noqa: E402
    TwoTower,
    TwoTowerConfig,
    Vocab,
    bpr_loss,
    get_loss,
    mse_loss,
    sampled_softmax_loss,
)
from xcat.train import TrainConfig, fit, ranking_metrics  # noqa: E402

torch.set_num_threads(2)


# --------------------------------------------------------------------------- config


def test_config_round_trip_and_errors():
    cfg = TwoTowerConfig(
        n_users=3, n_items=5, n_features=2, max_item_features=1, hidden_dims=[8, 4]
    )
    assert cfg.hidden_dims == (8, 4)
    assert TwoTowerConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="n_users"):
        TwoTowerConfig(n_users=0, n_items=5)
    with pytest.raises(ValueError, match="dropout"):
        TwoTowerConfig(n_users=1, n_items=5, dropout=1.0)
    with pytest.raises(ValueError, match="max_item_features"):
        TwoTowerConfig(n_users=1, n_items=5, n_features=3)
    with pytest.raises(ValueError, match="unknown fields"):
        TwoTowerConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="hinge")
    with pytest.raises(ValueError, match="sampling"):
        TrainConfig(sampling="stratified")


# --------------------------------------------------------------------------- vocab


def small_tables() -> tuple[Interactions, Interactions]:
    src = Interactions(
        pd.DataFrame(
            {"user": ["a", "a", "b", "a"], "item": ["s1", "s2", "s1", "s3"], "category": "S"}
        ),
        items=pd.DataFrame(
            {"attributes": [["x", "y"], ["x"], []], "price": [1.0, 5.0, np.nan]},
            index=pd.Index(["s1", "s2", "s3"], name="item"),
        ),
    )
    tgt = Interactions(pd.DataFrame({"user": ["b", "c"], "item": ["t1", "t2"], "category": "T"}))
    return src, tgt


def test_vocab_features_domains_and_history():
    src, tgt = small_tables()
    v = Vocab.from_interactions(src, tgt, price_buckets=2)
    assert list(v.users.ids) == ["a", "b", "c"]
    assert list(v.items.ids) == ["s1", "s2", "s3", "t1", "t2"]
    assert v.domains == ("S", "T")
    assert v.item_domains.tolist() == [0, 0, 0, 1, 1]
    tokens = [[v.features.ids[j] for j in row if j >= 0] for row in v.item_features]
    assert tokens[0] == ["category=S", "attributes=x", "attributes=y", "price=q0"]
    assert tokens[1] == ["category=S", "attributes=x", "price=q1"]
    assert tokens[2] == ["category=S"]  # empty attributes and missing price: absent
    assert tokens[3] == ["category=T"]
    assert v.domain_items("T").tolist() == [3, 4]
    assert v.item_categories().tolist() == ["S", "S", "S", "T", "T"]
    h = v.histories(src, tgt, max_len=2)
    # a: s1 s2 s3 -> last two; b: s1 then t1; c: t2
    assert h.tolist() == [[1, 2], [0, 3], [4, -1]]
    assert Vocab.from_dict(v.to_dict()).item_features.tolist() == v.item_features.tolist()
    with pytest.raises(ValueError, match="not in the map"):
        v.encode(Interactions(pd.DataFrame({"user": ["zz"], "item": ["s1"], "category": "S"})))
    with pytest.raises(ValueError, match="domain"):
        v.domain_items("Q")
    with pytest.raises(ValueError, match="feature_columns"):
        Vocab.from_interactions(src, feature_columns=["brand"])


# --------------------------------------------------------------------------- model


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
    np.testing.assert_array_equal(m.user_embeddings()[[0, 2, 1]], u)
    with pytest.raises(ValueError, match="users"):
        m.user_embeddings([v.n_users])
    with pytest.raises(ValueError, match="items"):
        m.item_embeddings(np.array([0.5]))
    with pytest.raises(ValueError, match="history"):
        m.set_history(np.zeros((2, 3), dtype=np.int64))


def test_history_pooling_drops_the_positive():
    m, _ = tiny_model()
    users = torch.tensor([0, 1])
    hist = m.user_history[users]
    item = hist[:, 0]
    manual = m.user_tower(users, hist.masked_fill(hist == item[:, None], m.config.n_items))
    torch.testing.assert_close(m.encode_users(users, drop_items=item), manual)
    assert not torch.allclose(m.encode_users(users), manual)


def test_cold_start_users_get_nondegenerate_differing_scores():
    data, cold, _ = make_cross_domain(n_users=200, seed=1)
    v = Vocab.from_interactions(data.source, data.target)
    torch.manual_seed(0)
    m = TwoTower(v.model_config(dim=16, embedding_dim=16, hidden_dims=(32,)), v)
    m.set_history(v.histories(data.source, data.target, max_len=10))
    fit(m, v.encode(data.target), config=TrainConfig(epochs=3, batch_size=64, progress=False))
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


# --------------------------------------------------------------------------- losses


def test_sampled_softmax_matches_numpy_oracle_with_log_q():
    g = torch.Generator().manual_seed(0)
    u = F.normalize(torch.randn(5, 4, generator=g), dim=-1)
    c = F.normalize(torch.randn(5, 4, generator=g), dim=-1)
    log_q = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15]))
    got = sampled_softmax_loss(u, c, temperature=0.5, log_q=log_q)
    s = (u.numpy() @ c.numpy().T) / 0.5 - log_q.numpy()[None, :]
    expected = np.mean([-s[b, b] + math.log(np.exp(s[b]).sum()) for b in range(5)])
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert sampled_softmax_loss(u, c, temperature=0.5).item() != pytest.approx(expected, rel=1e-3)


def test_sampled_softmax_masks_repeated_positives_and_weights():
    g = torch.Generator().manual_seed(1)
    u = F.normalize(torch.randn(3, 4, generator=g), dim=-1)
    c = F.normalize(torch.randn(3, 4, generator=g), dim=-1)
    c[2] = c[0]
    ids = torch.tensor([7, 8, 7])
    s = (u.numpy() @ c.numpy().T) / 0.1
    per_row = []
    for b in range(3):
        keep = [j for j in range(3) if j == b or ids[j] != ids[b]]
        per_row.append(-s[b, b] + math.log(np.exp(s[b, keep]).sum()))
    w = torch.tensor([1.0, 0.0, 3.0])
    got = sampled_softmax_loss(u, c, temperature=0.1, item_ids=ids, weights=w)
    assert got.item() == pytest.approx((per_row[0] + 3 * per_row[2]) / 4, rel=1e-5)


def test_bpr_and_mse_values():
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    n = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    expected = np.mean([np.log1p(np.exp(-(1 - 0) / 0.5)), np.log1p(np.exp(-(0.8 - 1) / 0.5))])
    assert bpr_loss(u, p, n, temperature=0.5).item() == pytest.approx(expected, rel=1e-5)
    assert mse_loss(u, p, torch.tensor([1.0, 0.0])).item() == pytest.approx((0 + 0.64) / 2)
    assert get_loss("bpr") is bpr_loss
    with pytest.raises(ValueError, match="loss"):
        get_loss("hinge")
    with pytest.raises(ValueError, match="temperature"):
        sampled_softmax_loss(u, p, temperature=0)


@pytest.mark.parametrize("loss", ["softmax", "bpr", "mse"])
def test_every_loss_trains(loss):
    m, v = tiny_model()
    data, _, _ = make_cross_domain(n_users=60, seed=0)
    res = fit(
        m,
        v.encode(data.target),
        config=TrainConfig(loss=loss, epochs=4, batch_size=32, progress=False),
    )
    losses = [h["loss"] for h in res.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


# --------------------------------------------------------------------------- metrics


def test_ranking_metrics_by_hand():
    import scipy.sparse as sp

    items = np.eye(4, dtype=np.float32)
    users = np.array([[4, 3, 2, 1], [1, 2, 3, 4], [1, 1, 1, 1]], dtype=np.float32)
    truth = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    exclude = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    r = ranking_metrics(users, items, truth, k=2, exclude=exclude)
    # user 0: item 0 excluded, item 1 ranked first -> 1; user 1: item 0 ranked 4th -> 0
    assert r.n_users == 2
    assert r.ndcg == pytest.approx(0.5) and r.hr == pytest.approx(0.5)
    r3 = ranking_metrics(users, items, truth, k=3, candidates=[1, 2, 3])
    # user 0 ranks 1 first (1.0); user 1: item 0 not a candidate -> 0
    assert r3.ndcg == pytest.approx(0.5)
    with pytest.raises(ValueError, match="k"):
        ranking_metrics(users, items, truth, k=0)


def test_train_config_round_trip_and_device_resolution():
    from xcat.train import resolve_device

    tc = TrainConfig(loss="bpr", domain_weights={"a": 0.5}, sampling="balanced")
    assert TrainConfig.from_dict(tc.to_dict()) == tc
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="device"):
        TrainConfig(device="tpu")


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
