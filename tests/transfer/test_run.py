"""Transfer strategies: what trains, what stays bit-identical, and the training loop."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")
pytest.importorskip("tqdm")

import torch  # noqa: E402
import xcat.train.loop as loop  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from xcat.models import Vocab, load  # noqa: E402
from xcat.train import TrainConfig, ValidationSet, evaluate, fit  # noqa: E402
from xcat.transfer import (  # noqa: E402
    DEFAULT_FREEZE,
    Strategy,
    TransferData,
    copy_weights,
    frozen_parameters,
    match_names,
    plan,
    pretrain,
    reinit_weights,
    transfer,
)
from xcat.transfer.run import _new_model  # noqa: E402

torch.set_num_threads(2)

TC = TrainConfig(epochs=3, batch_size=64, progress=False, patience=5)


@pytest.fixture(scope="module")
def setup():
    data, cold, cold_target = make_cross_domain(n_users=200, seed=3)
    vocab = Vocab.from_interactions(data.source, data.target)
    held = data.target.take(
        data.target.data.groupby("user").cumcount(ascending=False).to_numpy() == 0
    )
    train = data.target.take(
        data.target.data.groupby("user").cumcount(ascending=False).to_numpy() > 0
    )
    td = TransferData(vocab, data.source, train, held)
    mc = vocab.model_config(dim=16, embedding_dim=16, hidden_dims=(32,), max_history=10)
    pre, _ = pretrain(td, model_config=mc, train_config=TC)
    return td, pre, cold, cold_target


def snapshot(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


# --------------------------------------------------------------------------- declared moves


def test_plan_declares_what_each_strategy_freezes():
    assert plan("full").freeze == () and plan("full").start_from_pretrained
    assert plan("freeze").freeze == DEFAULT_FREEZE
    assert plan("freeze", freeze=["item_tower.mlp"]).freeze == ("item_tower.mlp",)
    assert plan("reinit").reinit == ("item_tower",)
    assert not plan("scratch").start_from_pretrained and not plan("scratch").source_history
    assert plan(Strategy.MAPPING).phases[-1].value == "map"
    assert "freezes ['user_tower.user_id', 'user_tower.mlp']" in plan("freeze").describe()
    with pytest.raises(ValueError, match="strategy"):
        plan("finetune")
    with pytest.raises(ValueError, match="freeze"):
        plan("full", freeze=["user_tower"])


def test_unknown_freeze_names_list_close_matches(setup):
    _, pre, _, _ = setup
    names = [n for n, _ in pre.named_parameters()]
    with pytest.raises(
        ValueError,
        match=r"'user_tower\.mpl' matches no parameter; did you mean .*'user_tower\.mlp'",
    ):
        frozen_parameters(plan("freeze", freeze=["user_tower.mpl"]), names)
    with pytest.raises(ValueError, match="user_tower.user_id"):
        transfer("freeze", setup[0], pretrained=pre, train_config=TC, freeze=["user_tower.userid"])


def test_match_names_prefixes_are_whole_components():
    keys = ["a.b.weight", "a.b.bias", "a.bc.weight", "c"]
    assert match_names(["a.b"], keys) == ["a.b.weight", "a.b.bias"]
    assert match_names(["c", "a.bc.weight"], keys) == ["a.bc.weight", "c"]
    with pytest.raises(ValueError, match="did you mean"):
        match_names(["a.bd"], keys)


def test_weight_moves_are_pure_functions():
    src = {"x": torch.ones(2), "y": torch.zeros(3)}
    dst = {"x": torch.zeros(2), "y": torch.ones(3)}
    out = copy_weights(src, dst, ["x"])
    assert torch.equal(out["x"], src["x"]) and out["y"] is dst["y"]
    assert torch.equal(dst["x"], torch.zeros(2))  # inputs untouched
    out["x"][0] = 5
    assert src["x"][0] == 1  # copies are clones
    with pytest.raises(ValueError, match="shapes differ"):
        copy_weights({"x": torch.ones(3)}, dst, ["x"])
    new, keys = reinit_weights(dst, src, ["y"])
    assert keys == ["y"] and torch.equal(new["y"], src["y"]) and torch.equal(new["x"], dst["x"])


# --------------------------------------------------------------------------- strategies


def test_full_trains_every_parameter_and_leaves_pretrained_untouched(setup):
    td, pre, _, _ = setup
    before = snapshot(pre)
    res = transfer("full", td, pretrained=pre, train_config=TC)
    after = dict(res.model.named_parameters())
    assert res.frozen == []
    for n, t in before.items():
        assert torch.equal(t, dict(pre.named_parameters())[n]), f"pretrained {n} was modified"
        assert not torch.equal(t, after[n]), f"{n} did not train"


@pytest.mark.parametrize("names", [None, ["user_tower", "item_tower.mlp.0"]])
def test_freeze_keeps_frozen_tensors_bit_identical(setup, names):
    td, pre, _, _ = setup
    before = snapshot(pre)
    res = transfer("freeze", td, pretrained=pre, train_config=TC, freeze=names)
    after = dict(res.model.named_parameters())
    expected = match_names(names or DEFAULT_FREEZE, list(before))
    assert res.frozen == expected and res.fit.frozen == sorted(expected)
    assert len(expected) >= 3
    for n in before:
        if n in expected:
            assert torch.equal(before[n], after[n]), f"frozen {n} changed"
            assert not after[n].requires_grad
        else:
            assert not torch.equal(before[n], after[n]), f"trainable {n} did not train"


def test_reinit_redraws_item_tower_and_keeps_user_tower_start(setup, monkeypatch):
    td, pre, _, _ = setup
    started: dict[str, torch.Tensor] = {}
    real_fit = loop.fit

    def spy(model, *args, **kwargs):
        started.update(snapshot(model))
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr("xcat.transfer.run.fit", spy)
    res = transfer("reinit", td, pretrained=pre, train_config=TC)
    pre_p = dict(pre.named_parameters())
    assert res.reinitialised and all(n.startswith("item_tower.") for n in res.reinitialised)
    assert {n for n in pre_p if n.startswith("item_tower.")} == set(res.reinitialised)
    for n, t in started.items():
        if n.startswith("item_tower."):
            assert not torch.equal(t, pre_p[n]), f"{n} was not re-drawn"
        else:
            assert torch.equal(t, pre_p[n]), f"{n} did not start from the pretrained value"
    # reinit only a named layer
    res2 = transfer("reinit", td, pretrained=pre, train_config=TC, reinit=["item_tower.mlp.2"])
    assert res2.reinitialised == ["item_tower.mlp.2.weight", "item_tower.mlp.2.bias"]


def test_scratch_sees_target_only_and_mapping_maps_cold_users(setup):
    td, pre, cold, _ = setup
    scratch = transfer("scratch", td, model_config=pre.config, train_config=TC)
    cold_rows = td.vocab.users.encode(cold)
    assert not scratch.model.has_history()[cold_rows].any()  # no source history in scratch
    src_items = td.vocab.domain_items("src")
    assert not np.isin(scratch.model.user_history.numpy(), src_items).any()
    mapped = transfer(
        "mapping", td, pretrained=pre, train_config=TC, target_model=scratch.model, mapper_epochs=20
    )
    m = mapped.model
    assert m.cold[cold_rows].all() and m.cold.sum() == len(cold_rows)
    warm = np.flatnonzero(~m.cold)[:5]
    np.testing.assert_array_equal(m.user_embeddings(warm), scratch.model.user_embeddings(warm))
    uc = m.user_embeddings(cold_rows)
    assert not np.allclose(uc, scratch.model.user_embeddings(cold_rows), atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(uc, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="pretrained"):
        transfer("mapping", td, train_config=TC)
    other = Vocab.from_interactions(td.target_train)
    with pytest.raises(ValueError, match="use the same Vocab"):
        transfer("full", TransferData(other, td.target_train, td.target_train), pretrained=pre)


def test_transfer_beats_scratch_on_cold_start_users_synthetic(setup):
    td, pre, _, cold_target = setup
    tgt = td.vocab.encode(td.target_train)
    vs = ValidationSet.build(
        td.vocab.encode(cold_target), tgt, n_items=td.vocab.n_items, candidates=td.target_items()
    )
    assert len(vs.users) > 20
    scratch = transfer("scratch", td, model_config=pre.config, train_config=TC)
    full = transfer("full", td, pretrained=pre, train_config=TC)
    s, f = evaluate(scratch.model, vs).ndcg, evaluate(full.model, vs).ndcg
    assert f > s + 0.1, (f, s)


# --------------------------------------------------------------------------- loop


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
    real_eval = loop.evaluate

    def fake(model, data, k=10):
        states.append({n: t.clone() for n, t in model.state_dict().items()})
        r = real_eval(model, data, k=k)
        return type(r)(next(scores), r.hr, r.k, r.n_users)

    monkeypatch.setattr(loop, "evaluate", fake)
    res = transfer("full", td, pretrained=pre, train_config=TC.replace(epochs=6, patience=2))
    assert res.fit.stopped_early and res.fit.best_epoch == 2 and len(res.fit.history) == 4
    assert res.fit.best_metric == 0.5
    final = res.model.state_dict()
    assert all(torch.equal(final[k], states[1][k]) for k in final)


def test_ctrl_c_keeps_best_checkpoint(setup, monkeypatch, tmp_path):
    td, pre, _, _ = setup
    calls = {"n": 0}
    real_eval = loop.evaluate

    def interrupt_second(model, data, k=10):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_eval(model, data, k=k)

    monkeypatch.setattr(loop, "evaluate", interrupt_second)
    torch.manual_seed(0)
    model = _new_model(td, pre.config, 0)
    model.set_history(td.vocab.histories(td.source, td.target_train, max_len=10))
    res = fit(
        model,
        td.vocab.encode(td.target_train),
        config=TC.replace(epochs=5),
        valid=td.validation(),
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
