"""The training loop: every loss trains, seeded runs repeat, early stopping, Ctrl-C, sampling."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the training tests need the train extra (torch)")
pytest.importorskip("safetensors")
pytest.importorskip("tqdm")

import torch  # noqa: E402
import xcat.train.loop as loop  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from xcat.models import TwoTower, Vocab, load  # noqa: E402
from xcat.train import TrainConfig, fit  # noqa: E402
from xcat.transfer import TransferData, pretrain, transfer  # noqa: E402

torch.set_num_threads(2)

TC = TrainConfig(epochs=3, batch_size=64, progress=False, patience=5)


@pytest.fixture(scope="module")
def setup():
    """A pretrained model and target data with one held-out item per user (as in test_run)."""
    data, cold, cold_target = make_cross_domain(n_users=200, seed=3)
    vocab = Vocab.from_interactions(data.source, data.target)
    last = data.target.data.groupby("user").cumcount(ascending=False).to_numpy() == 0
    td = TransferData(vocab, data.source, data.target.take(~last), data.target.take(last))
    mc = vocab.model_config(dim=16, embedding_dim=16, hidden_dims=(32,), max_history=10)
    pre, _ = pretrain(td, model_config=mc, train_config=TC)
    return td, pre, cold, cold_target


@pytest.mark.parametrize("loss", ["softmax", "bpr", "mse"])
def test_every_loss_trains(loss):
    data, _, _ = make_cross_domain(n_users=60, seed=0)
    v = Vocab.from_interactions(data.source, data.target)
    torch.manual_seed(0)
    m = TwoTower(v.model_config(dim=8, embedding_dim=8, hidden_dims=(16,)), v)
    res = fit(
        m,
        v.encode(data.target),
        config=TrainConfig(loss=loss, epochs=4, batch_size=32, progress=False),
        history=v.histories(data.source, data.target, max_len=10),
    )
    losses = [h["loss"] for h in res.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_fit_stores_the_histories_it_trains_with(setup):
    td, pre, _, _ = setup
    hist = td.vocab.histories(td.source, td.target_train, max_len=10)
    model = TwoTower(pre.config, td.vocab)
    fit(model, td.vocab.encode(td.target_train), config=TC.replace(epochs=1), history=hist)
    np.testing.assert_array_equal(model.stored_history(), hist)
    with pytest.raises(ValueError, match="history"):
        fit(model, td.vocab.encode(td.target_train), config=TC, history=hist[:5])


def test_seeded_cpu_runs_are_bit_identical(setup):
    td, pre, _, _ = setup
    a = transfer("full", td, pretrained=pre, train_config=TC)
    b = transfer("full", td, pretrained=pre, train_config=TC)
    c = transfer("full", td, pretrained=pre, train_config=TC.replace(seed=1))
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert [h["loss"] for h in a.fit.history] == [h["loss"] for h in b.fit.history]


def test_early_stopping_restores_best_epoch(setup, monkeypatch):
    td, pre, _, _ = setup
    scores = iter([0.3, 0.5, 0.4, 0.2, 0.1, 0.9])
    states = []
    real_eval = loop.model_metrics

    def fake(model, data, k=10):
        states.append({n: t.clone() for n, t in model.state_dict().items()})
        r = real_eval(model, data, k=k)
        return type(r)(next(scores), r.hr, r.k, r.n_users)

    monkeypatch.setattr(loop, "model_metrics", fake)
    res = transfer("full", td, pretrained=pre, train_config=TC.replace(epochs=6, patience=2))
    assert res.fit.stopped_early and res.fit.best_epoch == 2 and len(res.fit.history) == 4
    assert res.fit.best_metric == 0.5
    final = res.model.state_dict()
    assert all(torch.equal(final[k], states[1][k]) for k in final)


def test_ctrl_c_keeps_best_checkpoint(setup, monkeypatch, tmp_path):
    td, pre, _, _ = setup
    calls = {"n": 0}
    real_eval = loop.model_metrics

    def interrupt_second(model, data, k=10):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_eval(model, data, k=k)

    monkeypatch.setattr(loop, "model_metrics", interrupt_second)
    torch.manual_seed(0)
    model = TwoTower(pre.config, td.vocab)
    res = fit(
        model,
        td.vocab.encode(td.target_train),
        config=TC.replace(epochs=5),
        valid=td.validation(),
        history=td.vocab.histories(td.source, td.target_train, max_len=10),
        checkpoint_dir=tmp_path / "ckpt",
    )
    assert res.interrupted and res.best_epoch == 1
    saved = load(tmp_path / "ckpt")
    assert saved.metadata["extra"]["epoch"] == 1
    np.testing.assert_array_equal(saved.item_embeddings(), model.item_embeddings())


def test_domain_weights_and_balanced_sampling(setup):
    td, pre, _, _ = setup
    with pytest.raises(ValueError, match="domain_weights"):
        transfer("full", td, pretrained=pre, train_config=TC.replace(domain_weights={"nope": 1.0}))
    enc = td.vocab.encode(td.source)
    both = loop.EncodedInteractions(
        np.r_[enc.users, enc.users[:100]],
        np.r_[enc.items, enc.items[:100]],
        np.r_[np.zeros(len(enc), np.int64), np.ones(100, np.int64)],
    )
    order = loop._epoch_order(both, TC.replace(sampling="balanced"), np.random.default_rng(0))
    share = (both.domains[order] == 1).mean()
    assert 0.45 < share < 0.55  # 100 of ~1300 rows, drawn half of the time
    uniform = loop._epoch_order(both, TC, np.random.default_rng(0))
    assert sorted(uniform.tolist()) == list(range(len(both)))
    res = transfer(
        "full",
        td,
        pretrained=pre,
        joint=True,
        train_config=TC.replace(epochs=1, sampling="balanced", domain_weights={"src": 0.5}),
    )
    assert res.fit.history[0]["loss"] > 0
