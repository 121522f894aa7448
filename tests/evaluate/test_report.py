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
