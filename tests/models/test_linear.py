"""EASE and ItemKNN against independent float64 NumPy references, and their top-n contract."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.sparse as sp
import xcat
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from xcat.models.linear import EASE, ItemKNN, as_binary_csr

# --- independent references (float64, dense, plain loops) ----------------------------


def ease_reference(x: np.ndarray, lam: float) -> np.ndarray:
    """Steck (2019), eq. 8: B = I - P / diag(P), P = (X^T X + lam I)^-1."""
    x = np.asarray(x, dtype=np.float64)
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    b = np.eye(x.shape[1]) - p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b


def knn_reference(x: np.ndarray, k: int | None, shrink: float) -> np.ndarray:
    """Cosine item-item similarity, no self-similarity, each row's k best kept."""
    x = np.asarray(x, dtype=np.float64)
    n_items = x.shape[1]
    s = np.zeros((n_items, n_items))
    for a in range(n_items):
        for b in range(n_items):
            dot = float(x[:, a] @ x[:, b])
            if a != b and dot > 0:
                s[a, b] = dot / (np.sqrt(x[:, a].sum() * x[:, b].sum()) + shrink)
    if k is not None:
        for a in range(n_items):
            ranked = sorted((b for b in range(n_items) if s[a, b] > 0), key=lambda b: -s[a, b])
            for b in ranked[k:]:
                s[a, b] = 0.0
    return s


def brute_topn(scores, n, exclude=None, candidates=None):
    """Sort each user's eligible items by (-score, item); take n; pad with -1 / -inf."""
    n_users, n_items = scores.shape
    idx = np.full((n_users, n), -1, dtype=np.int64)
    val = np.full((n_users, n), -np.inf, dtype=np.float32)
    pool = range(n_items) if candidates is None else sorted(set(int(c) for c in candidates))
    for u in range(n_users):
        banned = set() if exclude is None else set(np.flatnonzero(exclude[u]).tolist())
        items = sorted((i for i in pool if i not in banned), key=lambda i: (-scores[u, i], i))
        for j, i in enumerate(items[:n]):
            idx[u, j], val[u, j] = i, scores[u, i]
    return idx, val


def kernel_topn(scores, n, exclude=None, candidates=None):
    """xcat.topn selecting on the very same float32 scores.

    One-hot users against items whose vectors are the score columns: every dot
    product is 1 * score plus exact zeros, so the kernel ranks the same values.
    """
    n_users = scores.shape[0]
    ex = None if exclude is None else sp.csr_matrix(exclude)
    return xcat.topn(
        np.eye(n_users, dtype=np.float32),
        np.ascontiguousarray(scores.T),
        n,
        metric="dot",
        exclude=ex,
        candidates=candidates,
    )


# --- hand-computed cases -----------------------------------------------------------------

X3 = np.array([[1, 1, 0], [0, 1, 1], [1, 1, 1]])


def test_ease_hand_computed_3x3():
    # X^T X + I = [[3, 2, 1], [2, 4, 2], [1, 2, 3]], determinant 16, so
    # P = adj / 16 = [[8, -4, 0], [-4, 8, -4], [0, -4, 8]] / 16, diag(P) = 1/2 and
    # B = -P / diag(P) off the diagonal: [[0, .5, 0], [.5, 0, .5], [0, .5, 0]].
    model = EASE(1.0).fit(sp.csr_matrix(X3))
    want = np.array([[0, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0]])
    assert model.B_ is not None and model.B_.dtype == np.float64
    np.testing.assert_allclose(model.B_, want, atol=1e-15)
    assert model.B_.flags.c_contiguous and model.n_items_ == 3
    # user {0}: scores B[0] = [0, .5, 0]; user {0, 2}: [0, 1, 0]
    np.testing.assert_allclose(
        model.scores(np.array([[1, 0, 0], [1, 0, 1]])), [[0, 0.5, 0], [0, 1, 0]], atol=1e-7
    )
    top = model.topn(np.array([1, 0, 0]), 3, exclude=(np.array([0, 1]), np.array([0])))
    assert top.indices.tolist() == [1, 2, -1]
    assert top.indices.dtype == np.int64 and top.scores.dtype == np.float32
    assert top.scores[0] == 0.5 and abs(top.scores[1]) < 1e-7 and top.scores[2] == -np.inf


