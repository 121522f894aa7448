"""Incremental updates (the feedback loop): xcat.train.update(model, events) and grow."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from models_synthetic import train_freeze_with_timestamps  # noqa: E402
from xcat import topn  # noqa: E402
from xcat.models import Vocab, load, save  # noqa: E402
from xcat.train import TrainConfig  # noqa: E402
from xcat.train.update import check_events, update  # noqa: E402
from xcat.transfer import TransferData, pretrain  # noqa: E402

TC = TrainConfig(epochs=3, batch_size=128, lr=5e-3, progress=False, device="cpu", num_threads=1)


@pytest.fixture(scope="module")
def trained():
    """A ``freeze`` model on the planted-cluster data, with timestamps on the target."""
    return train_freeze_with_timestamps()


def _copy(model):
    return model.clone()


def _score(model, user: str, item: str) -> float:
    u = model.vocab.users.encode([user])
    i = model.vocab.items.encode([item])
    return float(model.user_embeddings(u)[0] @ model.item_embeddings(i)[0])


def test_cutoff_and_frozen_recorded_by_transfer(trained):
    model, _ = trained
    assert model.trained_until is not None and model.trained_until.startswith("2024-01-01")
    assert "user_tower.mlp.0.weight" in model.frozen


def test_target_purchase_raises_its_score_and_rank(trained):
    model, _ = trained
    m = _copy(model)
    user = "u7"
    tgt_items = m.vocab.domain_items(["tgt"])
    scores = m.user_embeddings(m.vocab.users.encode([user]))[0] @ m.item_embeddings().T
    # the user's lowest-scored target item: the purchase is a surprise to the model
    item_row = tgt_items[np.argmin(scores[tgt_items])]
    item = m.vocab.items.ids[item_row]
    before = _score(m, user, item)
    rank_before = int((scores[tgt_items] > scores[item_row]).sum())
    rep = update(
        m,
        pd.DataFrame({"user": [user] * 3, "item": [item] * 3, "category": "tgt"}),
        steps=30,
        train_config=TrainConfig(lr=1e-2, batch_size=64, progress=False, device="cpu"),
    )
    assert rep.used == 3 and rep.steps == 30
    after = _score(m, user, item)
    scores_after = m.user_embeddings(m.vocab.users.encode([user]))[0] @ m.item_embeddings().T
    rank_after = int((scores_after[tgt_items] > scores_after[item_row]).sum())
    assert after > before + 0.1
    assert rank_after < rank_before
    # the purchase is now in the stored history (the user tower pools it)
    row = m.user_history[int(m.vocab.users.encode([user])[0])].numpy()
    assert int(item_row) in row


def test_new_user_and_item_rows_and_initialisation(trained):
    model, _ = trained
    m = _copy(model)
    n_u, n_i = m.config.n_users, m.config.n_items
    old_item_w = m.item_tower.item_id.weight.detach().clone()
    old_user_w = m.user_tower.user_id.weight.detach().clone()
    tgt_rows = m.vocab.domain_items(["tgt"])
    rep = update(
        m,
        pd.DataFrame(
            {"user": ["newbie", "newbie"], "item": ["t-new", "t3"], "category": ["tgt", "tgt"]}
        ),
        steps=0,
    )
    assert (rep.new_users, rep.new_items) == (1, 1)
    assert (m.config.n_users, m.config.n_items) == (n_u + 1, n_i + 1)
    # old rows unchanged, new item = mean of its category's items, new user = mean user row
    w = m.item_tower.item_id.weight.detach()
    assert torch.equal(w[:n_i], old_item_w)
    np.testing.assert_allclose(w[n_i].numpy(), old_item_w[tgt_rows].mean(0).numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        m.user_tower.user_id.weight.detach()[n_u].numpy(), old_user_w.mean(0).numpy(), rtol=1e-6
    )
    # the history padding row moved to the end and is still zero
    assert torch.count_nonzero(m.user_tower.history.weight[-1]) == 0
    vec = m.user_embeddings([n_u])
    assert np.isfinite(vec).all()
    # the old id maps are a prefix of the new ones
    assert m.vocab.users.ids[:n_u].equals(model.vocab.users.ids)
    assert m.vocab.items.ids[:n_i].equals(model.vocab.items.ids)


def test_steps0_unrelated_events_leave_other_users_unchanged(trained):
    model, _ = trained
    m = _copy(model)
    before_u = m.user_embeddings()
    before_i = m.item_embeddings()
    # events of two existing users and a new user, on existing and new items
    events = pd.DataFrame(
        {
            "user": ["u1", "u2", "brand-new"],
            "item": ["t1", "t-new-9", "s4"],
            "category": ["tgt", "tgt", "src"],
        }
    )
    update(m, events, steps=0)
    touched = m.vocab.users.encode(["u1", "u2"])
    others = np.setdiff1d(np.arange(model.config.n_users), touched)
    after_u = m.user_embeddings(np.arange(model.config.n_users))
    assert np.array_equal(after_u[others], before_u[others])
    assert np.array_equal(m.item_embeddings(np.arange(model.config.n_items)), before_i)
    # hence their recommendations over the existing catalogue are identical
    cands = model.vocab.domain_items(["tgt"])
    a = topn(before_u[others], before_i, 10, candidates=cands)
    b = topn(after_u[others], m.item_embeddings(), 10, candidates=cands)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.scores, b.scores)


def test_frozen_parameters_stay_fixed_during_update(trained):
    model, _ = trained
    m = _copy(model)
    frozen = {n: p.detach().clone() for n, p in m.named_parameters() if n in m.frozen}
    update(
        m, pd.DataFrame({"user": ["u3", "u4"], "item": ["t5", "t6"], "category": "tgt"}), steps=5
    )
    params = dict(m.named_parameters())
    for name, old in frozen.items():
        assert torch.equal(params[name].detach(), old), name
    # trainable ones moved
    assert not torch.equal(
        params["item_tower.item_id.weight"].detach(), model.item_tower.item_id.weight.detach()
    )


def test_update_round_trips_through_save_and_load(trained, tmp_path):
    model, _ = trained
    m = _copy(model)
    update(
        m,
        pd.DataFrame(
            {
                "user": ["u5", "zed"],
                "item": ["t8", "t-fresh"],
                "category": "tgt",
                "timestamp": ["2025-05-01T10:00:00Z", "2025-05-02T10:00:00Z"],
            }
        ),
        steps=3,
    )
    assert m.trained_until.startswith("2025-05-02T10:00:00")
    save(m, tmp_path / "m")
    back = load(tmp_path / "m")
    for k, v in m.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k
    assert back.vocab.users == m.vocab.users and back.vocab.items == m.vocab.items
    assert back.frozen == m.frozen and back.trained_until == m.trained_until
    assert np.array_equal(back.user_embeddings(), m.user_embeddings())
    # a second update on the loaded model extends it again
    update(back, pd.DataFrame({"user": ["zed2"], "item": ["t1"], "category": ["tgt"]}), steps=0)
    assert back.vocab.users.ids[: m.config.n_users].equals(m.vocab.users.ids)


def test_invalid_rows_are_reported_by_reason(trained):
    model, _ = trained
    events = pd.DataFrame(
        {
            "user": ["u1", None, "u2", "u3", "u4", "u5", "u6"],
            "item": ["t1", "t2", "t3", "b9", "s1", "t4", "t5"],
            "category": ["tgt", "tgt", "tgt", "books", "tgt", "tgt", None],
            "timestamp": [
                "2025-01-01",
                "2025-01-01",
                "not a time",
                "2025-01-01",
                "2025-01-01",
                "2023-06-01",
                "2025-01-02",
            ],
        }
    )
    good, bad = check_events(events, model.vocab, trained_until=model.trained_until)
    assert {k: v["count"] for k, v in bad.items()} == {
        "malformed": 2,
        "unknown_category": 1,
        "category_mismatch": 1,  # s1 is a source item
        "before_cutoff": 1,
    }
    assert bad["unknown_category"]["examples"][0]["category"] == "books"
    assert bad["before_cutoff"]["examples"][0]["row"] == 5
    # the good rows are kept in order; the known item t5 gets its category from the model
    assert good.data["user"].tolist() == ["u1", "u6"]
    assert good.data["category"].tolist() == ["tgt", "tgt"]
    m = _copy(model)
    rep = update(m, events, steps=0)
    assert rep.events == 7 and rep.used == 2 and rep.n_invalid == 5
    assert "before the model's training cut-off" in str(rep)
    with pytest.raises(ValueError, match="5 rows are invalid"):
        update(_copy(model), events, steps=0, invalid="raise")


def test_unknown_item_without_category_and_argument_errors(trained):
    model, _ = trained
    good, bad = check_events(pd.DataFrame({"user": ["u1"], "item": ["zzz"]}), model.vocab)
    assert good is None and bad["unknown_item_without_category"]["count"] == 1
    with pytest.raises(ValueError, match="missing columns"):
        check_events(pd.DataFrame({"user": ["u1"]}), model.vocab)
    m = _copy(model)
    events = pd.DataFrame({"user": ["u1"], "item": ["t1"]})
    with pytest.raises(ValueError, match="steps"):
        update(m, events, steps=-1)
    with pytest.raises(ValueError, match="replay"):
        update(m, events, replay=-0.5)
    with pytest.raises(ValueError, match="invalid"):
        update(m, events, invalid="drop")
    novocab = _copy(model)
    novocab.vocab = None
    with pytest.raises(ValueError, match="vocabulary"):
        update(novocab, events)


def test_a_new_item_under_two_categories_is_refused_not_guessed(trained):
    model, _ = trained
    events = pd.DataFrame(
        {
            "user": ["u1", "u2", "u3", "u4"],
            "item": ["new-x", "new-x", "new-y", "new-y"],
            "category": ["src", "tgt", "tgt", "tgt"],
        }
    )
    good, bad = check_events(events, model.vocab)
    assert bad["conflicting_category"]["count"] == 2  # both rows of new-x, neither chosen
    assert good.data["item"].tolist() == ["new-y", "new-y"]


def test_integer_ids_from_text(tmp_path):
    """Ids read as text from a file are matched to a model with integer ids."""
    from xcat.data.interactions import Interactions

    df = pd.DataFrame(
        {"user": [1, 1, 2, 2, 3], "item": [10, 11, 10, 12, 11], "category": ["a"] * 5}
    )
    inter = Interactions(df)
    vocab = Vocab.from_interactions(inter)
    tdata = TransferData(vocab, inter, inter)
    model, _ = pretrain(
        tdata, model_config=vocab.model_config(dim=4), train_config=TC.replace(epochs=1)
    )
    rep = update(
        model,
        pd.DataFrame({"user": ["1", "4", "x"], "item": ["12", "13", "10"], "category": "a"}),
        steps=0,
    )
    assert rep.used == 2 and rep.invalid["malformed"]["count"] == 1
    assert model.vocab.users.ids.tolist() == [1, 2, 3, 4]
    assert model.vocab.items.ids.tolist() == [10, 11, 12, 13]


# --------------------------------------------------------------------------- real data


def _replay_module():
    path = Path(__file__).resolve().parents[2] / "benches" / "feedback_replay.py"
    spec = importlib.util.spec_from_file_location("feedback_replay", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_replay_on_amazon_sequences_update_beats_no_update(data_dir):
    """Train on the first part of each sequence, feed the next items, test on the last."""
    from xcat.data.datasets import load_amazon2014_5core
    from xcat.data.domains import sample_users

    torch.set_num_threads(2)
    data = sample_users(load_amazon2014_5core("beauty", "toys", root=data_dir), 1500, seed=0)
    out = _replay_module().replay_experiment(data, n_events=2, steps=150, epochs=3, seed=0)
    m = out["metrics"]
    assert out["report"].new_items > 0  # items first seen in the events joined the catalogue
    assert m["updated"]["NDCG@10"] > m["not updated"]["NDCG@10"]
    assert m["updated"]["HR@10"] > m["not updated"]["HR@10"]


def test_new_item_features_from_an_items_table(trained):
    """A new item listed with known attribute tokens gets them; unknown tokens and floats don't."""
    from xcat.data.interactions import Interactions

    model, _ = trained
    items = pd.DataFrame(
        {"attributes": [["c1", "x2", "never-seen"]], "price": [12.5]},
        index=pd.Index(["t-new-feat"], name="item"),
    )
    events = Interactions(
        pd.DataFrame({"user": ["u1"], "item": ["t-new-feat"], "category": ["tgt"]}), items=items
    )
    vocab = model.vocab.extend(events)
    row = vocab.items.encode(["t-new-feat"])[0]
    codes = vocab.item_features[row]
    tokens = set(vocab.features.decode(codes[codes >= 0]))
    assert tokens == {"category=tgt", "attributes=c1", "attributes=x2"}
    assert (
        vocab.item_features[: model.config.n_items].tolist() == model.vocab.item_features.tolist()
    )
    with pytest.raises(ValueError, match="categories"):
        model.vocab.extend(
            Interactions(pd.DataFrame({"user": ["u1"], "item": ["b1"], "category": ["books"]}))
        )


