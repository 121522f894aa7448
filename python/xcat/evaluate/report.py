"""Comparison tables and run reports: methods x user groups, gain over ``scratch``.

Writes what every ``xcat`` run leaves in its run directory: ``metrics.json``
(all metrics, per method and user group, with user counts), ``report.md``
(the comparison table) and ``metrics.png`` (a bar chart by method and
group). With a :class:`~xcat.evaluate.BaselineComparison`, the table gets
each method's difference to the best baseline of its group with a paired
bootstrap CI, the report names the best baseline per group and says how
the best method fares, and ``metrics.json`` holds it under ``comparison``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xcat.evaluate.bootstrap import BaselineComparison
from xcat.evaluate.metrics import RankingMetrics

__all__ = ["comparison_table", "difference_column", "results_to_json", "write_report"]

Results = Mapping[str, Mapping[str, RankingMetrics]]

#: Column of held-out items per evaluated user in the tables.
ITEMS_PER_USER = "items/user"


def comparison_table(
    results: Results,
    metrics: Sequence[str] = ("HR@10", "NDCG@10", "Recall@10"),
    *,
    baseline: str | None = "scratch",
    comparison: BaselineComparison | None = None,
) -> pd.DataFrame:
    """One row per (method, user group), one column per metric.

    Parameters
    ----------
    results : mapping of method to mapping of group to RankingMetrics
        E.g. ``{"popularity": {...}, "scratch": {...}, "full": {...}}``.
    metrics : sequence of str
        Metric names as in :class:`~xcat.evaluate.RankingMetrics`.
    baseline : str or None, default "scratch"
        Method whose value each other method's gain is relative to: a column
        ``gain % <metric>`` = ``100 * (value / baseline - 1)`` per group
        (empty where the baseline is 0 or absent).
    comparison : BaselineComparison, optional
        Adds the text column :func:`difference_column`: on a compared
        method's row its difference to the group's best baseline with the
        CI (``"+0.0040 [-0.0080, +0.0160]"``), on the best baseline's own
        row ``"best baseline"``, elsewhere empty.

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``group``, ``users``, ``items/user`` (held-out
        items per evaluated user, :attr:`RankingMetrics.relevant_per_user`)
        and the metrics (plus gains and the difference column).

    Raises
    ------
    ValueError
        If a metric is missing from some result.
    """
    rows = []
    for method, groups in results.items():
        for group, res in groups.items():
            missing = [m for m in metrics if m not in res.values]
            if missing:
                raise ValueError(f"metrics: {missing} not computed for {method}/{group}")
            rows.append(
                {
                    "method": method,
                    "group": group,
                    "users": res.n_users,
                    ITEMS_PER_USER: res.relevant_per_user,
                }
                | {m: res.values[m] for m in metrics}
            )
    table = pd.DataFrame(rows)
    if baseline is not None and baseline in results and len(table):
        for m in metrics:
            base = table[table["method"] == baseline].set_index("group")[m]
            ref = table["group"].map(base)
            gain = 100.0 * (table[m] / ref - 1.0)
            table[f"gain % {m}"] = gain.where((ref > 0) & (table["method"] != baseline))
    if comparison is not None and len(table):
        cells = []
        for method, group in zip(table["method"], table["group"], strict=True):
            ci = comparison.differences.get(method, {}).get(group)
            if ci is not None:
                cells.append(ci.format())
            elif comparison.best_baseline.get(group) == method:
                cells.append("best baseline")
            else:
                cells.append("")
        table[difference_column(comparison)] = cells
    return table


def difference_column(comparison: BaselineComparison) -> str:
    """Name of the comparison table's difference column, e.g. ``Δ NDCG@10 vs best [95% CI]``."""
    return f"Δ {comparison.metric} vs best [{comparison.confidence:.0%} CI]"


def results_to_json(results: Results) -> dict[str, Any]:
    """Plain-JSON form of ``results``: values and user counts per method and group."""
    return {
        method: {
            group: {
                "users": r.n_users,
                "skipped": r.n_skipped,
                "relevant_per_user": r.relevant_per_user,
                "metrics": r.values,
            }
            for group, r in groups.items()
        }
        for method, groups in results.items()
    }