def test_itemknn_hand_computed_3x3():
    # item user counts 2, 3, 2; co-occurrences (0,1) = 2, (0,2) = 1, (1,2) = 2
    r6 = np.sqrt(6.0)
    model = ItemKNN(shrink=1.0).fit(X3)
    want = np.array(
        [[0, 2 / (r6 + 1), 1 / 3], [2 / (r6 + 1), 0, 2 / (r6 + 1)], [1 / 3, 2 / (r6 + 1), 0]]
    )
    np.testing.assert_allclose(model.S_.toarray(), want, rtol=1e-15)
    # k = 1: item 1's neighbours 0 and 2 tie (2 / sqrt 6): the lower item wins
    pruned = ItemKNN(k=1).fit(X3).S_.toarray()
    np.testing.assert_allclose(pruned, [[0, 2 / r6, 0], [2 / r6, 0, 0], [0, 2 / r6, 0]])
    # user {1}: scores [2/sqrt6, 0, 0] -> item 0, then 1 and 2 tied at 0 -> 1 first
    top = ItemKNN(k=1).fit(X3).topn(np.array([[0, 1, 0]]), 3)
    assert top.indices.tolist() == [[0, 1, 2]]
    assert top.scores[0, 1] == top.scores[0, 2] == 0.0


def test_ease_matches_numpy_inverse_on_a_hand_made_matrix():
    x = np.array(
        [
            [1, 0, 1, 0, 0, 1],
            [1, 1, 0, 0, 0, 0],
            [0, 1, 1, 1, 0, 0],
            [0, 0, 0, 1, 1, 0],
            [1, 0, 0, 0, 1, 1],
            [0, 1, 0, 1, 0, 1],
            [1, 1, 1, 0, 0, 0],
        ]
    )
    for lam in (0.1, 1.0, 7.5, 500.0):
        model = EASE(lam).fit(sp.csr_matrix(x))
        ref = ease_reference(x, lam)
        np.testing.assert_allclose(model.B_, ref, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(model.scores(x), x @ ref, rtol=1e-6, atol=1e-7)


def test_ease_block_symmetrisation_on_a_larger_catalogue():
    # more items than one 1,024-row symmetrisation block
    rng = np.random.default_rng(0)
    x = sp.random(600, 1100, density=0.01, random_state=rng, format="csr")
    x.data[:] = 1.0
    model = EASE(5.0).fit(x)
    np.testing.assert_allclose(model.B_, ease_reference(x.toarray(), 5.0), rtol=1e-9, atol=1e-12)


def test_ease_fit_inverts_in_place_within_one_dense_matrix():
    # the documented memory: n_items**2 * 8 bytes once (SciPy's X^T X comes out in
    # Fortran order; handing LAPACK a C-ordered matrix would copy it, twice the memory)
    import tracemalloc

    rng = np.random.default_rng(1)
    n = 3000
    x = sp.random(4000, n, density=0.002, random_state=rng, format="csr")
    x.data[:] = 1.0
    tracemalloc.start()
    try:
        model = EASE(10.0).fit(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # plus the sparse X^T X and a few 1,024 x 1,024 blocks of the symmetrisation
    assert peak < n * n * 8 + 4 * 1024 * 1024 * 8 + 2**20 * 4, peak / (n * n * 8)
    assert model.B_.flags.c_contiguous


# --- exactness of top-n, over random small binary matrices ------------------------------


@st.composite
def topn_cases(draw):
    n_users = draw(st.integers(1, 7))
    n_items = draw(st.integers(1, 8))
    x = draw(hnp.arrays(np.bool_, (n_users, n_items)))
    n = draw(st.integers(0, n_items + 2))
    exclude = draw(st.none() | hnp.arrays(np.bool_, (n_users, n_items)))
    cands = draw(st.none() | st.lists(st.integers(0, n_items - 1), unique=True))
    return x.astype(np.int8), n, exclude, None if cands is None else np.array(cands, np.int64)


def check_topn(model, x, n, exclude, cands):
    scores = model.scores(x)
    assert scores.dtype == np.float32 and scores.shape == x.shape
    ex = None if exclude is None else sp.csr_matrix(exclude)
    top = model.topn(sp.csr_matrix(x), n, exclude=ex, candidates=cands)
    want_idx, want_val = brute_topn(scores, n, exclude, cands)
    np.testing.assert_array_equal(top.indices, want_idx)
    np.testing.assert_array_equal(top.scores, want_val)
    assert top.indices.dtype == np.int64 and top.scores.dtype == np.float32
    kern = kernel_topn(scores, n, exclude, cands)  # the Rust kernel's own contract
    np.testing.assert_array_equal(top.indices, kern.indices)
    np.testing.assert_array_equal(top.scores, kern.scores)
    # exclude as (indptr, indices) and one user per block give the same answer
    if ex is not None:
        other = copy.copy(model)
        other.block_size = 1
        again = other.topn(x, n, exclude=(ex.indptr, ex.indices), candidates=cands)
        np.testing.assert_array_equal(again.indices, top.indices)
        np.testing.assert_array_equal(again.scores, top.scores)


@given(topn_cases(), st.sampled_from([0.5, 1.0, 3.0, 100.0]))
def test_ease_topn_is_exact(case, lam):
    x, n, exclude, cands = case
    model = EASE(lam).fit(x)
    ref = ease_reference(x, lam)
    np.testing.assert_allclose(model.B_, ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.scores(x), x @ ref, rtol=1e-6, atol=1e-6)
    check_topn(model, x, n, exclude, cands)


@given(topn_cases(), st.sampled_from([None, 1, 2, 5]), st.sampled_from([0.0, 1.0, 10.0]))
def test_itemknn_topn_is_exact(case, k, shrink):
    x, n, exclude, cands = case
    model = ItemKNN(k, shrink=shrink).fit(x)
    ref = knn_reference(x, k, shrink)
    np.testing.assert_allclose(model.S_.toarray(), ref, rtol=1e-12)
    np.testing.assert_allclose(model.scores(x), x @ ref, rtol=1e-6, atol=1e-7)
    check_topn(model, x, n, exclude, cands)


def test_topn_many_ties_and_blocks_on_a_larger_matrix():
    # identical item columns give bit-identical scores: ties must go to the lower item,
    # also across blocks of users and with the partition-based selection (n < items)
    rng = np.random.default_rng(5)
    base = (rng.random((300, 40)) < 0.1).astype(np.int8)
    x = np.repeat(base, 3, axis=1)  # items 3j, 3j+1, 3j+2 are copies
    exclude = rng.random(x.shape) < 0.05
    cands = rng.permutation(x.shape[1])[:90]
    for model in (EASE(20.0), ItemKNN(), ItemKNN(k=7, shrink=2.0)):
        model.fit(x)
        model.block_size = 64
        scores = model.scores(x)
        for n in (1, 10, 89, 90, 95):
            top = model.topn(x, n, exclude=sp.csr_matrix(exclude), candidates=cands)
            kern = kernel_topn(scores, n, exclude, cands)
            np.testing.assert_array_equal(top.indices, kern.indices)
            np.testing.assert_array_equal(top.scores, kern.scores)
        top = model.topn(x, 12, exclude=sp.csr_matrix(exclude), candidates=cands)
        want = brute_topn(scores, 12, exclude, cands)
        np.testing.assert_array_equal(top.indices, want[0])


def test_single_user_users_without_history_and_n_zero():
    model = EASE(2.0).fit(X3)
    one = model.topn(np.array([0, 0, 0]), 2)  # no history: every score 0, lowest items
    assert one.indices.tolist() == [0, 1] and one.scores.tolist() == [0.0, 0.0]
    assert one.indices.shape == (2,)
    empty = model.topn(X3, 0)
    assert empty.indices.shape == (3, 0) and empty.scores.shape == (3, 0)
    none = model.topn(np.zeros((0, 3)), 4)
    assert none.indices.shape == (0, 4)
    padded = model.topn(X3, 5, candidates=[2])
    assert padded.indices[:, 1:].tolist() == [[-1] * 4] * 3
    assert np.isneginf(padded.scores[:, 1:]).all()


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: EASE(1.0), lambda: ItemKNN()])
@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.ones(3), r"X: expected a 2-D matrix"),
        (np.ones((2, 2, 2)), r"X: expected a 2-D matrix"),
        (np.array([[1, 2]]), r"X: expected a binary 0/1 matrix; found 2.0 at \(row 0, item 1\)"),
        (np.array([[0, 1], [-1, 0]]), r"X: values must be non-negative.*\(row 1, item 0\)"),
        (np.array([[0.0, np.nan]]), r"X: has a non-finite value"),
        (np.array([["a"]]), r"X: expected a numeric matrix"),
        (sp.csr_matrix(([1.0, 1.0], ([0, 0], [1, 1])), shape=(1, 2)), r"stored twice are summed"),
    ],
)
def test_fit_refuses_bad_matrices(make, x, match):
    with pytest.raises(ValueError, match=match):
        make().fit(x)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: EASE(0.0), r"lam: expected a number > 0"),
        (lambda: EASE(-1.0), r"lam: expected a number > 0"),
        (lambda: EASE(float("nan")), r"lam: expected a finite real number"),
        (lambda: EASE("1"), r"lam: expected a finite real number"),
        (lambda: EASE(1.0, max_items=0), r"max_items: expected a positive integer"),
        (lambda: ItemKNN(shrink=-0.5), r"shrink: expected a number >= 0"),
        (lambda: ItemKNN(k=0), r"k: expected a positive integer or None"),
        (lambda: ItemKNN(k=True), r"k: expected a positive integer or None"),
        (lambda: ItemKNN(k=2.0), r"k: expected a positive integer or None"),
        (lambda: ItemKNN(block_size=0), r"block_size: expected a positive integer"),
    ],
)
def test_constructors_name_the_bad_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_ease_refuses_a_catalogue_above_max_items_with_its_size():
    x = sp.csr_matrix((3, 40_000))
    with pytest.raises(
        ValueError, match=r"X: 40,000 items need a 40,000 x 40,000 float64.*11\.9 GiB"
    ):
        EASE(10.0).fit(x)
    with pytest.raises(ValueError, match=r"max_items=5"):
        EASE(10.0, max_items=5).fit(np.eye(6))


