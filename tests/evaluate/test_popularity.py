"""Item popularity, defined once (distinct users per item), and its ranking order."""

from __future__ import annotations

import numpy as np
import pytest
from xcat.evaluate import item_popularity, popularity_order, popularity_topn


def test_popularity_counts_distinct_users_not_events():
    # issue 11: evaluation ranked by events, the recommender by distinct users.
    # Item 5: user 0 three times and user 2 once -> 2 users (4 events);
    # item 3: users 1, 2 and 3 once each -> 3 users (3 events); item 0: nobody.
    users = np.array([0, 0, 0, 1, 2, 2, 3])
    items = np.array([5, 5, 5, 3, 3, 5, 3])
    pop = item_popularity(users, items, 6)
    assert pop.dtype == np.int64
    assert pop.tolist() == [0, 0, 0, 3, 0, 2]
    # brute force: the number of distinct users of each item, by plain loops
    want = [len({u for u, i in zip(users, items, strict=True) if i == j}) for j in range(6)]
    assert pop.tolist() == want
    # item 3 is the most popular by users (by events it would be item 5)
    assert popularity_order(pop)[:2].tolist() == [3, 5]
    top = popularity_topn(pop, 1, 2, candidates=[3, 4, 5])
    assert top.indices.tolist() == [[3, 5]] and top.scores.tolist() == [[3.0, 2.0]]


def test_popularity_order_breaks_ties_by_lower_row_and_checks_inputs():
    assert popularity_order([1, 4, 4, 0, 1]).tolist() == [1, 2, 0, 4, 3]
    assert item_popularity([], [], 3).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="items: rows must|item rows below 3"):
        item_popularity([0], [3], 3)
    with pytest.raises(ValueError, match="items: has 1 entries but users has 2"):
        item_popularity([0, 1], [2], 3)
    with pytest.raises(ValueError, match="users: expected a 1-D integer array"):
        item_popularity([0.5], [2], 3)