def test_integer_ids_are_parsed_exactly():
    from xcat.data.idmap import IdMap

    int_map, str_map = IdMap([1]), IdMap(["a"])
    big = 2**62 + 1  # not representable in float64
    got, bad = int_map.parse(pd.Series([str(big), " 7", "7.5", None, "x", "-3"]))
    assert got[0] == big and got[1] == 7 and got[5] == -3
    assert bad.tolist() == [False, False, True, True, True, False]
    got, bad = int_map.parse(pd.Series([1.0, np.nan, 2.5]))
    assert got[0] == 1 and bad.tolist() == [False, True, True]
    text, bad = str_map.parse(pd.Series([" a", "", None, 12]))
    assert text.tolist()[0] == " a" and text.tolist()[3] == "12"  # kept as given
    assert bad.tolist() == [False, True, True, False]


def test_row_level_timestamps_padded_ids_and_missing_markers(trained):
    model, _ = trained
    events = pd.DataFrame(
        {
            "user": ["u1", "u2", " u3", "u4", "u5", "u6"],
            "item": ["t1", "t2", "t3", "t4 ", "t5", "t6"],
            "category": "tgt",
            # epoch seconds next to ISO dates; epoch milliseconds; a blank
            "timestamp": [
                "1767225600",
                "2026-01-02T00:00:00Z",
                "2026-01-03",
                "2026-01-03",
                "1767225600000",
                None,
            ],
        }
    )
    good, bad = check_events(events, model.vocab, trained_until=model.trained_until)
    assert good.data["user"].tolist() == ["u1", "u2"]
    assert str(good.data["timestamp"][0]) == "2026-01-01 00:00:00"
    assert bad["padded_id"]["count"] == 2 and bad["malformed"]["count"] == 2
    assert {e["row"] for e in bad["malformed"]["examples"]} == {4, 5}
    # epochs beyond pandas' range, infinite ratings and padded categories: reported, not fatal
    odd = pd.DataFrame(
        {
            "user": ["u1", "u2", "u3", "u4"],
            "item": ["t1", "t2", "t3", "t4"],
            "category": ["tgt", "tgt", "tgt", " tgt"],
            "timestamp": ["1e10", "-9300000000", "2026-01-01", "2026-01-01"],
            "rating": [1.0, 1.0, float("inf"), 1.0],
        }
    )
    good, bad = check_events(odd, model.vocab)
    assert good is None
    assert bad["malformed"]["count"] == 3 and bad["padded_id"]["count"] == 1


