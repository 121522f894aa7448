"""Sampled (1 + N negatives) evaluation of DisenCDR / CDRIB: xcat.evaluate.sampled.

Expected values come from hand computation or from a slow reference written
here with Python loops, never from the module under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from xcat.evaluate import SampledMetrics, sample_negatives, sampled_metrics


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ----------------------------------------------------------------------------- hand-computed


def test_hand_computed_ranks_and_metrics():
    # score(u, i) = x_i for user 0 and y_i for user 1 (user vectors are the axes)
    users = np.array([[1.0, 0.0], [0.0, 1.0]])
    items = np.array(
        [[0.9, 0.1], [0.5, 0.2], [0.95, 0.3], [0.1, 0.9], [0.3, 0.8], [0.9, 0.6]],
        dtype=np.float32,
    )
    test_users = [0, 1, 0]
    test_items = [0, 4, 5]
    negatives = [
        [1, 2, 3],  # positive 0.9 vs .5 .95 .1: one above -> rank 2
        [0, 1, 5],  # positive 0.8 vs .1 .2 .6: none above -> rank 1
        [0, 2, 4],  # positive 0.9 vs .9 (tie, counts against) .95 .3 -> rank 3
    ]
    r = sampled_metrics(users, items, test_users, test_items, ks=(1, 2, 3), negatives=negatives)
    assert r.ranks.tolist() == [2, 1, 3]
    assert r.values["HR@1"] == pytest.approx(1 / 3)
    assert r.values["HR@2"] == pytest.approx(2 / 3)
    assert r.values["HR@3"] == pytest.approx(1.0)
    assert r.values["NDCG@1"] == pytest.approx(1 / 3)
    assert r.values["NDCG@2"] == pytest.approx((1 / math.log2(3) + 1) / 3)
    assert r.values["NDCG@3"] == pytest.approx((1 / math.log2(3) + 1 + 1 / 2) / 3)
    assert r.values["MRR"] == pytest.approx((1 / 2 + 1 + 1 / 3) / 3)
    assert list(r.values) == ["HR@1", "HR@2", "HR@3", "NDCG@1", "NDCG@2", "NDCG@3", "MRR"]
    assert (r.n_pairs, r.n_users, r.n_negatives, r.seed) == (3, 2, 3, None)
    assert r["MRR"] == r.values["MRR"]


def test_ties_count_against_the_positive():
    rng = np.random.default_rng(0)
    n_items, n_neg = 300, 50
    items = np.tile(rng.standard_normal(7), (n_items, 1))  # every item scores the same
    users = rng.standard_normal((4, 7))
    seen = sp.csr_matrix((4, n_items))
    r = sampled_metrics(
        users, items, [0, 1, 2, 3], [5, 6, 7, 8], seen=seen,
        candidates=np.arange(n_items), n_negatives=n_neg, ks=(1, 10),
    )  # fmt: skip
    assert r.ranks.tolist() == [n_neg + 1] * 4
    assert r.values == {"HR@1": 0.0, "HR@10": 0.0, "NDCG@1": 0.0, "NDCG@10": 0.0, "MRR": 1 / 51}


def test_duplicate_item_vectors_tie_exactly_at_any_dimension():
    # an exact copy of the positive's vector must tie, whatever the summation path
    rng = np.random.default_rng(1)
    for d in (1, 3, 8, 13, 64, 257):
        items = rng.standard_normal((40, d))
        items[20:] = items[0]  # items 20..39 copy item 0
        users = rng.standard_normal((1, d))
        neg = np.arange(1, 40)[None, :]
        r = sampled_metrics(users, items, [0], [0], negatives=neg)
        above = int((items[1:20] @ users[0] > items[0] @ users[0]).sum())
        assert r.ranks[0] == 1 + above + 20, d


# ----------------------------------------------------------------------------- slow reference


def reference_ranks(user_vectors, item_vectors, test_users, test_items, negatives):
    ranks = []
    for u, i, negs in zip(test_users, test_items, negatives, strict=True):
        uv = [float(x) for x in user_vectors[u]]

        def score(j, uv=uv):
            return math.fsum(a * float(b) for a, b in zip(uv, item_vectors[j], strict=True))

        pos = score(i)
        ranks.append(1 + sum(1 for j in negs if score(j) >= pos))
    return ranks


def reference_metrics(ranks, ks):
    out = {}
    for k in ks:
        out[f"HR@{k}"] = sum(1.0 for r in ranks if r <= k) / len(ranks)
    for k in ks:
        out[f"NDCG@{k}"] = sum(1 / math.log2(r + 1) for r in ranks if r <= k) / len(ranks)
    out["MRR"] = sum(1 / r for r in ranks) / len(ranks)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_slow_reference_on_random_data(dtype):
    rng = np.random.default_rng(7)
    n_users, n_items, d, p, m = 30, 200, 16, 120, 40
    user_vectors = rng.standard_normal((n_users, d)).astype(dtype)
    item_vectors = rng.standard_normal((n_items, d)).astype(dtype)
    test_users = rng.integers(0, n_users, p)
    test_items = rng.integers(0, n_items, p)
    negatives = np.array([rng.choice(np.delete(np.arange(n_items), i), m) for i in test_items])
    ks = (1, 3, 10, 25)
    got = sampled_metrics(
        user_vectors, item_vectors, test_users, test_items, ks=ks, negatives=negatives
    )
    ranks = reference_ranks(user_vectors, item_vectors, test_users, test_items, negatives)
    assert got.ranks.tolist() == ranks
    assert got.values == pytest.approx(reference_metrics(ranks, ks))
    assert got.n_pairs == p and got.n_users == len(set(test_users.tolist()))


def test_sampled_equals_metrics_on_its_own_negatives():
    rng = np.random.default_rng(3)
    n_users, n_items = 20, 500
    seen = sp.random(n_users, n_items, density=0.05, format="csr", random_state=3)
    uv, iv = rng.standard_normal((n_users, 8)), rng.standard_normal((n_items, 8))
    tu, ti = rng.integers(0, n_users, 60), rng.integers(0, n_items, 60)
    cand = np.arange(n_items)
    kw = {"n_negatives": 99, "seed": 11}
    neg = sample_negatives(tu, ti, seen, cand, **kw)
    a = sampled_metrics(uv, iv, tu, ti, seen=seen, candidates=cand, **kw)
    b = sampled_metrics(uv, iv, tu, ti, negatives=neg)
    assert a.values == b.values and a.ranks.tolist() == b.ranks.tolist()
    assert (a.seed, b.seed, a.n_negatives) == (11, None, 99)
    ranks = reference_ranks(uv, iv, tu, ti, neg)
    assert a.ranks.tolist() == ranks


def test_oracle_user_vectors_get_mrr_one():
    # nearly orthogonal unit item vectors; each user's vector is one positive's vector
    rng = np.random.default_rng(5)
    n_items, n_users = 1200, 40
    item_vectors = unit_rows(rng, n_items, 512)
    test_items = rng.choice(n_items, n_users, replace=False)
    user_vectors = item_vectors[test_items].astype(np.float32)
    seen = sp.random(n_users, n_items, density=0.05, format="csr", random_state=5)
    seen = seen.tolil()
    seen[np.arange(n_users), test_items] = 0  # the positive is held out, not seen
    r = sampled_metrics(
        user_vectors, item_vectors, np.arange(n_users), test_items,
        seen=seen.tocsr(), candidates=np.arange(n_items), n_negatives=999,
    )  # fmt: skip
    assert r.values["MRR"] == 1.0 and r.values["HR@1"] == 1.0 and r.values["NDCG@10"] == 1.0
    # and the anti-oracle ranks last: every negative scores above the positive
    r = sampled_metrics(
        -user_vectors.astype(np.float64), item_vectors, np.arange(n_users), test_items,
        negatives=np.tile(np.delete(np.arange(n_items), test_items)[:30], (n_users, 1)),
    )  # fmt: skip
    assert r.ranks.tolist() == [31] * n_users


# ----------------------------------------------------------------------------- sampling


@st.composite
def sampling_cases(draw):
    n_users = draw(st.integers(1, 6))
    n_items = draw(st.integers(2, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cand = np.flatnonzero(rng.random(n_items) < draw(st.floats(0.3, 1.0)))
    if cand.size < 2:
        cand = np.arange(n_items)
    seen = sp.csr_matrix(rng.random((n_users, n_items)) < draw(st.floats(0.0, 0.4)))
    p = draw(st.integers(1, 12))
    test_users = rng.integers(0, n_users, p)
    test_items = rng.choice(cand, p)
    excluded = {
        u: (set(seen[u].indices) | set(test_items[test_users == u])) & set(cand)
        for u in set(test_users.tolist())
    }
    most = min(cand.size - len(e) for e in excluded.values())
    if most < 1:
        # this user has nothing left to draw: check the error names the argument
        return seen, cand, test_users, test_items, 0, excluded
    n_neg = draw(st.integers(1, most))
    return seen, cand, test_users, test_items, n_neg, excluded


@given(sampling_cases(), st.integers(0, 2**31))
def test_sample_negatives_properties(case, seed):
    seen, cand, test_users, test_items, n_neg, excluded = case
    if n_neg == 0:
        with pytest.raises(ValueError, match="n_negatives: 1 negatives requested, but"):
            sample_negatives(test_users, test_items, seen, cand, n_negatives=1, seed=seed)
        return
    neg = sample_negatives(test_users, test_items, seen, cand, n_negatives=n_neg, seed=seed)
    assert neg.shape == (len(test_users), n_neg) and neg.dtype == np.int64
    for u, row in zip(test_users, neg, strict=True):
        assert len(set(row.tolist())) == n_neg  # no duplicates
        assert set(row.tolist()) <= set(cand.tolist())  # all candidates
        assert not set(row.tolist()) & excluded[u]  # none seen, none a test item of u
    again = sample_negatives(test_users, test_items, seen, cand, n_negatives=n_neg, seed=seed)
    np.testing.assert_array_equal(neg, again)
    # the order and duplicates of candidates do not matter
    shuffled = np.concatenate([cand[::-1], cand[:1]])
    third = sample_negatives(test_users, test_items, seen, shuffled, n_negatives=n_neg, seed=seed)
    np.testing.assert_array_equal(neg, third)


def test_different_seeds_give_different_negatives():
    seen = sp.csr_matrix((3, 5000))
    args = ([0, 1, 2, 2], [10, 20, 30, 40], seen, np.arange(5000))
    a, b = (sample_negatives(*args, n_negatives=100, seed=s) for s in (0, 1))
    assert not np.array_equal(a, b)
    assert not np.array_equal(a[2], a[3])  # pairs of one user get independent draws


@pytest.mark.parametrize("n_neg", [5, 30, 39])  # fast path (n <= half the free items) and not
def test_sampling_is_uniform_over_eligible_items(n_neg):
    # 10,000 pairs of one user: 10 excluded items (5 seen, 5 test), 40 eligible
    n_items, n_pairs = 50, 10_000
    seen = sp.csr_matrix((np.ones(5), ([0] * 5, [0, 7, 14, 21, 28])), shape=(1, n_items))
    test_items = np.resize([1, 2, 3, 4, 5], n_pairs)
    neg = sample_negatives(
        np.zeros(n_pairs, dtype=int), test_items, seen, np.arange(n_items), n_negatives=n_neg
    )
    counts = np.bincount(neg.ravel(), minlength=n_items)
    excluded = [0, 7, 14, 21, 28, 1, 2, 3, 4, 5]
    assert counts[excluded].sum() == 0
    eligible = np.delete(counts, excluded)
    # each item is in a row with chance p = n/40: its count is binomial(n_pairs, p), and
    # the sum of squared z-scores over the 40 items is about chi-square with 39 df
    p = n_neg / 40
    z = (eligible - n_pairs * p) / math.sqrt(n_pairs * p * (1 - p))
    assert np.abs(z).max() < 5
    assert (z**2).sum() < 39 + 5 * math.sqrt(2 * 39)


def test_stored_zeros_in_seen_are_not_interactions():
    seen = sp.csr_matrix((np.array([0.0, 1.0]), np.array([0, 1]), np.array([0, 2])), shape=(1, 4))
    neg = sample_negatives([0], [2], seen, np.arange(4), n_negatives=1, seed=0)
    assert neg.tolist() == [[0]] or neg.tolist() == [[3]]
    many = sample_negatives(np.zeros(200, int), np.full(200, 2), seen, np.arange(4), n_negatives=2)
    assert set(many.ravel().tolist()) == {0, 3}


def test_seen_items_outside_candidates_do_not_matter():
    # seen item 9 is not a candidate: the user still has all 3 other candidates
    seen = sp.csr_matrix(([1.0], ([0], [9])), shape=(1, 10))
    neg = sample_negatives([0], [0], seen, [0, 1, 2, 3], n_negatives=3)
    assert neg.tolist() == [[1, 2, 3]]


# ----------------------------------------------------------------------------- errors


def small_problem():
    rng = np.random.default_rng(0)
    return {
        "user_vectors": rng.standard_normal((3, 4)),
        "item_vectors": rng.standard_normal((20, 4)),
        "test_users": np.array([0, 1, 2]),
        "test_items": np.array([3, 4, 5]),
        "seen": sp.csr_matrix((3, 20)),
        "candidates": np.arange(20),
        "n_negatives": 10,
    }


def call(**changes):
    kw = {**small_problem(), **changes}
    return sampled_metrics(
        kw.pop("user_vectors"), kw.pop("item_vectors"), kw.pop("test_users"),
        kw.pop("test_items"), **kw,
    )  # fmt: skip


def test_small_problem_runs():
    assert isinstance(call(), SampledMetrics)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"user_vectors": np.zeros(4)}, "user_vectors: expected a 2-D float array"),
        ({"item_vectors": np.array([["a"] * 4] * 20)}, "item_vectors: expected a 2-D float"),
        ({"item_vectors": np.zeros((20, 5))}, "item_vectors: dimension 5 differs"),
        ({"test_users": np.array([0, 1, 3])}, r"test_users: 1 values out of range 0\.\.2"),
        ({"test_users": np.array([0.0, 1.0, 2.0])}, "test_users: expected a 1-D integer"),
        ({"test_users": np.array([[0, 1, 2]])}, "test_users: expected a 1-D integer"),
        ({"test_items": np.array([3, -1, 20])}, r"test_items: 2 values out of range 0\.\.19"),
        ({"test_items": np.array([3, 4])}, "test_items: has 2 entries but test_users has 3"),
        ({"test_users": np.array([], int), "test_items": np.array([], int)}, "test_users: no"),
        ({"candidates": np.arange(4, 20)}, r"test_items: 1 test pairs .* \[3\]"),
        ({"candidates": np.array([0, 20])}, "candidates: 1 values out of range"),
        ({"candidates": np.array([], int)}, "candidates: no candidate items"),
        ({"seen": np.zeros((3, 20))}, "seen: expected a scipy.sparse matrix"),
        ({"seen": sp.csr_matrix((3, 21))}, r"seen: has shape \(3, 21\), expected \(3, 20\)"),
        ({"seen": None}, "seen: required"),
        ({"candidates": None}, "candidates: required"),
        ({"ks": (0, 5)}, "ks: expected one or more cut-offs >= 1"),
        ({"ks": ()}, "ks: expected one or more cut-offs >= 1"),
        ({"n_negatives": 0}, "n_negatives: expected an integer >= 1, got 0"),
        ({"n_negatives": 2.5}, "n_negatives: expected an integer >= 1"),
        ({"seed": -1}, "seed: expected an integer >= 0"),
        ({"n_negatives": 20}, "n_negatives: 20 negatives requested, but 3 test users have"),
        ({"user_vectors": np.full((3, 4), np.nan)}, "user_vectors: 3 rows used here have NaN"),
        ({"negatives": np.zeros((2, 5), int)}, r"negatives: expected shape \(3, m\)"),
        ({"negatives": np.zeros((3, 0), int)}, r"negatives: expected shape \(3, m\)"),
        ({"negatives": np.full((3, 2), 20)}, "negatives: 6 values out of range"),
        ({"negatives": np.full((3, 2), 4)}, r"negatives: 1 rows contain their own .* \[1\]"),
    ],
)
def test_errors_name_the_argument(changes, message):
    with pytest.raises(ValueError, match=message):
        call(**changes)


def test_users_short_of_negatives_are_counted():
    # user 0 has seen 15 of 20 items and user 1 has seen 12: with its test item, 4 and 7 left
    seen = sp.lil_matrix((3, 20))
    seen[0, 5:20] = 1
    seen[1, 8:20] = 1
    with pytest.raises(ValueError, match="but 2 test users have fewer .* fewest: 4"):
        call(seen=seen.tocsr(), n_negatives=8, test_items=np.array([0, 0, 1]))
    assert call(seen=seen.tocsr(), n_negatives=4, test_items=np.array([0, 0, 1])).n_negatives == 4


def test_sample_negatives_errors():
    seen = sp.csr_matrix((2, 10))
    with pytest.raises(ValueError, match="seen: expected a scipy.sparse matrix"):
        sample_negatives([0], [1], np.zeros((2, 10)), np.arange(10))
    with pytest.raises(ValueError, match=r"test_users: 1 values out of range 0\.\.1"):
        sample_negatives([2], [1], seen, np.arange(10))
    with pytest.raises(ValueError, match=r"test_items: 1 values out of range 0\.\.9"):
        sample_negatives([0], [10], seen, np.arange(10))
    with pytest.raises(ValueError, match="test_items: 1 test pairs have an item"):
        sample_negatives([0], [1], seen, np.arange(2, 10))
    with pytest.raises(ValueError, match="n_negatives: expected an integer >= 1"):
        sample_negatives([0], [1], seen, np.arange(10), n_negatives=0)
    with pytest.raises(ValueError, match="n_negatives: 10 negatives requested, but 1 test"):
        sample_negatives([0], [1], seen, np.arange(10), n_negatives=10)


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def cdrib_target(data_dir):  # conftest's fixture skips when ../shared/data is absent
    root = data_dir
    if not (root / "cdrib_amazon_coldstart").is_dir():
        pytest.skip(f"CDRIB data not found under {root} (set XCAT_DATA_DIR to its location)")
    from xcat.data import datasets

    df = datasets.load_cdrib_amazon_coldstart("video", "game", root=root).target.data
    users, user_ids = pd.factorize(df["user"])
    items, item_ids = pd.factorize(df["item"])
    train = (df["split"] == "train").to_numpy()
    test = (df["split"] == "test").to_numpy()
    seen = sp.csr_matrix(
        (np.ones(train.sum()), (users[train], items[train])), shape=(len(user_ids), len(item_ids))
    )
    return {
        "seen": seen,
        "candidates": np.unique(items[train]),
        "test_users": users[test].astype(np.int64),
        "test_items": items[test].astype(np.int64),
    }


def test_cdrib_negatives_are_valid_and_uniform(cdrib_target):
    t = cdrib_target
    assert (len(t["test_users"]), len(t["candidates"])) == (1304, 12319)  # shared/data README
    neg = sample_negatives(t["test_users"], t["test_items"], t["seen"], t["candidates"], seed=0)
    assert neg.shape == (1304, 999)
    assert (np.diff(neg, axis=1) > 0).all()  # ascending, so distinct
    assert np.isin(neg, t["candidates"]).all()
    for u in np.unique(t["test_users"]):
        own = np.union1d(t["seen"][u].indices, t["test_items"][t["test_users"] == u])
        assert not np.isin(neg[t["test_users"] == u], own).any()
    # 1.3M draws over 12,319 items: each item is in a row with chance p = 999/12,319, so
    # its count is about binomial(1304, p) (a few rows exclude it as their user's test item)
    counts = np.bincount(neg.ravel(), minlength=t["seen"].shape[1])[t["candidates"]]
    p = 999 / len(t["candidates"])
    mean, var = 1304 * p, 1304 * p * (1 - p)
    assert abs(counts.mean() - mean) < 1e-9
    assert np.abs(counts - mean).max() < 6 * math.sqrt(var)
    assert counts.var() == pytest.approx(var, rel=0.1)  # a biased sampler spreads them


def test_cdrib_random_vectors_hit_at_chance(cdrib_target):
    t = cdrib_target
    rng = np.random.default_rng(0)
    n_users, n_items = t["seen"].shape
    user_vectors = unit_rows(rng, n_users, 32).astype(np.float32)
    item_vectors = unit_rows(rng, n_items, 32).astype(np.float32)
    r = sampled_metrics(
        user_vectors, item_vectors, t["test_users"], t["test_items"],
        seen=t["seen"], candidates=t["candidates"], ks=(1, 5, 10),
    )  # fmt: skip
    assert (r.n_pairs, r.n_users, r.n_negatives) == (1304, 212, 999)
    # random scores: the rank is uniform on 1..1000, so HR@10 = 0.01 and MRR = H_1000 / 1000
    sd = math.sqrt(0.01 * 0.99 / r.n_pairs)
    assert abs(r.values["HR@10"] - 0.01) < 5 * sd
    assert abs(r.values["MRR"] - sum(1 / k for k in range(1, 1001)) / 1000) < 0.006
    assert abs(r.ranks.mean() - 500.5) < 5 * 288.7 / math.sqrt(r.n_pairs)


def test_cdrib_oracle_on_one_pair_per_user(cdrib_target):
    t = cdrib_target
    rng = np.random.default_rng(1)
    n_users, n_items = t["seen"].shape
    item_vectors = unit_rows(rng, n_items, 256)
    _, first = np.unique(t["test_users"], return_index=True)
    users, items = t["test_users"][first], t["test_items"][first]
    user_vectors = np.zeros((n_users, 256))
    user_vectors[users] = item_vectors[items]
    r = sampled_metrics(
        user_vectors, item_vectors, users, items, seen=t["seen"], candidates=t["candidates"]
    )
    assert r.values["MRR"] == 1.0 and r.n_pairs == r.n_users == 212
