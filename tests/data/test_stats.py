"""Per-domain tables: largest categories and user overlap."""

from __future__ import annotations

import pandas as pd
from xcat.data import Interactions, user_overlap
from xcat.data.stats import largest_categories


def test_largest_categories_ties_break_by_value_in_both_tables():
    # categories 30 and 10 tie at 2 rows; 20 has 3; the order of rows must not matter
    rows = [(1, 1, 30), (2, 1, 30), (1, 2, 20), (2, 2, 20), (3, 2, 20), (1, 3, 10), (3, 3, 10)]
    for order in (rows, rows[::-1]):
        df = pd.DataFrame(order, columns=["user", "item", "category"])
        inter = Interactions(df)
        assert largest_categories(inter) == [20, 10, 30]
        assert largest_categories(inter, 2) == [20, 10]
        ov = user_overlap(inter, max_categories=2)
        assert ov[["category_a", "category_b"]].values.tolist() == [[20, 10]]
