"""The synthetic cross-category generator (the quickstart's default data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from xcat.data.synthetic import SyntheticConfig, make_cross_category

SMALL = dict(n_users=600, n_source_items=300, n_target_items=150, seed=3)


@pytest.fixture(scope="module")
def data():
    return make_cross_category(**SMALL)


def test_deterministic_by_seed(data):
    again = make_cross_category(**SMALL)
    pd.testing.assert_frame_equal(again.source.data, data.source.data)
    pd.testing.assert_frame_equal(again.target.data, data.target.data)
    other = make_cross_category(**{**SMALL, "seed": 4})
    assert not other.target.data.equals(data.target.data)


def test_shape_of_the_shop(data):
    src, tgt = data.source.data, data.target.data
    # imbalance: the source is much richer than the target
    assert len(src) > 2.5 * len(tgt)
    # every active user has at least min_per_user events per category, no repeats
    for df in (src, tgt):
        per_user = df.groupby("user").size()
        assert per_user.min() >= SyntheticConfig.min_per_user
        assert not df.duplicated(["user", "item"]).any()
        assert df.groupby("user")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    # overlap close to the configured share of users
    share = len(data.overlap_users()) / SMALL["n_users"]
    assert 0.4 < share < 0.6
    # popularity skew: the top 10% of target items get far more than 10% of events
    counts = tgt["item"].value_counts()
    assert counts.iloc[: len(counts) // 10].sum() / counts.sum() > 0.2
    # brands are an item feature of every item
    assert data.target.items["brand"].notna().all()
    assert set(tgt["item"]) <= set(data.target.items.index)


def test_tastes_carry_over_between_categories():
    # With no category shift, users who share source items share target items
    # far more than with unrelated tastes.
    def co_overlap(shift):
        d = make_cross_category(**{**SMALL, "category_shift": shift, "popularity_skew": 0.0})
        src = d.source.data.groupby("user")["item"].apply(set)
        tgt = d.target.data.groupby("user")["item"].apply(set)
        users = sorted(set(src.index) & set(tgt.index))[:200]
        rng = np.random.default_rng(0)
        pairs = rng.choice(len(users), size=(4000, 2))
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        s = np.array([len(src[users[a]] & src[users[b]]) for a, b in pairs])
        t = np.array([len(tgt[users[a]] & tgt[users[b]]) for a, b in pairs])
        return np.corrcoef(s, t)[0, 1]

    assert co_overlap(0.0) > co_overlap(1.0) + 0.1


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("n_users", 0, "n_users: must be at least 1"),
        ("overlap", 0.0, "overlap must be in"),
        ("category_shift", 1.5, "category_shift: must be in"),
        ("min_per_user", 999, "min_per_user: 999 exceeds"),
    ],
)
def test_bad_config_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        make_cross_category(**{field: value})