def _all_metrics(results: Results) -> pd.DataFrame:
    """Long table: one row per (method, group), every metric computed as a column."""
    rows = [
        {"method": method, "group": group, "users": r.n_users, ITEMS_PER_USER: r.relevant_per_user}
        | dict(r.values)
        for method, groups in results.items()
        for group, r in groups.items()
    ]
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "" if pd.isna(v) else (f"{v:+.1f}" if abs(v) >= 1 or v == 0 else f"{v:.4f}")
        return str(v)

    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    lines = [header, rule]
    for row in table.itertuples(index=False):
        cells = []
        for col, v in zip(table.columns, row, strict=True):
            if isinstance(v, str):
                cells.append(v)
            elif col.startswith("gain"):
                cells.append("" if pd.isna(v) else f"{v:+.1f}")
            elif col == ITEMS_PER_USER:
                cells.append("" if pd.isna(v) else f"{v:.2f}")
            elif isinstance(v, float):
                cells.append(f"{v:.4f}")
            else:
                cells.append(fmt(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(
    out_dir: str | Path,
    results: Results,
    *,
    title: str,
    config: Mapping[str, Any],
    metrics: Sequence[str] = ("HR@10", "NDCG@10", "Recall@10"),
    notes: Sequence[str] = (),
    sections: Sequence[tuple[str, pd.DataFrame]] = (),
    extra_metrics: Mapping[str, Any] | None = None,
    comparison: BaselineComparison | None = None,
    findings: Sequence[str] = (),
) -> dict[str, Path]:
    """Write ``config.json``, ``metrics.json``, ``report.md`` and ``metrics.png``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Run directory (created if needed).
    results : mapping of method to mapping of group to RankingMetrics
    title : str
        Heading of the report.
    config : mapping
        The resolved configuration of the run (JSON-serialisable).
    metrics : sequence of str
        Metrics in the table and the plot.
    notes : sequence of str
        Extra lines for the report (command line, wall time, data...).
    sections : sequence of (str, pandas.DataFrame)
        More tables for the report, each under its heading (e.g. the
        sampled protocol).
    extra_metrics : mapping, optional
        More JSON-serialisable results, stored in ``metrics.json`` next to
        the full-ranking ones (under their own keys).
    comparison : BaselineComparison, optional
        Each method against the best baseline of each group: a column of
        the table (:func:`comparison_table`), a line naming the best
        baseline per group and the verdicts of
        :meth:`BaselineComparison.lines` under the table, and
        ``metrics.json["comparison"]``.
    findings : sequence of str
        More lines under the table (e.g. baselines skipped and why).

    Returns
    -------
    dict of str to pathlib.Path
        The files written, by kind.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "config": out / "config.json",
        "metrics": out / "metrics.json",
        "report": out / "report.md",
        "plot": out / "metrics.png",
    }
    paths["config"].write_text(json.dumps(config, indent=2, default=str) + "\n")
    payload = results_to_json(results)
    extra = dict(extra_metrics or {})
    if comparison is not None:
        if "comparison" in extra:
            raise ValueError("extra_metrics: 'comparison' is written from `comparison`")
        extra["comparison"] = comparison.to_json()
    if extra:
        clash = sorted(set(extra) & set(payload))
        if clash:
            raise ValueError(f"extra_metrics: keys {clash} are also method names in results")
        payload = payload | extra
    paths["metrics"].write_text(json.dumps(payload, indent=2) + "\n")
    table = comparison_table(results, metrics, comparison=comparison)
    body = [f"# {title}", "", *notes, "", _markdown(table), ""]
    body.append(
        "Full ranking over the target catalogue, each user's training and validation items "
        "excluded (its own test items never: a re-bought item stays rankable). "
        "`gain %` is relative to `scratch` (no transfer) in the same user group."
    )
    if table[ITEMS_PER_USER].nunique() > 1:
        # e.g. cold-start users hold out all their target items, warm users one
        body.append(
            f"`{ITEMS_PER_USER}` is the number of held-out items per user; it differs between "
            "groups, and HR@K (a hit on any of them) rises with it for the same ranking, so "
            "compare groups by Recall@K (the share of a user's held-out items in its top K), "
            "and methods within a group by any metric."
        )
    if comparison is not None:
        c = comparison
        body.append(
            f"`{difference_column(c)}`: the method's mean per-user {c.metric} minus that of "
            "the best baseline of the same user group (the baseline with the best validation "
            f"NDCG@10 on that group), with a paired bootstrap {c.confidence:.0%} interval over "
            f"the group's test users ({c.n_resamples:,} resamples, seed {c.seed}). Every method "
            f"was tuned on the {c.selection_group} validation users."
        )
        body += [
            "",
            "Best baseline per user group (by validation NDCG@10): "
            + ", ".join(f"{g} {b}" for g, b in c.best_baseline.items())
            + ".",
        ]
        body += ["", *(f"- {line}" for line in c.lines())]
    if findings:
        body += ["", *findings]
    for heading, frame in sections:
        body += ["", f"## {heading}", "", _markdown(frame)]
    body += ["", "## Every metric and cut-off (full ranking)", ""]
    body.append(_markdown(_all_metrics(results)))
    paths["report"].write_text("\n".join(body) + "\n")
    _plot(table, metrics, paths["plot"], title)
    return paths


#: Fixed colours (matplotlib's tab20) of the methods xcat reports, so a
#: method keeps its colour whichever methods a run compares.
_METHOD_COLORS = {
    "popularity": "#7f7f7f",
    "ease-target": "#98df8a",
    "ease-merged": "#2ca02c",
    "itemknn-target": "#c5b0d5",
    "itemknn-merged": "#9467bd",
    "scratch": "#c7c7c7",
    "joint": "#8c564b",
    "freeze": "#1f77b4",
    "mapping": "#ff7f0e",
    "reinit": "#d62728",
    "full": "#17becf",
}
_OTHER_COLORS = ("#aec7e8", "#ffbb78", "#ff9896", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5")


def method_color(method: str) -> str:
    """Colour of ``method`` in the plots: fixed per name, the same in every run.

    Known methods have their own colour; any other name gets one of
    :data:`_OTHER_COLORS` chosen by a CRC-32 of the name (stable across
    processes, unlike :func:`hash`).
    """
    if method in _METHOD_COLORS:
        return _METHOD_COLORS[method]
    return _OTHER_COLORS[zlib.crc32(method.encode()) % len(_OTHER_COLORS)]


def _plot(table: pd.DataFrame, metrics: Sequence[str], path: Path, title: str) -> None:
    import matplotlib.pyplot as plt

    fig = _figure(table, metrics, title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _figure(table: pd.DataFrame, metrics: Sequence[str], title: str) -> Any:
    """Bar chart of ``table``: one panel per metric, groups on x, one bar per method."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(table["group"]))
    methods = list(dict.fromkeys(table["method"]))
    users = table.groupby("group", sort=False)["users"].max()
    labels = [f"{g}\n({users[g]:,} users)" for g in groups]
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.2 * len(metrics) + 1.4, 3.8), squeeze=False
    )
    width = 0.8 / max(len(methods), 1)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, method in enumerate(methods):
            sub = table[table["method"] == method].set_index("group").reindex(groups)
            xs = [g + (i - (len(methods) - 1) / 2) * width for g in range(len(groups))]
            ax.bar(xs, sub[metric].fillna(0.0), width, label=method, color=method_color(method))
        ax.set_xticks(range(len(groups)), labels)
        ax.set_xlabel("user group (test users)")
        ax.set_ylabel(f"mean {metric} per user")
        ax.set_title(metric)
        ax.grid(axis="y", alpha=0.3)
    # outside the panels, so no bar is hidden behind it
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