def test_topn_and_scores_validate_their_arguments():
    model = EASE(1.0)
    with pytest.raises(RuntimeError, match="EASE: call fit"):
        model.topn(X3, 1)
    model.fit(X3)
    with pytest.raises(ValueError, match="X_users: has 2 columns but the model was fitted on 3"):
        model.topn(np.ones((1, 2)), 1)
    with pytest.raises(ValueError, match="X_users: expected a binary"):
        model.topn(np.array([[3, 0, 0]]), 1)
    with pytest.raises(ValueError, match="n: expected a non-negative integer"):
        model.topn(X3, -1)
    with pytest.raises(ValueError, match="n: expected"):
        model.topn(X3, 1.5)
    with pytest.raises(ValueError, match=r"exclude: expected shape \(3, 3\)"):
        model.topn(X3, 1, exclude=sp.csr_matrix((2, 3)))
    with pytest.raises(ValueError, match="exclude: item indices must be in 0..2"):
        model.topn(X3, 1, exclude=(np.array([0, 1, 1, 1]), np.array([3])))
    with pytest.raises(ValueError, match="exclude: indptr must have 4"):
        model.topn(X3, 1, exclude=(np.array([0, 1]), np.array([0])))
    with pytest.raises(ValueError, match="exclude: expected a scipy.sparse"):
        model.topn(X3, 1, exclude=[[0]])
    with pytest.raises(ValueError, match="candidates: item indices must not repeat"):
        model.topn(X3, 1, candidates=[1, 1])
    with pytest.raises(ValueError, match=r"candidates: item indices must be in 0..2"):
        model.topn(X3, 1, candidates=[3])
    with pytest.raises(ValueError, match="candidates: expected a 1-D integer array"):
        model.topn(X3, 1, candidates=[0.5])
    with pytest.raises(ValueError, match="items: item indices must be in 0..2"):
        model.scores(X3, items=[5])


