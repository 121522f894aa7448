"""Transfer runs: what each strategy trains, what stays bit-identical, EMCDR mapping."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")
pytest.importorskip("tqdm")

import torch  # noqa: E402
import xcat.train.loop as loop  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from xcat.evaluate.ranking import ValidationSet, model_metrics  # noqa: E402
from xcat.models import Vocab  # noqa: E402
from xcat.train import TrainConfig  # noqa: E402
from xcat.transfer import (  # noqa: E402
    DEFAULT_FREEZE,
    TransferData,
    frozen_parameters,
    match_names,
    plan,
    pretrain,
    transfer,
)

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
    # without a vocabulary a model's rows cannot be matched by raw id: sizes must agree
    other = Vocab.from_interactions(td.target_train)
    bare = pre.clone()
    bare.vocab = None
    with pytest.raises(ValueError, match="no vocabulary to match its rows by raw id"):
        transfer("full", TransferData(other, td.target_train, td.target_train), pretrained=bare)


# --------------------------------------------------------------------------- ids


def test_a_reordered_vocabulary_gives_every_id_its_own_pretrained_row(setup):
    td, pre, _, _ = setup
    # the same users, items and feature tokens, first seen in another order (as when the
    # vocabulary is rebuilt from a changed data file): same sizes, other row numbers
    swapped = Vocab.from_interactions(td.target_valid, td.target_train, td.source)
    old = td.vocab
    assert (swapped.n_users, swapped.n_items) == (old.n_users, old.n_items)
    assert len(swapped.features) == len(old.features)
    assert not swapped.users.ids.equals(old.users.ids)
    assert not swapped.items.ids.equals(old.items.ids)
    assert not swapped.features.ids.equals(old.features.ids)
    tds = TransferData(swapped, td.source, td.target_train, td.target_valid)
    tables = ["user_tower.user_id", "user_tower.history", "item_tower.item_id"]
    res = transfer("freeze", tds, pretrained=pre, train_config=TC, freeze=tables)
    assert res.id_mapping == {
        "pretrained": {
            "users": {"copied": old.n_users, "new": 0, "dropped": 0},
            "items": {"copied": old.n_items, "new": 0, "dropped": 0},
            "features": {"copied": len(old.features), "new": 0, "dropped": 0},
        }
    }
    got, want = res.model.state_dict(), pre.state_dict()
    users = old.users.ids.to_numpy()
    a, b = old.users.encode(users), swapped.users.encode(users)
    # frozen, so still the start: each user's row is its own pretrained row
    assert torch.equal(got["user_tower.user_id.weight"][b], want["user_tower.user_id.weight"][a])
    items = old.items.ids.to_numpy()
    a, b = old.items.encode(items), swapped.items.encode(items)
    for name in ("user_tower.history.weight", "item_tower.item_id.weight"):
        assert torch.equal(got[name][b], want[name][a]), name
    # the item feature rows of the target model are its own vocabulary's
    np.testing.assert_array_equal(
        res.model.item_tower.item_features.numpy(),
        np.where(swapped.item_features < 0, len(swapped.features), swapped.item_features),
    )
    # mapping (EMCDR): the source model and a target model built on the old
    # vocabulary both follow the ids, so users keep their own vectors
    scratch = transfer("scratch", td, model_config=pre.config, train_config=TC).model
    mapped = transfer(
        "mapping", tds, pretrained=pre, train_config=TC, target_model=scratch, mapper_epochs=2
    ).model
    a, b = old.users.encode(users), swapped.users.encode(users)
    np.testing.assert_array_equal(mapped.source_model.user_embeddings(b), pre.user_embeddings(a))
    np.testing.assert_array_equal(
        mapped.target_model.user_embeddings(b), scratch.user_embeddings(a)
    )
    np.testing.assert_array_equal(mapped.cold[b], ~scratch.has_history()[a])


def test_an_identical_vocabulary_moves_nothing(setup):
    td, pre, _, _ = setup
    # a rebuilt vocabulary with the same ids in the same order (another object):
    # the same weights bit for bit as with the vocabulary the model was built on
    again = Vocab.from_dict(td.vocab.to_dict())
    assert again is not td.vocab
    tda = TransferData(again, td.source, td.target_train, td.target_valid)
    a = transfer("full", td, pretrained=pre, train_config=TC)
    b = transfer("full", tda, pretrained=pre, train_config=TC)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.id_mapping == b.id_mapping
    assert a.id_mapping["pretrained"]["users"] == {
        "copied": td.vocab.n_users,
        "new": 0,
        "dropped": 0,
    }


def test_a_smaller_vocabulary_drops_and_counts_rows(setup, caplog):
    td, pre, _, _ = setup
    # target users and items only: source-only users and the source items are dropped
    other = Vocab.from_interactions(td.target_train)
    tdo = TransferData(other, td.target_train, td.target_train)
    with caplog.at_level("INFO", logger="xcat.transfer"):
        res = transfer("full", tdo, pretrained=pre, train_config=TC)
    counts = res.id_mapping["pretrained"]
    n_src_only = td.vocab.n_users - other.n_users
    assert counts["users"] == {"copied": other.n_users, "new": 0, "dropped": n_src_only}
    n_src_items = len(td.vocab.domain_items("src"))
    assert counts["items"]["dropped"] >= n_src_items and counts["items"]["new"] == 0
    assert res.model.config.n_users == other.n_users
    assert any(
        "rows matched to data.vocab by raw id" in r.message
        and f"{other.n_users} copied, 0 new, {n_src_only} dropped" in r.message
        for r in caplog.records
    )


def test_transfer_beats_scratch_on_cold_start_users_synthetic(setup):
    td, pre, _, cold_target = setup
    tgt = td.vocab.encode(td.target_train)
    vs = ValidationSet.build(
        td.vocab.encode(cold_target), tgt, n_items=td.vocab.n_items, candidates=td.target_items()
    )
    assert len(vs.users) > 20
    scratch = transfer("scratch", td, model_config=pre.config, train_config=TC)
    full = transfer("full", td, pretrained=pre, train_config=TC)
    s, f = model_metrics(scratch.model, vs).ndcg, model_metrics(full.model, vs).ndcg
    assert f > s + 0.1, (f, s)


# --------------------------------------------------------------------------- sequence towers

SEQ_TC = TrainConfig(epochs=2, batch_size=32, progress=False, patience=5, loss="ce", sparse=False)


@pytest.fixture(scope="module", params=["sasrec", "gru"])
def seq_setup(request, setup):
    td = setup[0]
    mc = td.vocab.model_config(
        user_tower=request.param, dim=8, embedding_dim=8, hidden_dims=(), max_history=10
    )
    pre, _ = pretrain(td, model_config=mc, train_config=SEQ_TC)
    return td, pre


def test_sequence_tower_freeze_keeps_the_encoder_bit_identical(seq_setup):
    td, pre = seq_setup
    before = snapshot(pre)
    res = transfer("freeze", td, pretrained=pre, train_config=SEQ_TC)
    after = dict(res.model.named_parameters())
    expected = match_names(list(pre.default_freeze()), list(before))
    assert res.frozen == expected and len(expected) >= 4
    assert "user_tower.history.weight" not in expected  # new target items must train
    for n in before:
        if n in expected:
            assert torch.equal(before[n], after[n]), f"frozen {n} changed"
        else:
            assert not torch.equal(before[n], after[n]), f"trainable {n} did not train"


def test_sequence_models_ask_for_the_domain_they_serve(seq_setup):
    td, pre = seq_setup
    domains = list(td.vocab.domains)
    assert pre.user_tower.query_domain.item() == domains.index("src")
    res = transfer("full", td, pretrained=pre, train_config=SEQ_TC)
    assert res.model.user_tower.query_domain.item() == domains.index("tgt")
    assert pre.user_tower.query_domain.item() == domains.index("src")  # untouched


def test_joint_trains_one_fresh_model_on_both_domains(setup, monkeypatch):
    td, _, _, _ = setup
    seen = {}
    real_fit = loop.fit

    def spy(model, train, **kwargs):
        seen["rows"] = len(train)
        seen["domains"] = set(np.unique(train.domains).tolist())
        return real_fit(model, train, **kwargs)

    monkeypatch.setattr("xcat.transfer.run.fit", spy)
    mc = td.vocab.model_config(dim=16, embedding_dim=16, hidden_dims=(32,), max_history=10)
    res = transfer("joint", td, model_config=mc, train_config=TC)
    assert seen["rows"] == len(td.source) + len(td.target_train)
    assert len(seen["domains"]) == 2
    assert res.spec.start_from_pretrained is False and res.frozen == []
    # cold-start users are encoded from their source history
    assert res.model.has_history().sum() > res.model.config.n_users * 0.9
