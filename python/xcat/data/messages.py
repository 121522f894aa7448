"""Counts, examples and row positions as they appear in error messages and reports.

Every message of :mod:`xcat.data` writes numbers and examples the same way
(``1,234``; ``'a', 'b', 'c'``), so the helpers live here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["fmt_count", "fmt_examples", "fmt_positions"]


def fmt_count(n: int) -> str:
    """``n`` with thousands separators, e.g. ``fmt_count(1234) == "1,234"``."""
    return f"{n:,}"


def fmt_examples(values: Iterable[Any], limit: int = 5) -> str:
    """Show the first ``limit`` values as comma-separated reprs (numpy scalars unwrapped).

    Parameters
    ----------
    values : iterable
        Values to show, in order; only the first ``limit`` are read.
    limit : int, default 5

    Returns
    -------
    str
        E.g. ``"'a', 'b', 3"``.
    """
    shown = [
        repr(v.item() if isinstance(v, np.generic) else v)
        for _, v in zip(range(limit), values, strict=False)
    ]
    return ", ".join(shown)


def fmt_positions(mask: np.ndarray, limit: int = 5) -> str:
    """Positions of the first ``limit`` True values of ``mask``, with ``", ..."`` if there are more.

    Parameters
    ----------
    mask : numpy.ndarray of shape (n,), dtype bool
    limit : int, default 5

    Returns
    -------
    str
        E.g. ``"0, 4, 7, ..."``.
    """
    pos = np.flatnonzero(mask)[:limit]
    more = ", ..." if mask.sum() > limit else ""
    return ", ".join(str(p) for p in pos) + more
