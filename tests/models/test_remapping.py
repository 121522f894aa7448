"""remap: a model moved onto another vocabulary keeps each raw id's rows (hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="the model tests need the train extra (torch)")

from xcat.data.interactions import Interactions  # noqa: E402
from xcat.models import RowCounts, TwoTower, Vocab, remap  # noqa: E402
from xcat.models.remapping import category_means, row_map, same_ids  # noqa: E402


def table(rows: list[tuple[str, str]], category: str) -> Interactions:
    users, items = zip(*rows, strict=True)
    return Interactions(pd.DataFrame({"user": users, "item": items, "category": category}))


SRC = table([("a", "s1"), ("a", "s2"), ("b", "s1"), ("c", "s3")], "S")
TGT = table([("a", "t1"), ("b", "t2"), ("c", "t1")], "T")


def reversed_rows(t: Interactions) -> Interactions:
    return Interactions(t.data.iloc[::-1].reset_index(drop=True))


@pytest.fixture(scope="module")
def model() -> TwoTower:
    v = Vocab.from_interactions(SRC, TGT)
    # users a b c; items s1 s2 s3 t1 t2; features category=S category=T
    assert list(v.users.ids) == ["a", "b", "c"]
    assert list(v.items.ids) == ["s1", "s2", "s3", "t1", "t2"]
    torch.manual_seed(0)
    m = TwoTower(v.model_config(dim=4, embedding_dim=4, hidden_dims=(), max_history=3), v)
    m.set_history(v.histories(SRC, TGT, max_len=3))
    return m.eval()


def rows_of(model: TwoTower, name: str) -> torch.Tensor:
    return model.state_dict()[name]


def test_same_size_other_order_gives_every_id_its_own_row(model):
    old = model.vocab
    # the same users, items and feature tokens, first seen in another order
    new = Vocab.from_interactions(reversed_rows(TGT), reversed_rows(SRC))
    assert list(new.users.ids) == ["c", "b", "a"]
    assert list(new.items.ids) == ["t1", "t2", "s3", "s1", "s2"]
    assert list(new.features.ids) == ["category=T", "category=S"]
    assert (new.n_users, new.n_items) == (old.n_users, old.n_items) and not same_ids(old, new)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = remap(model, new)
    m2 = out.model
    assert m2.vocab is new and m2.config.n_users == 3
    assert out.counts == {
        "users": RowCounts(3, 0, 0),
        "items": RowCounts(5, 0, 0),
        "features": RowCounts(2, 0, 0),
    }
    # row of user "c" is row 2 of the old model and row 0 of the new one, and so on
    for u, (i_old, i_new) in {"a": (0, 2), "b": (1, 1), "c": (2, 0)}.items():
        assert torch.equal(
            rows_of(m2, "user_tower.user_id.weight")[i_new],
            rows_of(model, "user_tower.user_id.weight")[i_old],
        ), u
    perm_items = [3, 4, 2, 0, 1]  # new item row -> old item row
    for name in ("item_tower.item_id.weight", "user_tower.history.weight"):
        np.testing.assert_array_equal(rows_of(m2, name)[:5], rows_of(model, name)[perm_items])
    # the history table's padding row stays last (and zero)
    assert torch.count_nonzero(rows_of(m2, "user_tower.history.weight")[5]) == 0
    # features: category=T is row 1 before, row 0 now; the padding row stays last
    feats_old, feats_new = (rows_of(x, "item_tower.features.weight") for x in (model, m2))
    np.testing.assert_array_equal(feats_new, feats_old[[1, 0, 2]])
    # non-id parameters are copied; the stored histories follow users and items
    for k in ("user_tower.mlp.0.weight", "item_tower.mlp.0.bias"):
        assert torch.equal(rows_of(m2, k), rows_of(model, k))
    hist = [[new.items.ids[j] for j in row if j >= 0] for row in m2.stored_history()]
    assert hist == [["s3", "t1"], ["s1", "t2"], ["s1", "s2", "t1"]]  # c, b, a
    # so every user and item gets exactly its own vector
    users = np.array(["a", "b", "c"], dtype=object)
    np.testing.assert_array_equal(
        m2.user_embeddings(new.users.encode(users)), model.user_embeddings(old.users.encode(users))
    )
    items = old.items.ids.to_numpy()
    np.testing.assert_array_equal(
        m2.item_embeddings(new.items.encode(items)), model.item_embeddings(old.items.encode(items))
    )
    # the model given is untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_new_ids_start_at_the_mean_and_dropped_ids_leave(model):
    # user c and items s3, t2 are gone; user d and item t3 (category T) are new
    new = Vocab.from_interactions(
        table([("a", "s1"), ("a", "s2"), ("b", "s1")], "S"),
        table([("a", "t1"), ("d", "t3"), ("b", "t1")], "T"),
    )
    assert list(new.users.ids) == ["a", "b", "d"]
    assert list(new.items.ids) == ["s1", "s2", "t1", "t3"]
    out = remap(model, new)
    assert out.counts["users"] == RowCounts(copied=2, new=1, dropped=1)
    assert out.counts["items"] == RowCounts(copied=3, new=1, dropped=2)
    assert out.counts["features"].to_dict() == {"copied": 2, "new": 0, "dropped": 0}
    m2 = out.model
    u_old = rows_of(model, "user_tower.user_id.weight").double().numpy()
    u_new = rows_of(m2, "user_tower.user_id.weight").double().numpy()
    np.testing.assert_array_equal(u_new[:2], u_old[:2])  # a, b
    np.testing.assert_allclose(u_new[2], (u_old[0] + u_old[1] + u_old[2]) / 3, rtol=1e-6)  # d
    for name in ("item_tower.item_id.weight", "user_tower.history.weight"):
        i_old = rows_of(model, name).double().numpy()
        i_new = rows_of(m2, name).double().numpy()
        np.testing.assert_array_equal(i_new[:3], i_old[[0, 1, 3]])  # s1, s2, t1
        # t3: the mean of the old rows of its category T (t1 and t2), not of all items
        np.testing.assert_allclose(i_new[3], (i_old[3] + i_old[4]) / 2, rtol=1e-6)
    hist = [[new.items.ids[j] for j in row if j >= 0] for row in m2.stored_history()]
    assert hist == [["s1", "s2", "t1"], ["s1"], []]  # b's t2 was dropped; d has no history


def test_helpers_and_refusals(model):
    v = model.vocab
    assert same_ids(v, Vocab.from_dict(v.to_dict()))
    np.testing.assert_array_equal(row_map(v.users, Vocab.from_interactions(TGT).users), [0, 1, 2])
    np.testing.assert_array_equal(row_map(v.items, None), np.zeros(0, dtype=np.int64))
    w = torch.tensor([[1.0, 0.0], [3.0, 2.0], [10.0, 10.0]])
    np.testing.assert_allclose(
        category_means(w, np.array(["S", "S", "T"]), np.array(["S", "Q"])),
        [[2.0, 1.0], [14 / 3, 4.0]],  # Q has no old items: the mean of all rows
        rtol=1e-6,
    )
    plain = Vocab.from_interactions(SRC, TGT, category_feature=False)
    assert plain.features is None
    with pytest.raises(ValueError, match="only id tables can change size"):
        remap(model, plain)
    bare = model.clone()
    bare.vocab = None
    with pytest.raises(ValueError, match="has no vocabulary"):
        remap(bare, v)
