"""Shared test helper: a recommender on a real Amazon 5-core slice, as the workflow builds it."""

from __future__ import annotations

import numpy as np
import pytest


def real_slice_recommender(data_dir, spec, n_users, dim=16):
    """Return ``(recommender, protocol)`` for a user sample of ``spec`` (``amazon5:toys:sports``).

    Real reviewer ids, ASINs, repeat purchases and popularity skew through
    :func:`xcat.workflow.experiment.build_recommender`; the vectors are seeded
    random float32 tables (no model is needed to test what serves them).
    Skips without the data or PyTorch (the split's vocabulary lives in xcat.models).
    """
    pytest.importorskip("torch", reason="the split's vocabulary lives in xcat.models")
    from xcat.data import datasets
    from xcat.data.domains import sample_users
    from xcat.transfer.protocol import cold_start_protocol
    from xcat.workflow.experiment import build_recommender

    if not (data_dir / "amazon2014_5core_beauty_sports_toys").is_dir():
        pytest.skip(f"amazon2014_5core_beauty_sports_toys not found under {data_dir}")
    data = sample_users(datasets.load(spec, data_dir, seed=0), n_users, seed=0)
    protocol = cold_start_protocol(data, seed=0)
    vocab = protocol.data.vocab
    rng = np.random.default_rng(0)
    users = rng.standard_normal((vocab.n_users, dim)).astype(np.float32)
    items = rng.standard_normal((vocab.n_items, dim)).astype(np.float32)

    class Embeddings:
        def user_embeddings(self):
            return users

        def item_embeddings(self):
            return items

    return build_recommender(Embeddings(), protocol.data), protocol
