"""The removal report: every step of a load that removed (or added) rows.

Nothing in :mod:`xcat.data` removes a row unless asked to, and every removal is
recorded as a :class:`RemovalStep` of the table's :class:`RemovalReport`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from xcat.data.messages import fmt_count

__all__ = ["RemovalReport", "RemovalStep"]

logger = logging.getLogger("xcat.data")


@dataclass(frozen=True)
class RemovalStep:
    """One data-changing step of a load and how many rows it removed.

    Attributes
    ----------
    step : str
        Short name of the step (``"drop duplicates"``, ``"k-core"``...).
    rows_before, rows_after : int
        Row counts before and after the step.  ``rows_after > rows_before``
        only for steps that add rows (MovieLens ``genres="explode"``).
    detail : str
        Human-readable parameters of the step.
    """

    step: str
    rows_before: int
    rows_after: int
    detail: str = ""

    @property
    def rows_removed(self) -> int:
        """Rows removed by this step (negative if the step added rows)."""
        return self.rows_before - self.rows_after


@dataclass(frozen=True)
class RemovalReport:
    """Ordered record of every step that removed (or added) rows during a load.

    An empty report means no row was removed.  Reports are immutable;
    :meth:`add` returns a new report.

    Attributes
    ----------
    steps : tuple of RemovalStep
        The steps in the order they were applied.
    """

    steps: tuple[RemovalStep, ...] = ()

    def add(self, step: str, rows_before: int, rows_after: int, detail: str = "") -> RemovalReport:
        """Return a new report with one more step (also logged at INFO level).

        Parameters
        ----------
        step : str
            Name of the step.
        rows_before, rows_after : int
            Row counts before and after the step.
        detail : str, default ""
            Parameters of the step, for people.

        Returns
        -------
        RemovalReport
        """
        s = RemovalStep(step, int(rows_before), int(rows_after), detail)
        logger.info(
            "%s: %s -> %s rows (%s removed)%s",
            step,
            fmt_count(s.rows_before),
            fmt_count(s.rows_after),
            fmt_count(s.rows_removed),
            f"; {detail}" if detail else "",
        )
        return RemovalReport((*self.steps, s))

    def extend(self, other: RemovalReport, prefix: str = "") -> RemovalReport:
        """Return a report with the steps of ``other`` appended (names prefixed)."""
        extra = tuple(
            RemovalStep(prefix + s.step, s.rows_before, s.rows_after, s.detail) for s in other.steps
        )
        return RemovalReport((*self.steps, *extra))

    @property
    def total_removed(self) -> int:
        """Sum of :attr:`RemovalStep.rows_removed` over all steps."""
        return sum(s.rows_removed for s in self.steps)

    def to_frame(self) -> pd.DataFrame:
        """Return the report as a table.

        Returns
        -------
        pandas.DataFrame
            Columns ``step``, ``rows_before``, ``rows_removed``, ``rows_after``,
            ``detail``; one row per step (zero rows if nothing was removed).
        """
        return pd.DataFrame(
            {
                "step": [s.step for s in self.steps],
                "rows_before": [s.rows_before for s in self.steps],
                "rows_removed": [s.rows_removed for s in self.steps],
                "rows_after": [s.rows_after for s in self.steps],
                "detail": [s.detail for s in self.steps],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, read back by :meth:`from_dict`."""
        return {"steps": [s.__dict__.copy() for s in self.steps]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RemovalReport:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(RemovalStep(**s) for s in d.get("steps", [])))

    def __str__(self) -> str:
        if not self.steps:
            return "no rows removed"
        lines = []
        for s in self.steps:
            verb = "removed" if s.rows_removed >= 0 else "added"
            lines.append(
                f"{s.step}: {fmt_count(abs(s.rows_removed))} rows {verb} "
                f"({fmt_count(s.rows_before)} -> {fmt_count(s.rows_after)})"
                + (f"; {s.detail}" if s.detail else "")
            )
        return "\n".join(lines)
