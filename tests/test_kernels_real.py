"""xcat.topn on embeddings learned from real data (Amazon 2014 5-core Beauty).

Real interaction data gives what random tests do not: heavy popularity skew,
many near-identical item vectors, and long per-user exclusion lists.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import xcat
from scipy.sparse.linalg import svds
from test_kernels import assert_close_topn, mask_scores, reference_scores


@pytest.fixture(scope="module")
def beauty(data_dir):
    path = data_dir / "amazon2014_5core_beauty_sports_toys" / "beauty_sequential_data.txt"
    if not path.exists():
        pytest.skip(f"{path} not found")
    users, items = [], []
    with open(path, encoding="utf-8") as f:  # CRLF line endings: split() handles them
        for line in f:
            fields = line.split()
            if fields:
                users.extend([int(fields[0])] * (len(fields) - 1))
                items.extend(int(x) for x in fields[1:])
    users = np.asarray(users) - 1  # ids are 1-based in this file
    items = np.asarray(items) - 1
    matrix = sp.csr_matrix(
        (np.ones(len(users), dtype=np.float32), (users, items)),
        shape=(users.max() + 1, items.max() + 1),
    )
    matrix.sum_duplicates()
    return matrix


def test_counts_match_the_data_readme(beauty):
    # ../shared/data/README.md, section 4: 22,363 users, 12,101 items, 198,502 interactions
    assert beauty.shape == (22_363, 12_101)
    assert beauty.nnz == 198_502


@pytest.fixture(scope="module")
def embeddings(beauty):
    # Truncated SVD of the user-item matrix: a classic collaborative-filtering embedding.
    u, s, vt = svds(beauty.astype(np.float64), k=24, random_state=0)
    users = (u * np.sqrt(s)).astype(np.float32)
    items = (vt.T * np.sqrt(s)).astype(np.float32)
    return users, items


@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_recommendations_excluding_history_match_reference(beauty, embeddings, metric):
    users, items = embeddings
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(users.shape[0], size=400, replace=False))
    candidates = np.flatnonzero(rng.random(items.shape[0]) < 0.6)  # a "target category"
    n = 20
    history = beauty[sample]
    got = xcat.topn(users[sample], items, n, metric=metric, exclude=history, candidates=candidates)
    rows = [history.indices[history.indptr[i] : history.indptr[i + 1]] for i in range(len(sample))]
    masked = mask_scores(reference_scores(users[sample], items, metric), rows, candidates)
    scale = 1.0 if metric == "cosine" else float(np.abs(masked[np.isfinite(masked)]).max())
    assert_close_topn(got, masked, n, atol=1e-5 * scale)
    # Nothing the user already bought comes back.
    for i, row in enumerate(rows):
        assert not set(got.indices[i].tolist()) & set(row.tolist())


def test_all_users_batch_equals_per_user_calls(beauty, embeddings):
    users, items = embeddings
    batch = xcat.topn(users, items, 10, exclude=beauty)
    for u in (0, 1, 777, 22_362):
        history = beauty[u].indices
        one = xcat.topn(users[u], items, 10, exclude=([0, len(history)], history))
        np.testing.assert_array_equal(one.indices, batch.indices[u])
        np.testing.assert_array_equal(one.scores, batch.scores[u])
