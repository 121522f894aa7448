"""xcat.topn and xcat.cosine_similarity against an independent NumPy float64 reference."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.sparse as sp
import xcat
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from xcat import _xcat

# ---------------------------------------------------------------- reference


def reference_scores(users, items, metric):
    """float64 score matrix; cosine is 0.0 where either row has zero norm."""
    u = np.asarray(users, dtype=np.float64)
    v = np.asarray(items, dtype=np.float64)
    s = u @ v.T
    if metric == "cosine":
        nu = np.linalg.norm(u, axis=1)[:, None]
        nv = np.linalg.norm(v, axis=1)[None, :]
        den = nu * nv
        s = np.divide(s, den, out=np.zeros_like(s), where=den > 0)
    return s


def mask_scores(scores, exclude_rows=None, candidates=None):
    """-inf for items a user may not get."""
    s = scores.copy()
    if candidates is not None:
        allowed = np.zeros(s.shape[1], dtype=bool)
        allowed[np.asarray(candidates, dtype=np.int64)] = True
        s[:, ~allowed] = -np.inf
    if exclude_rows is not None:
        for u, row in enumerate(exclude_rows):
            s[u, np.asarray(row, dtype=np.int64)] = -np.inf
    return s


def exact_reference_topn(masked, n):
    """Indices by (score desc, index asc), -1 padded: exact when scores are exact."""
    out = np.full((masked.shape[0], n), -1, dtype=np.int64)
    for u, row in enumerate(masked):
        eligible = np.flatnonzero(row > -np.inf)
        order = eligible[np.lexsort((eligible, -row[eligible]))][:n]
        out[u, : len(order)] = order
    return out


def assert_close_topn(got, masked, n, atol=2e-6):
    """Top-n agrees with the float64 reference up to float32 rounding.

    Scores must match the reference score of the returned item, the k-th
    score must match the reference k-th best, rows are sorted, exact float32
    ties go to the lower index, and padding is -1 / -inf.
    """
    idx, sc = got
    assert idx.dtype == np.int64 and sc.dtype == np.float32
    assert idx.shape == sc.shape == (masked.shape[0], n)
    for u, row in enumerate(masked):
        m = int(np.sum(row > -np.inf))
        k = min(n, m)
        assert np.all(idx[u, k:] == -1) and np.all(sc[u, k:] == -np.inf)
        chosen = idx[u, :k]
        assert len(set(chosen.tolist())) == k
        assert np.all(row[chosen] > -np.inf), "returned an excluded or non-candidate item"
        np.testing.assert_allclose(sc[u, :k], row[chosen], atol=atol, rtol=0)
        best = np.sort(row[row > -np.inf])[::-1][:k]
        np.testing.assert_allclose(sc[u, :k], best, atol=atol, rtol=0)
        assert np.all(np.diff(sc[u, :k]) <= 0)
        ties = (np.diff(sc[u, :k]) == 0) & (np.diff(chosen) < 0)
        assert not ties.any(), "equal scores not ordered by index"


# ------------------------------------------------------------- strategies

dims = st.integers(1, 8)


@st.composite
def problems(draw, small_ints=False):
    d = draw(dims)
    n_users = draw(st.integers(1, 24))
    n_items = draw(st.integers(0, 60))
    if small_ints:
        elems = st.integers(-3, 3).map(float)
    else:
        # Zero or clearly non-zero, so float64 tolerances stay simple; the
        # whole float32 range is covered in test_kernels_edge.py.
        magnitude = st.floats(0.0009765625, 4, width=32)  # 2**-10
        elems = st.one_of(st.just(0.0), magnitude, magnitude.map(lambda x: -x))
    users = draw(hnp.arrays(np.float32, (n_users, d), elements=elems))
    items = draw(hnp.arrays(np.float32, (n_items, d), elements=elems))
    if n_items and draw(st.booleans()):
        # duplicate rows and zero rows: ties and the zero-norm convention
        items[draw(st.integers(0, n_items - 1))] = 0.0
        items[-1] = items[0]
        users[-1] = 0.0
    n = draw(st.integers(0, n_items + 3))
    return users, items, n


@st.composite
def filters(draw, n_users, n_items):
    exclude_rows = [
        sorted(draw(st.sets(st.integers(0, n_items - 1), max_size=5))) if n_items else []
        for _ in range(n_users)
    ]
    candidates = None
    if n_items and draw(st.booleans()):
        candidates = draw(
            st.lists(st.integers(0, n_items - 1), unique=True, min_size=0, max_size=n_items)
        )
    return exclude_rows, candidates


def to_csr(rows, n_items):
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.array([i for r in rows for i in r], dtype=np.int64)
    return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), n_items))


# ------------------------------------------------------------ properties


@given(problems(small_ints=True), st.data())
def test_dot_small_integers_equal_reference_exactly(problem, data):
    users, items, n = problem
    exclude_rows, candidates = data.draw(filters(len(users), len(items)))
    exclude = to_csr(exclude_rows, len(items))
    got = xcat.topn(users, items, n, metric="dot", exclude=exclude, candidates=candidates)
    masked = mask_scores(reference_scores(users, items, "dot"), exclude_rows, candidates)
    want = exact_reference_topn(masked, n)
    np.testing.assert_array_equal(got.indices, want)
    padded = np.concatenate([masked, np.full((len(users), 1), -np.inf)], axis=1)
    want_scores = np.take_along_axis(padded, want, 1)  # -1 picks the -inf column
    np.testing.assert_array_equal(got.scores, want_scores.astype(np.float32))


@given(problems(), st.data(), st.sampled_from(["cosine", "dot"]))
def test_matches_float64_reference(problem, data, metric):
    users, items, n = problem
    exclude_rows, candidates = data.draw(filters(len(users), len(items)))
    got = xcat.topn(
        users,
        items,
        n,
        metric=metric,
        exclude=(
            np.cumsum([0] + [len(r) for r in exclude_rows]),
            [i for r in exclude_rows for i in r],
        ),
        candidates=candidates,
    )
    masked = mask_scores(reference_scores(users, items, metric), exclude_rows, candidates)
    scale = (
        1.0
        if metric == "cosine"
        else max(1.0, float(np.abs(masked[np.isfinite(masked)]).max(initial=1.0)))
    )
    assert_close_topn(got, masked, n, atol=2e-6 * scale * users.shape[1])


@given(problems(), st.integers(1, 50))
def test_identical_across_threads_and_block_sizes(problem, block):
    users, items, n = problem
    base = _xcat.topn(users, items, n, "cosine", num_threads=1)
    for threads in (1, 2):
        got = _xcat.topn(users, items, n, "cosine", num_threads=threads, block_items=block)
        np.testing.assert_array_equal(got[0], base[0])
        np.testing.assert_array_equal(got[1], base[1])


def isas():
    available = {"avx512": ["avx512", "avx2", "portable"], "avx2": ["avx2", "portable"]}
    return available.get(_xcat.isa(), ["portable"])


@given(problems())
def test_every_cpu_path_gives_the_same_bits(problem):
    users, items, n = problem
    results = [_xcat.topn(users, items, n, "cosine", isa_name=isa) for isa in isas()]
    for other in results[1:]:
        np.testing.assert_array_equal(other[0], results[0][0])
        np.testing.assert_array_equal(other[1], results[0][1])


@given(problems())
def test_cosine_similarity_matches_reference_and_topn_scores(problem):
    users, items, _ = problem
    dense = xcat.cosine_similarity(users, items)
    assert dense.dtype == np.float32 and dense.shape == (len(users), len(items))
    np.testing.assert_allclose(
        dense, reference_scores(users, items, "cosine"), atol=2e-6 * users.shape[1]
    )
    top = xcat.topn(users, items, len(items))
    np.testing.assert_array_equal(np.take_along_axis(dense, top.indices, 1), top.scores)


# ------------------------------------------------------------ conventions


def test_hand_computed_case():
    users = np.array([[1, 0], [0, 0], [3, 4]], dtype=np.float32)
    items = np.array([[2, 0], [0, 5], [1, 1], [0, 0], [4, 0]], dtype=np.float32)
    got = xcat.topn(users, items, 3)
    # user 0: cos = [1, 0, 0.7071, 0, 1] -> items 0 and 4 tie at 1.0, lower index first
    np.testing.assert_array_equal(got.indices[0], [0, 4, 2])
    np.testing.assert_allclose(got.scores[0], [1.0, 1.0, 2**-0.5], rtol=1e-6)
    # zero user: 0.0 against everything, so the first three items
    np.testing.assert_array_equal(got.indices[1], [0, 1, 2])
    np.testing.assert_array_equal(got.scores[1], [0.0, 0.0, 0.0])
    # user 2 = (3,4)/5: cos = [0.6, 0.8, 0.98995, 0, 0.6]
    np.testing.assert_array_equal(got.indices[2], [2, 1, 0])
    np.testing.assert_allclose(got.scores[2], [7 / (5 * 2**0.5), 0.8, 0.6], rtol=1e-6)
    dot = xcat.topn(users, items, 2, metric="dot")
    np.testing.assert_array_equal(dot.indices[2], [1, 4])
    np.testing.assert_array_equal(dot.scores[2], [20.0, 12.0])


def test_one_dimensional_query_gives_one_dimensional_result():
    items = np.eye(4, dtype=np.float32)
    got = xcat.topn(np.array([0.0, 1.0, 0.5, 0.0]), items, 2, exclude=([0, 1], [1]))
    assert got.indices.shape == (2,) and got.scores.shape == (2,)
    np.testing.assert_array_equal(got.indices, [2, 0])


def test_padding_and_n_zero():
    items = np.ones((2, 3), dtype=np.float32)
    got = xcat.topn(np.ones((4, 3)), items, 5)
    assert got.indices.shape == (4, 5)
    assert (got.indices[:, 2:] == -1).all() and np.isneginf(got.scores[:, 2:]).all()
    empty = xcat.topn(np.ones((4, 3)), items, 0)
    assert empty.indices.shape == (4, 0) and empty.scores.shape == (4, 0)
    no_items = xcat.topn(np.ones((2, 3)), np.zeros((0, 3)), 2)
    assert (no_items.indices == -1).all()
    no_users = xcat.topn(np.zeros((0, 3)), items, 2)
    assert no_users.indices.shape == (0, 2)


def test_zero_dimensional_embeddings_score_zero():
    got = xcat.topn(np.zeros((2, 0)), np.zeros((3, 0)), 2)
    np.testing.assert_array_equal(got.indices, [[0, 1], [0, 1]])
    np.testing.assert_array_equal(got.scores, np.zeros((2, 2), dtype=np.float32))


def test_huge_n_is_a_clear_error_not_a_crash():
    with pytest.raises(ValueError, match="n: expected a non-negative integer below 2"):
        xcat.topn(GOOD_U, GOOD_I, 2**64)
    with pytest.raises(ValueError, match="n: a 2 x 4611686018427387904 result is too large"):
        xcat.topn(GOOD_U, GOOD_I, 2**62)
    with pytest.raises(MemoryError, match="could not allocate"):
        xcat.topn(np.ones((1000, 3)), GOOD_I, 10**13)


def test_float32_input_is_not_copied_or_modified():
    rng = np.random.default_rng(0)
    users = rng.standard_normal((5, 8)).astype(np.float32)
    items = rng.standard_normal((50, 8)).astype(np.float32)
    before = (users.copy(), items.copy())
    xcat.topn(users, items, 3)
    np.testing.assert_array_equal(users, before[0])
    np.testing.assert_array_equal(items, before[1])


def test_non_contiguous_and_float64_inputs_are_converted():
    rng = np.random.default_rng(1)
    items64 = rng.standard_normal((40, 6))
    users64 = rng.standard_normal((7, 12))[:, ::2]  # strided view
    got = xcat.topn(users64, items64, 5)
    want = xcat.topn(np.ascontiguousarray(users64, dtype=np.float32), items64.astype(np.float32), 5)
    np.testing.assert_array_equal(got.indices, want.indices)
    items_f = np.asfortranarray(items64.astype(np.float32))
    np.testing.assert_array_equal(xcat.topn(users64, items_f, 5).indices, want.indices)


def test_scipy_exclude_counts_every_stored_entry():
    items = np.eye(3, dtype=np.float32)
    excl = sp.csr_matrix(([0.0], ([0], [0])), shape=(1, 3))  # an explicit zero still excludes
    got = xcat.topn(np.array([[1.0, 0.5, 0.2]]), items, 3, exclude=excl)
    np.testing.assert_array_equal(got.indices[0], [1, 2, -1])
    coo = sp.coo_matrix(([1.0], ([0], [1])), shape=(1, 3))
    np.testing.assert_array_equal(
        xcat.topn(np.array([[1.0, 0.5, 0.2]]), items, 1, exclude=coo).indices, [[0]]
    )


# ----------------------------------------------------------------- errors

GOOD_U = np.ones((2, 3), dtype=np.float32)
GOOD_I = np.ones((4, 3), dtype=np.float32)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(users=np.array([[np.nan, 1, 1]])), "users: row 0 contains NaN"),
        (
            dict(items=np.array([[1, 1, 1], [1, np.inf, 1]], dtype=np.float32)),
            "items: row 1 contains NaN or inf",
        ),
        (dict(items=np.ones((4, 2), dtype=np.float32)), "items: has d=2"),
        (dict(items=np.ones(3, dtype=np.float32)), "items: expected a 2-D array"),
        (dict(users=np.ones((2, 3, 1))), "users: expected a 1-D or 2-D array"),
        (
            dict(users=np.ones((2, 3), dtype=np.int64)),
            "users: expected a real floating-point array",
        ),
        (dict(items=np.ones((4, 3), dtype=bool)), "items: expected a real floating-point array"),
        (dict(items=np.ones((4, 3), dtype=np.complex64)), "items: expected a real floating-point"),
        (dict(users=np.full((2, 3), 1e39)), "users: row 0 has values outside the float32 range"),
        (
            dict(users=np.full((1, 3), 2.0), items=np.full((1, 3), 3e38, np.float32), metric="dot"),
            "scores overflow float32",
        ),
        (dict(n=-1), "n: expected a non-negative integer"),
        (dict(n=2.5), "n: expected a non-negative integer"),
        (dict(n=True), "n: expected a non-negative integer"),
        (dict(metric="euclid"), "metric: expected one of"),
        (dict(exclude=sp.csr_matrix((3, 4))), r"exclude: expected shape \(2, 4\)"),
        (dict(exclude=([0, 1, 2], [0, 4])), "exclude: row 1 has item 4, outside 0..4"),
        (dict(exclude=([0, 1], [0])), "exclude: has 1 rows but users has 2"),
        (
            dict(exclude=([0, 2, 1], [0])),
            "exclude: indptr must be non-decreasing; it is not at row 0",
        ),
        (dict(exclude=[1, 2]), "exclude: expected a scipy.sparse matrix"),
        (dict(exclude=([0, 0, 1], [-1])), "exclude: row 1 has item -1"),
        (dict(candidates=[0, 4]), "candidates: item 4 is outside 0..4"),
        (dict(candidates=[1, 1]), "candidates: item 1 appears more than once"),
        (dict(candidates=[0.5]), "candidates: expected a 1-D integer array"),
        (dict(candidates=[[0]]), "candidates: expected a 1-D integer array"),
        (dict(num_threads=0), "num_threads: expected a positive integer"),
        (dict(num_threads=5000), "num_threads: 5000 is more than the 1024 supported"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, match):
    args = dict(users=GOOD_U, items=GOOD_I, n=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        xcat.topn(args.pop("users"), args.pop("items"), args.pop("n"), **args)


def test_cosine_similarity_errors():
    with pytest.raises(ValueError, match="b: has d=2 columns but a has d=3"):
        xcat.cosine_similarity(GOOD_U, np.ones((2, 2)))
    with pytest.raises(ValueError, match="a: row 1 contains NaN"):
        xcat.cosine_similarity(np.array([[1.0, 2.0], [np.nan, 0.0]]), np.ones((2, 2)))


# ------------------------------------------------------- process behaviour


def _child_topn(queue):
    rng = np.random.default_rng(3)
    queue.put(
        xcat.topn(rng.standard_normal((64, 16)), rng.standard_normal((5000, 16)), 5).indices.sum()
    )


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method is Linux-only here")
def test_works_in_a_forked_child_after_use_in_parent():
    rng = np.random.default_rng(3)
    expected = xcat.topn(
        rng.standard_normal((64, 16)), rng.standard_normal((5000, 16)), 5
    ).indices.sum()
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_topn, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0, "child hung or crashed: the thread pool did not survive fork"
    assert queue.get(timeout=5) == expected


def _run_script(code, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_ctrl_c_interrupts_a_long_call():
    proc = _run_script(
        """
        import numpy as np, xcat, time, signal
        # a job started in the background of a non-interactive shell inherits SIGINT
        # ignored; restore Python's handler, which is what an interactive user has
        signal.signal(signal.SIGINT, signal.default_int_handler)
        rng = np.random.default_rng(0)
        items = rng.standard_normal((1_000_000, 64), dtype=np.float32)
        users = rng.standard_normal((8192, 64), dtype=np.float32)
        print("ready", flush=True)
        t = time.perf_counter()
        try:
            xcat.topn(users, items, 10)
            print("finished", flush=True)
        except KeyboardInterrupt:
            print(f"interrupted after {time.perf_counter() - t:.2f}", flush=True)
        """
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "interrupted after" in out, (out, err)
    assert float(out.split()[-1]) < 3.0, "the call did not stop promptly"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_never_materialises_the_score_matrix():
    # 3000 x 400_000 float32 scores would be 4.8 GB; allow 300 MB extra.
    proc = _run_script(
        """
        import numpy as np, xcat, resource
        rng = np.random.default_rng(0)
        items = rng.standard_normal((400_000, 4), dtype=np.float32)
        users = rng.standard_normal((3000, 4), dtype=np.float32)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = xcat.topn(users, items, 10)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((peak - base) / 1024)
        """,
        env={**os.environ, "XCAT_NUM_THREADS": "2"},
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert float(out) < 300, f"extra peak memory {float(out):.0f} MB"