def test_scoped_item_keys_as_printed_are_accepted():
    """Per-category item ids (CDRIB, DisenCDR): "<category>:<id>" as xcat prints them, or raw."""
    from xcat.data.interactions import Interactions

    df = pd.DataFrame(
        {"user": ["a", "a", "b", "b"], "item": [1, 2, 1, 3], "category": ["x", "x", "y", "y"]}
    )
    inter = Interactions(df)
    vocab = Vocab.from_interactions(inter)
    assert vocab.scoped_items
    events = pd.DataFrame(
        {
            "user": ["a", "b", "a", "b"],
            "item": ["y:3", "2", "1", "x:2"],
            "category": [None, None, "y", "y"],
        }
    )
    good, bad = check_events(events, vocab)
    # "y:3" is item 3 of y; "2" is known only in x; "1" with category y; "x:2" under y clashes
    assert good.data[["item", "category"]].values.tolist() == [["3", "y"], ["2", "x"], ["1", "y"]]
    assert bad["category_mismatch"]["count"] == 1
    assert vocab.extend(good).n_items == vocab.n_items  # no bogus new items
    # a new item written as printed gets its category from the prefix, not a doubled key;
    # an id listed in both categories needs its category
    events = pd.DataFrame({"user": ["a", "b"], "item": ["y:99", "1"], "category": ["y", None]})
    good, bad = check_events(events, vocab)
    assert good.data[["item", "category"]].values.tolist() == [["99", "y"]]
    assert "y:99" in vocab.extend(good).items and bad["ambiguous_item"]["count"] == 1


def test_event_dates_with_and_without_offsets_are_parsed_each_on_their_own():
    """A naive date after one with an offset is UTC, not shifted by that offset."""
    from xcat.data.parse import parse_event_timestamps

    ts, bad = parse_event_timestamps(
        pd.Series(["2026-01-01T00:00:00+02:00", "2026-01-01T00:00:00"])
    )
    assert not bad.any()
    assert [str(t) for t in ts] == ["2025-12-31 22:00:00+00:00", "2026-01-01 00:00:00+00:00"]


def test_update_is_the_training_layers_function():
    import xcat.train
    from xcat.models import TwoTower

    assert xcat.train.update is update
    assert not hasattr(TwoTower, "update")  # the model layer does not import training
