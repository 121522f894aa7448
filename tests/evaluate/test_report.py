"""Comparison tables and reports with the difference to the best baseline (xcat.evaluate.report)."""

from __future__ import annotations

import json

import numpy as np
from xcat.evaluate import RankingMetrics, compare_to_best_baseline, difference_column
from xcat.evaluate.report import comparison_table, write_report


def metrics(values):
    v = np.asarray(values, dtype=np.float64)
    return RankingMetrics(
        {"NDCG@10": float(v.mean()), "HR@10": float((v > 0).mean())},
        len(v),
        0,
        {"NDCG@10": v, "HR@10": (v > 0).astype(float)},
    )


def results_and_comparison():
    rng = np.random.default_rng(1)
    pop, ease = rng.random(40) * 0.1, rng.random(40) * 0.3
    scratch, full = ease - 0.05, ease + 0.001 * rng.standard_normal(40)
    results = {
        name: {"all": metrics(v), "cold-start": metrics(v[:10])}
        for name, v in (
            ("popularity", pop),
            ("ease-merged", ease),
            ("scratch", scratch),
            ("full", full),
        )
    }
    validation = {
        "popularity": {"all": 0.05, "cold-start": 0.05},
        "ease-merged": {"all": 0.15, "cold-start": 0.15},
        "scratch": {"all": 0.1, "cold-start": 0.1},
        "full": {"all": 0.14, "cold-start": 0.16},
    }
    c = compare_to_best_baseline(
        results,
        validation,
        ["popularity", "ease-merged"],
        ["scratch", "full"],
        selection_group="cold-start",
    )
    return results, c


def test_table_has_the_difference_column():
    results, c = results_and_comparison()
    table = comparison_table(results, ["NDCG@10"], comparison=c)
    col = difference_column(c)
    assert col == "Δ NDCG@10 vs best [95% CI]"
    cell = table.set_index(["method", "group"])[col]
    assert cell[("ease-merged", "all")] == "best baseline"
    assert cell[("popularity", "all")] == ""
    assert cell[("full", "cold-start")] == c.differences["full"]["cold-start"].format()
    assert cell[("scratch", "all")].startswith("-0.05")
    # without a comparison the table is as before
    assert col not in comparison_table(results, ["NDCG@10"]).columns


def test_report_names_the_best_baseline_and_says_who_wins(tmp_path):
    results, c = results_and_comparison()
    paths = write_report(
        tmp_path / "run",
        results,
        title="t",
        config={},
        metrics=["NDCG@10"],
        comparison=c,
        findings=["- ease-target: skipped: too big"],
    )
    report = paths["report"].read_text()
    assert "| Δ NDCG@10 vs best [95% CI] |" in report
    assert "| ease-merged | all | 40 | " in report and "best baseline |" in report
    assert "Best baseline per user group (by validation NDCG@10): all ease-merged" in report
    assert "tuned on the cold-start validation users" in report
    assert "- all: the best baseline is ease-merged" in report
    assert "- ease-target: skipped: too big" in report
    saved = json.loads(paths["metrics"].read_text())
    assert saved["comparison"]["best_baseline"] == {
        "all": "ease-merged",
        "cold-start": "ease-merged",
    }
    assert saved["comparison"]["differences"]["scratch"]["all"]["verdict"] == "below"
    assert saved["full"]["all"]["metrics"]["NDCG@10"] == results["full"]["all"]["NDCG@10"]


def test_items_per_user_is_counted_from_the_truth_and_explained(tmp_path):
    import scipy.sparse as sp
    from xcat.evaluate import ranking_metrics
    from xcat.evaluate.report import ITEMS_PER_USER

    rec = np.array([[0, 1], [2, 3], [0, 3]])
    # user 0: 3 held-out items, user 1: 1, user 2: none (skipped, not counted)
    truth = sp.csr_matrix((np.ones(4), ([0, 0, 0, 1], [0, 4, 5, 3])), shape=(3, 6))
    one_each = sp.csr_matrix((np.ones(2), ([0, 1], [0, 2])), shape=(3, 6))
    many = ranking_metrics(rec, truth, ks=(2,))
    assert many.n_users == 2 and many.relevant_per_user == 2.0  # (3 + 1) / 2
    single = ranking_metrics(rec, one_each, ks=(2,))
    assert single.relevant_per_user == 1.0
    results = {"m": {"cold-start": many, "warm": single}}
    table = comparison_table(results, ["HR@2", "Recall@2"], baseline=None)
    assert list(table[ITEMS_PER_USER]) == [2.0, 1.0]
    report = write_report(tmp_path, results, title="t", config={}, metrics=["HR@2", "Recall@2"])[
        "report"
    ].read_text()
    assert "| m | cold-start | 2 | 2.00 |" in report
    assert "compare groups by Recall@K" in report
    # one group only: nothing to explain
    same = write_report(
        tmp_path / "one", {"m": {"warm": single}}, title="t", config={}, metrics=["HR@2"]
    )["report"].read_text()
    assert "compare groups by Recall@K" not in same
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["m"]["cold-start"]["relevant_per_user"] == 2.0


def test_every_reported_method_has_its_own_fixed_colour():
    from xcat.evaluate.report import method_color
    from xcat.transfer import STRATEGIES
    from xcat.workflow import BASELINE_NAMES

    names = [*BASELINE_NAMES, *STRATEGIES]
    colours = [method_color(n) for n in names]
    assert len(set(colours)) == len(names), dict(zip(names, colours, strict=True))
    # a name xcat does not know still gets the same colour in another process
    import subprocess
    import sys

    code = "from xcat.evaluate.report import method_color; print(method_color('my-model'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other.stdout.strip() == method_color("my-model")


def test_plot_labels_axes_and_counts_users_with_fixed_colours():
    import matplotlib.colors as mcolors
    import matplotlib.pyplot as plt
    from xcat.evaluate.report import _figure, method_color

    results, _ = results_and_comparison()
    table = comparison_table(results, ["NDCG@10"])
    flipped = comparison_table(dict(reversed(list(results.items()))), ["NDCG@10"])
    for t in (table, flipped):
        fig = _figure(t, ["NDCG@10"], "t")
        ax = fig.axes[0]
        assert ax.get_xlabel() and ax.get_ylabel() == "mean NDCG@10 per user"
        ticks = [x.get_text() for x in ax.get_xticklabels()]
        assert ticks == ["all\n(40 users)", "cold-start\n(10 users)"]
        handles, labels = ax.get_legend_handles_labels()
        for handle, label in zip(handles, labels, strict=True):
            got = mcolors.to_hex(handle.patches[0].get_facecolor())
            assert got == method_color(label)
        plt.close(fig)
