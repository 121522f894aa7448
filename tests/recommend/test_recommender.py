"""Recommender: category filter, seen-item exclusion, fallback and explanations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from xcat.data.idmap import IdMap, UnknownIdWarning
from xcat.evaluate import item_popularity, popularity_topn
from xcat.recommend import Recommender

# Items 0-2 are "beauty" (source), 3-5 "toys" (target); 2-D embeddings.
ITEMS = np.array([[1, 0], [0, 1], [1, 1], [1, 0.1], [0.1, 1], [-1, -1]], dtype=np.float32)
CATS = ["beauty"] * 3 + ["toys"] * 3


@pytest.fixture()
def rec():
    users = np.array([[1, 0.05], [0, 1], [1, 1]], dtype=np.float32)
    # alice bought item 0 (beauty) and 3 (toys); bob bought item 1; carol nothing.
    history = sp.csr_matrix(([1, 1, 1], ([0, 0, 1], [0, 3, 1])), shape=(3, 6))
    return Recommender(
        users,
        ITEMS,
        user_ids=IdMap(["alice", "bob", "carol"], name="user"),
        item_ids=IdMap([f"i{k}" for k in range(6)], name="item"),
        item_categories=CATS,
        history=history,
    )


def test_category_and_seen_items(rec):
    out = rec.recommend(["alice", "bob"], n=2, category="toys")
    alice = out[out.user == "alice"]
    # alice's vector is near (1, 0): toys by cosine are i3 (seen, excluded), i4, i5
    assert alice["item"].tolist() == ["i4", "i5"]
    assert alice["rank"].tolist() == [1, 2]
    assert (out["source"] == "model").all()
    bob = out[out.user == "bob"]
    assert bob["item"].tolist() == ["i4", "i3"]
    assert rec.recommend("alice", n=2, category="toys")["item"].tolist() == ["i4", "i5"]
    with_seen = rec.recommend(["alice"], n=1, category="toys", exclude_seen=False)
    assert with_seen["item"].tolist() == ["i3"]


def test_unknown_users_get_popular_items_or_an_error(rec):
    with pytest.warns(UnknownIdWarning, match="1 of 2 user ids are not in the map"):
        out = rec.recommend(["zoe", "alice"], n=2, category="toys")
    assert out["user"].tolist()[:2] == ["zoe", "zoe"]  # caller's order kept
    zoe = out[out.user == "zoe"]
    assert zoe["item"].tolist() == ["i3", "i4"]  # i3 bought once, then lower index
    assert (zoe["source"] == "popular").all()
    with pytest.raises(ValueError, match="1 of 1 user ids are not in the map"):
        rec.recommend(["zoe"], unknown="raise")
    with pytest.raises(ValueError, match="category:"):
        rec.recommend(["alice"], category="garden")


def test_explanations_point_to_nearest_source_items(rec):
    out = rec.recommend(["alice", "carol"], n=2, category="toys", explain=True, explain_k=1)
    alice = out[out.user == "alice"]
    # alice's only beauty item is i0; it explains everything she gets
    assert alice["because"].tolist() == [["i0"], ["i0"]]
    cos = float(ITEMS[4] @ ITEMS[0] / np.linalg.norm(ITEMS[4]) / np.linalg.norm(ITEMS[0]))
    assert alice["because_score"].iloc[0] == [pytest.approx(cos, rel=1e-6)]
    assert out[out.user == "carol"]["because"].tolist() == [[], []]


def test_the_fallback_uses_the_evaluation_popularity_distinct_users():
    # issue 11: one popularity definition. carol bought i5 three times (stored three
    # times), alice and bob bought i4 once each: i4 has 2 users, i5 one (3 events).
    history = sp.csr_matrix(
        (np.ones(5), np.array([4, 4, 5, 5, 5]), np.array([0, 1, 2, 5])), shape=(3, 6)
    )
    assert not history.has_canonical_format
    rec = Recommender(
        np.ones((3, 2), np.float32),
        ITEMS,
        user_ids=IdMap(["alice", "bob", "carol"], name="user"),
        item_ids=IdMap([f"i{k}" for k in range(6)], name="item"),
        item_categories=CATS,
        history=history,
    )
    with pytest.warns(UnknownIdWarning):
        out = rec.recommend(["zoe"], n=3, category="toys")
    assert out["item"].tolist() == ["i4", "i5", "i3"]
    assert out["score"].tolist() == [2.0, 1.0, 0.0]
    # the same list as the evaluation baseline on the same training interactions
    coo = history.tocoo()
    pop = popularity_topn(item_popularity(coo.row, coo.col, 6), 1, 3, candidates=[3, 4, 5])
    assert [f"i{k}" for k in pop.indices[0]] == out["item"].tolist()
    assert pop.scores[0].tolist() == out["score"].tolist()


def test_similar_items_cross_category_by_hand(rec):
    # i0 = (1, 0) is beauty; toys by cosine: i3 (1, 0.1) ~0.995, i4 (0.1, 1) ~0.0995, i5 -0.707
    out = rec.similar_items("i0", n=3, category="toys")
    assert out["similar"].tolist() == ["i3", "i4", "i5"]
    np.testing.assert_allclose(out["score"], [1 / np.sqrt(1.01), 0.1 / np.sqrt(1.01), -(0.5**0.5)])
    assert out["rank"].tolist() == [1, 2, 3] and set(out["category"]) == {"toys"}
    # every category: the item itself is left out unless asked for
    assert rec.similar_items(["i0"], n=1)["similar"].tolist() == ["i3"]
    assert rec.similar_items(["i0"], n=1, exclude_self=False)["similar"].tolist() == ["i0"]
    # several queries, in the order given, padding when fewer are eligible
    two = rec.similar_items(["i4", "i1"], n=5, category="toys")
    assert two["item"].tolist() == ["i4", "i4", "i1", "i1", "i1"]
    assert two["similar"].tolist()[:2] == ["i3", "i5"]  # i4 itself left out


def test_similar_items_errors_name_the_argument(rec):
    with pytest.raises(ValueError, match=r"items: not known to the recommender: \['nope'\]"):
        rec.similar_items(["i0", "nope"])
    with pytest.raises(ValueError, match="items: expected at least one"):
        rec.similar_items([])
    with pytest.raises(ValueError, match="category"):
        rec.similar_items("i0", category="garden")
