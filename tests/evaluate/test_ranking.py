"""Ranking sets, embedding metrics, held-out metrics and the test evaluator (xcat.evaluate.ranking).

Embedding and held-out metrics are checked against brute-force float64
references (every eligible item scored, ranked by plain sorting).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from xcat import topn
from xcat.evaluate import evaluate_groups, popularity_topn
from xcat.evaluate.ranking import (
    TestEvaluator,
    ValidationSet,
    embedding_metrics,
    heldout_metrics,
    lookup_rows,
    model_metrics,
    rank_embeddings,
)


class VectorModel:
    """A duck-typed model: fixed NumPy vectors, as :class:`EmbeddingModel` documents."""

    def __init__(self, users: np.ndarray, items: np.ndarray, vocab=None):
        self.users, self.items, self.vocab = users, items, vocab

    def user_embeddings(self, users=None):
        return self.users if users is None else self.users[np.asarray(users)]

    def item_embeddings(self, items=None):
        return self.items if items is None else self.items[np.asarray(items)]


def unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(users, items, truth, k, exclude=None, candidates=None):
    """Mean NDCG@k / HR@k by scoring every eligible item in float64 (binary relevance)."""
    u64, i64 = users.astype(np.float64), items.astype(np.float64)
    u64 = u64 / np.linalg.norm(u64, axis=1, keepdims=True)
    i64 = i64 / np.linalg.norm(i64, axis=1, keepdims=True)
    pool = np.arange(len(items)) if candidates is None else np.asarray(candidates)
    truth = sp.csr_matrix(truth)
    ndcg, hr = [], []
    for u in range(len(users)):
        relevant = set(truth.indices[truth.indptr[u] : truth.indptr[u + 1]].tolist())
        if not relevant:
            continue
        banned = set() if exclude is None else set(exclude[u].indices.tolist())
        eligible = [j for j in pool.tolist() if j not in banned]
        scores = i64[eligible] @ u64[u]
        top = [eligible[j] for j in np.argsort(-scores, kind="stable")[:k]]
        dcg = sum(1 / math.log2(r + 2) for r, j in enumerate(top) if j in relevant)
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
        ndcg.append(dcg / idcg)
        hr.append(float(any(j in relevant for j in top)))
    return float(np.mean(ndcg)), float(np.mean(hr)), len(ndcg)


# --------------------------------------------------------------------------- ValidationSet


def test_validation_set_build_restricts_and_deduplicates():
    held = SimpleNamespace(users=np.array([4, 2, 4, 4]), items=np.array([1, 3, 0, 1]))
    seen = SimpleNamespace(users=np.array([2, 2, 7, 4]), items=np.array([0, 2, 1, 2]))
    vs = ValidationSet.build(held, seen, n_items=5, candidates=[0, 1, 2, 3])
    assert vs.users.tolist() == [2, 4]
    assert vs.candidates.dtype == np.int64 and vs.candidates.tolist() == [0, 1, 2, 3]
    # a duplicate held-out pair is stored once (binary), the other users' rows are dropped
    assert vs.truth.toarray().tolist() == [[0, 0, 0, 1, 0], [1, 1, 0, 0, 0]]
    assert vs.exclude.toarray().tolist() == [[1, 0, 1, 0, 0], [0, 0, 1, 0, 0]]
    assert vs.truth.dtype == np.float32 and vs.truth.has_canonical_format
    # given users: in that order, a user without held-out items keeps an empty row
    only = ValidationSet.build(held, seen, n_items=5, candidates=[0], users=np.array([7, 4]))
    assert only.users.tolist() == [7, 4]
    assert only.truth.toarray().tolist() == [[0] * 5, [1, 1, 0, 0, 0]]
    assert only.exclude.toarray().tolist() == [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0]]
    assert vs.n_repeat_pairs == 0 and vs.exclude.dtype == np.float32


def test_a_held_out_item_the_user_already_has_stays_rankable():
    # issue 11: u0 re-bought item 3 (in training and test); u1's test item 4 is also
    # its validation item. Known items are excluded, the user's own test items never.
    held = SimpleNamespace(users=np.array([0, 1]), items=np.array([3, 4]))
    train = SimpleNamespace(users=np.array([0, 0, 1]), items=np.array([3, 1, 0]))
    valid = SimpleNamespace(users=np.array([0, 1]), items=np.array([2, 4]))
    vs = ValidationSet.build(held, [train, valid], n_items=5, candidates=np.arange(5))
    assert vs.exclude.toarray().tolist() == [[0, 1, 1, 0, 0], [1, 0, 0, 0, 0]]
    assert vs.n_repeat_pairs == 2
    # one part (validation time: training only): the same rule
    only_train = ValidationSet.build(held, train, n_items=5, candidates=np.arange(5))
    assert only_train.exclude.toarray().tolist() == [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]
    assert only_train.n_repeat_pairs == 1
    # each user's best item is its test item: a hit for both, not a guaranteed miss for u0
    users = np.array([[1, 0], [0, 1]], dtype=np.float32)
    items = np.array([[0.5, 0.5], [1, 0.1], [1, 0.2], [1, 0], [0, 1]], dtype=np.float32)
    for s in (vs, only_train):
        r = embedding_metrics(users, items, s.truth, k=1, exclude=s.exclude)
        assert (r.hr, r.ndcg, r.n_users) == (1.0, 1.0, 2)


def test_validation_set_subset_by_mask_and_by_user_rows():
    held = SimpleNamespace(users=np.array([0, 1, 2, 2]), items=np.array([3, 4, 1, 2]))
    train = SimpleNamespace(users=np.array([0, 0, 1, 2]), items=np.array([3, 1, 0, 1]))
    vs = ValidationSet.build(held, train, n_items=5, candidates=np.arange(5))
    assert vs.users.tolist() == [0, 1, 2] and vs.n_repeat_pairs == 2  # u0 item 3, u2 item 1
    assert vs.repeats.tolist() == [1, 0, 1]
    by_mask = vs.subset(np.array([True, False, True]))
    assert by_mask.users.tolist() == [0, 2]
    assert by_mask.truth.toarray().tolist() == [
        vs.truth[0].toarray()[0].tolist(),
        vs.truth[2].toarray()[0].tolist(),
    ]
    assert by_mask.exclude.toarray().tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 0, 0]]
    assert by_mask.n_repeat_pairs == 2 and by_mask.candidates is vs.candidates
    by_rows = vs.subset([2, 1])  # vocabulary rows, in the order given
    assert by_rows.users.tolist() == [2, 1] and by_rows.n_repeat_pairs == 1
    assert by_rows.truth.toarray().tolist() == [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1]]
    assert vs.subset(np.array([], dtype=np.int64)).users.size == 0
    # the subset ranks like the whole set restricted to those users
    users = unit(np.random.default_rng(0), 3, 4)
    items = unit(np.random.default_rng(1), 5, 4)
    sub = embedding_metrics(users[[2, 1]], items, by_rows.truth, k=2, exclude=by_rows.exclude)
    rows = ValidationSet.build(held, train, n_items=5, candidates=np.arange(5), users=[2, 1])
    want = embedding_metrics(users[[2, 1]], items, rows.truth, k=2, exclude=rows.exclude)
    assert sub == want
    with pytest.raises(ValueError, match=r"users: rows \[7\] are not users"):
        vs.subset([0, 7])
    with pytest.raises(ValueError, match="users: boolean mask"):
        vs.subset(np.array([True, False]))
    with pytest.raises(ValueError, match="users: expected a boolean mask"):
        vs.subset(np.array([0.5]))
    # a set built by hand without per-user counts cannot split a non-zero count
    bare = ValidationSet(vs.users, vs.truth, vs.exclude, vs.candidates, 2)
    with pytest.raises(ValueError, match="repeats"):
        bare.subset([0])
    assert ValidationSet(vs.users, vs.truth, vs.exclude, vs.candidates).subset([0]).users == [0]


# --------------------------------------------------------------------------- embedding metrics


def test_rank_embeddings_is_the_cosine_topn():
    rng = np.random.default_rng(0)
    users, items = rng.standard_normal((6, 5)), rng.standard_normal((30, 5))
    exclude = sp.random(6, 30, density=0.2, format="csr", random_state=1)
    got = rank_embeddings(users, items, 4, exclude=exclude, candidates=np.arange(3, 25))
    want = topn(users, items, 4, exclude=exclude, candidates=np.arange(3, 25)).indices
    np.testing.assert_array_equal(got, want)


def test_embedding_metrics_by_hand():
    items = np.eye(4, dtype=np.float32)
    users = np.array([[4, 3, 2, 1], [1, 2, 3, 4], [1, 1, 1, 1]], dtype=np.float32)
    truth = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    exclude = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    r = embedding_metrics(users, items, truth, k=2, exclude=exclude)
    # user 0: item 0 excluded, item 1 ranked first -> 1; user 1: item 0 ranked 4th -> 0
    assert r.n_users == 2
    assert r.ndcg == pytest.approx(0.5) and r.hr == pytest.approx(0.5)
    r3 = embedding_metrics(users, items, truth, k=3, candidates=[1, 2, 3])
    # user 0 ranks 1 first (1.0); user 1: item 0 not a candidate -> 0
    assert r3.ndcg == pytest.approx(0.5)
    with pytest.raises(ValueError, match="k"):
        embedding_metrics(users, items, truth, k=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_embedding_metrics_against_a_float64_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_users, n_items, k = 40, 60, 5
    users, items = unit(rng, n_users, 8), unit(rng, n_items, 8)
    truth = sp.random(n_users, n_items, density=0.05, format="csr", random_state=seed)
    truth.data[:] = 3.0  # grades are ignored: binary relevance
    exclude = sp.random(n_users, n_items, density=0.1, format="csr", random_state=seed + 10)
    exclude = (exclude - exclude.multiply(truth > 0)).tocsr()
    exclude.eliminate_zeros()
    candidates = np.sort(rng.choice(n_items, 45, replace=False))
    got = embedding_metrics(
        users, items, truth, k=k, exclude=exclude, candidates=candidates, num_threads=1
    )
    ndcg, hr, n = brute_force(users, items, truth, k, exclude, candidates)
    assert got.k == k and got.n_users == n == int((np.diff(truth.indptr) > 0).sum())
    assert got.ndcg == pytest.approx(ndcg, abs=1e-12)
    assert got.hr == pytest.approx(hr, abs=1e-12)


def test_embedding_metrics_without_held_out_items_and_bad_shapes():
    users, items = np.ones((2, 3), np.float32), np.eye(3, dtype=np.float32)
    empty = embedding_metrics(users, items, sp.csr_matrix((2, 3)), k=2)
    assert empty.n_users == 0 and math.isnan(empty.ndcg) and math.isnan(empty.hr)
    with pytest.raises(ValueError, match="truth"):
        embedding_metrics(users, items, sp.csr_matrix((3, 3)), k=2)
    with pytest.raises(ValueError, match="k"):
        embedding_metrics(users, items, sp.csr_matrix((2, 3)), k=True)


def test_model_metrics_scores_the_models_vectors_on_the_ranking_set():
    rng = np.random.default_rng(3)
    model = VectorModel(unit(rng, 20, 6), unit(rng, 30, 6))
    held = SimpleNamespace(users=rng.integers(0, 20, 25), items=rng.integers(0, 30, 25))
    seen = SimpleNamespace(users=rng.integers(0, 20, 60), items=rng.integers(0, 30, 60))
    vs = ValidationSet.build(held, seen, n_items=30, candidates=np.arange(5, 30))
    got = model_metrics(model, vs, k=4)
    want = embedding_metrics(
        model.users[vs.users],
        model.items,
        vs.truth,
        k=4,
        exclude=vs.exclude,
        candidates=vs.candidates,
    )
    assert got == want


# --------------------------------------------------------------------------- held-out metrics


@pytest.fixture(scope="module")
def trained():
    """A ``freeze`` model on the planted-cluster data, with timestamps on the target."""
    pytest.importorskip("torch", reason="training the model needs the train extra")
    from models_synthetic import train_freeze_with_timestamps

    return train_freeze_with_timestamps()


def _held_out(model):
    rng = np.random.default_rng(1)
    users = [f"u{i}" for i in rng.choice(200, 40, replace=False)]
    tgt = model.vocab.items.ids[model.vocab.domain_items(["tgt"])].tolist()
    held = pd.DataFrame(
        {"user": users, "item": [tgt[i] for i in rng.integers(0, len(tgt), 40)], "category": "tgt"}
    )
    held.loc[3, "item"] = "t-unknown"  # an item the model cannot recommend: a miss
    held.loc[5, "user"] = "nobody"  # a user the model does not know: not evaluated
    exclude = pd.DataFrame({"user": users[:10], "item": tgt[:10], "category": "tgt"})
    return held, exclude


def test_heldout_metrics_against_a_brute_force_reference(trained):
    model, _ = trained
    held, exclude = _held_out(model)
    got = heldout_metrics(model, held, k=10, exclude=exclude)

    U, V = model.user_embeddings().astype(np.float64), model.item_embeddings().astype(np.float64)
    cands = set(model.vocab.domain_items(["tgt"]).tolist())
    pad = model.config.n_items
    ndcg, hits, n = 0.0, 0, 0
    for _, r in held.iterrows():
        if r["user"] not in model.vocab.users:
            continue
        n += 1
        if r["item"] not in model.vocab.items:
            continue
        u = int(model.vocab.users.encode([r["user"]])[0])
        i = int(model.vocab.items.encode([r["item"]])[0])
        banned = {int(x) for x in model.user_history[u].tolist() if x != pad}
        banned |= {
            int(model.vocab.items.encode([e.item])[0])
            for e in exclude.itertuples()
            if e.user == r["user"]
        }
        banned.discard(i)
        # the held-out item itself is left out of the count: its own score from the
        # matrix-vector product may differ from the dot below in the last bit (BLAS order)
        pool = [j for j in cands if j not in banned and j != i]
        s = V[pool] @ U[u]
        rank = int((s > float(V[i] @ U[u])).sum())  # 0-based; no exact ties in float64 here
        if rank < 10:
            hits += 1
            ndcg += 1 / np.log2(rank + 2)
    assert got["users"] == n == 39
    assert got["HR@10"] == pytest.approx(hits / n)
    assert got["NDCG@10"] == pytest.approx(ndcg / n, abs=1e-9)


def test_heldout_metrics_takes_a_duck_typed_model(trained):
    model, _ = trained
    held, exclude = _held_out(model)
    plain = VectorModel(model.user_embeddings(), model.item_embeddings(), model.vocab)
    history = model.stored_history()
    plain.stored_history = lambda: history
    assert heldout_metrics(plain, held, k=10, exclude=exclude) == heldout_metrics(
        model, held, k=10, exclude=exclude
    )
    assert heldout_metrics(plain, held.iloc[:0], k=10) is None
    assert heldout_metrics(plain, held.assign(user="nobody"), k=10) is None
    none_known = heldout_metrics(plain, held.assign(item="t-unknown"), k=10)
    assert none_known == {"NDCG@10": 0.0, "HR@10": 0.0, "users": 39}


def test_lookup_rows_finds_large_integer_ids_exactly():
    from xcat.data.idmap import IdMap

    big = 2**62 + 1  # not representable in float64
    # held-out metrics look ids up with IdMap.parse: a large integer id is found exactly
    assert lookup_rows(IdMap([big, 5]), pd.Series([str(big), "5", "x"])).tolist() == [0, 1, -1]
    assert lookup_rows(IdMap(["a", "b"]), pd.Series(["b", None, "c"])).tolist() == [1, -1, -1]


# --------------------------------------------------------------------------- TestEvaluator


def _protocol(rng, n_users=30, n_items=40):
    """A duck-typed transfer protocol: items 10.. are the target catalogue."""
    candidates = np.arange(10, n_items)
    train = SimpleNamespace(users=rng.integers(0, n_users, 150), items=rng.choice(candidates, 150))
    test = SimpleNamespace(users=rng.integers(0, n_users, 40), items=rng.choice(candidates, 40))
    test_all = ValidationSet.build(test, train, n_items=n_items, candidates=candidates)
    cold = test_all.users[::3]
    test_cold = ValidationSet.build(test, train, n_items=n_items, candidates=candidates, users=cold)
    vocab = SimpleNamespace(
        n_users=n_users,
        n_items=n_items,
        encode=lambda frame: train,
        extends=lambda other: False,
    )
    data = SimpleNamespace(vocab=vocab, target_train="the training table")
    return SimpleNamespace(test_all=test_all, test_cold=test_cold, data=data)


def test_test_evaluator_scores_models_and_popularity_by_group():
    rng = np.random.default_rng(5)
    protocol = _protocol(rng)
    ev = TestEvaluator(protocol, ks=(5, 2, 5))
    assert ev.ks == (2, 5) and set(ev.groups) == {"all", "cold-start", "warm"}
    assert ev.headline_group == "cold-start"
    test = protocol.test_all
    relevant = sp.csr_matrix(test.truth, dtype=np.float64)
    relevant.data[:] = 1.0
    groups = {
        "all": np.ones(len(test.users), bool),
        "cold-start": np.isin(test.users, protocol.test_cold.users),
    }
    groups["warm"] = ~groups["cold-start"]

    model = VectorModel(unit(rng, 30, 6), unit(rng, 40, 6))
    top = topn(
        model.users[test.users], model.items, 5, exclude=test.exclude, candidates=test.candidates
    )
    want = evaluate_groups(top.indices, relevant, groups, (2, 5), n_catalogue=30)
    got = ev.model(model)
    assert got.keys() == want.keys()
    assert all(got[g].values == want[g].values for g in want)

    # popularity = distinct users per item (a re-bought item counts its user once)
    train = protocol.data.vocab.encode(None)
    pairs = set(zip(train.users.tolist(), train.items.tolist(), strict=True))
    counts = np.array([sum(1 for _, i in pairs if i == j) for j in range(40)])
    assert len(pairs) < len(train.items)  # the data has re-bought items
    assert not np.array_equal(counts, np.bincount(train.items, minlength=40))
    np.testing.assert_array_equal(ev.train_counts, counts)
    pop = popularity_topn(
        counts, len(test.users), 5, exclude=test.exclude, candidates=test.candidates
    )
    want_pop = evaluate_groups(pop.indices, relevant, groups, (2, 5), n_catalogue=30)
    assert all(ev.popularity()[g].values == want_pop[g].values for g in want_pop)

    with pytest.raises(ValueError, match="sampled_negatives"):
        ev.sampled(model)
    with pytest.raises(ValueError, match="sampled_negatives"):
        ev.sampled_popularity()
    # a model of another run's data is refused
    model.vocab = SimpleNamespace()
    model.vocab.extends = lambda other: False
    with pytest.raises(ValueError, match="not those of this run"):
        ev.model(model)


def test_test_evaluator_without_cold_users_and_with_sampled_negatives():
    rng = np.random.default_rng(6)
    protocol = _protocol(rng)
    protocol.test_cold = SimpleNamespace(users=np.array([], dtype=np.int64))
    ev = TestEvaluator(protocol, ks=(3,), sampled_negatives=4, seed=2)
    assert set(ev.groups) == {"all", "warm"} and ev.headline_group == "all"
    assert ev.negatives.shape == (protocol.test_all.truth.nnz, 4)
    model = VectorModel(unit(rng, 30, 6), unit(rng, 40, 6))
    s = ev.sampled(model)
    assert s.seed == 2 and ev.sampled(model) == s
    assert ev.sampled_popularity().seed == 2


def test_sampled_negatives_are_never_a_known_positive_of_the_user():
    # issue 11: a user's validation item was drawn among its test negatives. With 30
    # candidates and 12 negatives per pair, a validation item would be drawn often.
    rng = np.random.default_rng(8)
    protocol = _protocol(rng)
    candidates = protocol.test_all.candidates
    valid = SimpleNamespace(users=np.arange(30), items=rng.choice(candidates, 30))
    train = protocol.data.vocab.encode(None)
    frames = {"the training table": train, "the validation table": valid}
    protocol.data.vocab.encode = frames.__getitem__
    protocol.data.target_valid = "the validation table"
    # (test_all built from training only: the evaluator reads validation from the data)
    ev = TestEvaluator(protocol, ks=(3,), sampled_negatives=12, seed=0)
    known: dict[int, set[int]] = {}
    truth = protocol.test_all.truth.tocoo()
    test_users = protocol.test_all.users[truth.row]
    for part in (train, valid, SimpleNamespace(users=test_users, items=truth.col)):
        for u, i in zip(part.users.tolist(), part.items.tolist(), strict=True):
            known.setdefault(u, set()).add(i)
    assert ev.negatives.shape == (len(test_users), 12)
    for u, row in zip(ev.sampled_users.tolist(), ev.negatives, strict=True):
        assert not known[u] & set(row.tolist())
        assert set(row.tolist()) <= set(candidates.tolist())


def test_heldout_metrics_counts_a_repeated_event_once_and_ranks_it():
    # issue 11: held-out events (u0, a), (u0, a), (u0, b) scored item a as grade 2, and
    # an item in both the stored history and `exclude` stayed excluded though held out.
    pytest.importorskip("torch", reason="xcat.models needs the train extra")
    from xcat.data.interactions import Interactions
    from xcat.models import Vocab

    src = Interactions(
        pd.DataFrame({"user": ["u0", "u1"], "item": ["s0", "s1"], "category": "src"})
    )
    tgt = Interactions(
        pd.DataFrame({"user": ["u0", "u1", "u1", "u0"], "item": list("abcd"), "category": "tgt"})
    )
    vocab = Vocab.from_interactions(src, tgt)  # items s0 s1 a b c d = rows 0..5
    users = np.array([[1, 0], [1, 0]], dtype=np.float32)
    # user u0's cosine order over the target: b (1.0), a (0.9), then c and d (-1)
    items = np.array([[1, 0], [1, 0], [0.9, 0.1], [1, 0], [-1, 0], [-1, 0.01]], np.float32)
    model = VectorModel(users, items, vocab)
    history = np.full((2, 1), -1)
    model.stored_history = lambda: history
    held = pd.DataFrame({"user": ["u0", "u0", "u0"], "item": ["a", "a", "b"], "category": "tgt"})
    # binary: b at rank 1 and a at rank 2 is the ideal list (old: 0.797)
    assert heldout_metrics(model, held, k=10) == {"NDCG@10": 1.0, "HR@10": 1.0, "users": 1}
    # a is also in u0's stored history and in `exclude`: still rankable (old: 0.276)
    history[0, 0] = 2
    exclude = pd.DataFrame({"user": ["u0", "u0"], "item": ["a", "d"], "category": "tgt"})
    got = heldout_metrics(model, held, k=10, exclude=exclude)
    assert got == {"NDCG@10": 1.0, "HR@10": 1.0, "users": 1}
    # a alone (twice): b ranks first, a second, d stays excluded
    got = heldout_metrics(model, held.iloc[:2], k=2, exclude=exclude)
    assert got == {"NDCG@2": pytest.approx(1 / math.log2(3), abs=1e-15), "HR@2": 1.0, "users": 1}


def test_test_evaluator_scores_precomputed_rankings_by_hand():
    # 3 test users, items 0..3; users 0 and 2 are cold-start. Each user's rankings and
    # held-out items are chosen so the metrics are easy to compute by hand.
    held = SimpleNamespace(users=np.array([0, 1, 2, 2]), items=np.array([1, 2, 0, 3]))
    train = SimpleNamespace(users=np.array([1]), items=np.array([0]))
    test_all = ValidationSet.build(held, train, n_items=4, candidates=np.arange(4))
    test_cold = ValidationSet.build(
        held, train, n_items=4, candidates=np.arange(4), users=np.array([0, 2])
    )
    vocab = SimpleNamespace(n_users=3, n_items=4, encode=lambda frame: train)
    protocol = SimpleNamespace(
        test_all=test_all, test_cold=test_cold, data=SimpleNamespace(vocab=vocab, target_train=0)
    )
    ev = TestEvaluator(protocol, ks=(1, 2))
    top = np.array([[1, 0], [3, 2], [2, 1]])
    got = ev.topn_metrics(top)
    # user 0: hit at rank 1 (NDCG@2 = 1); user 1: hit at rank 2 (1 / log2(3));
    # user 2: no hit in the top 2 (0)
    ndcg2 = [1.0, 1 / np.log2(3), 0.0]
    np.testing.assert_allclose(got["all"].per_user["NDCG@2"], ndcg2)
    assert got["all"]["HR@1"] == pytest.approx(1 / 3)
    assert got["cold-start"]["NDCG@2"] == pytest.approx(0.5)
    assert got["warm"]["NDCG@2"] == pytest.approx(1 / np.log2(3))
    per = ev.per_user(got, ("NDCG@2", "HR@2"))
    assert set(per) == {"all", "cold-start", "warm"}
    np.testing.assert_allclose(per["cold-start"]["NDCG@2"], [1.0, 0.0])
    np.testing.assert_array_equal(per["warm"]["HR@2"], [1.0])
    assert ev.group_users("cold-start").tolist() == [0, 2]
    assert ev.group_users("all").tolist() == [0, 1, 2]
    # popularity goes through the same scoring
    pop = popularity_topn(ev.train_counts, 3, 2, exclude=test_all.exclude)
    assert ev.topn_metrics(pop.indices)["all"].values == ev.popularity()["all"].values
    with pytest.raises(ValueError, match="indices: has 2 rows"):
        ev.topn_metrics(top[:2])
    with pytest.raises(ValueError, match="fewer than the largest cut-off"):
        ev.topn_metrics(top[:, :1])
    with pytest.raises(ValueError, match="indices: expected a 2-D integer"):
        ev.topn_metrics(top.astype(float))
    with pytest.raises(ValueError, match="metrics:"):
        ev.per_user(got, ("NDCG@10",))
    with pytest.raises(ValueError, match="results: group 'all'"):
        ev.per_user({g: got["cold-start"] for g in got})
    with pytest.raises(ValueError, match="group:"):
        ev.group_users("nobody")