def test_as_binary_csr_copies_and_canonicalises():
    x = sp.csr_matrix(([1, 0, 1], ([0, 0, 1], [2, 1, 0])), shape=(2, 3))
    out = as_binary_csr(x, "X")
    assert out.dtype == np.float64 and out.nnz == 2 and out.has_sorted_indices
    assert out is not x and x.nnz == 3  # explicit zero kept in the caller's matrix
    assert as_binary_csr(np.array([[True, False]]), "X").toarray().tolist() == [[1.0, 0.0]]


# --- real data: EASE beats popularity on a Toys slice -----------------------------------


def test_ease_beats_popularity_on_a_toys_slice(data_dir):
    from xcat.data import load_amazon2014_5core
    from xcat.data.splits import leave_last_out
    from xcat.evaluate import item_popularity, popularity_topn, ranking_metrics

    toys = load_amazon2014_5core(source="beauty", target="toys", root=data_dir).target
    users = toys.data["user"].to_numpy()
    first = users[np.sort(np.unique(users, return_index=True)[1])][:2000]  # file order
    part = toys.take(np.isin(users, first))
    split = leave_last_out(part, n_test=1)
    item_ids = np.unique(part.data["item"].to_numpy())
    user_ids = np.unique(part.data["user"].to_numpy())

    def matrix(inter):
        u = np.searchsorted(user_ids, inter.data["user"].to_numpy())
        i = np.searchsorted(item_ids, inter.data["item"].to_numpy())
        m = sp.csr_matrix((np.ones(len(u)), (u, i)), shape=(len(user_ids), len(item_ids)))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    train, test = matrix(split.train), matrix(split.test)
    assert train.shape == (2000, len(item_ids)) and (np.diff(test.indptr) == 1).all()
    # catalogue: items with >= 2 training users (~3,400 of ~7,600: keeps the fit ~2 s);
    # both methods rank the same catalogue, users whose test item left it are skipped
    keep = np.flatnonzero(np.asarray(train.sum(axis=0)).ravel() >= 2)
    train, test = train[:, keep], test[:, keep]
    # lam fixed beforehand (no tuning on this test set)
    ease = EASE(100.0).fit(train).topn(train, 10, exclude=train)
    tr = train.tocoo()
    pop = popularity_topn(item_popularity(tr.row, tr.col, train.shape[1]), 2000, 10, exclude=train)
    ndcg_ease = ranking_metrics(ease.indices, test)["NDCG@10"]
    ndcg_pop = ranking_metrics(pop.indices, test)["NDCG@10"]
    # measured: EASE 0.034, popularity 0.007 (888 users with their test item in the catalogue)
    assert ndcg_ease > ndcg_pop, (ndcg_ease, ndcg_pop)
