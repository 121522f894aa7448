"""How counts, examples and row positions are written in messages."""

from __future__ import annotations

import numpy as np
from xcat.data.messages import fmt_count, fmt_examples, fmt_positions


def test_fmt_count():
    assert fmt_count(1234567) == "1,234,567"
    assert fmt_count(0) == "0"


def test_fmt_examples_shows_reprs_and_unwraps_numpy_scalars():
    assert fmt_examples(["a", np.int64(3), 2.5]) == "'a', 3, 2.5"
    assert fmt_examples(range(100)) == "0, 1, 2, 3, 4"
    assert fmt_examples(iter("abc"), limit=2) == "'a', 'b'"


def test_fmt_positions():
    mask = np.zeros(10, dtype=bool)
    mask[[1, 4]] = True
    assert fmt_positions(mask) == "1, 4"
    assert fmt_positions(np.ones(7, dtype=bool)) == "0, 1, 2, 3, 4, ..."
