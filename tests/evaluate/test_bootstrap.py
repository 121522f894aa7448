"""Paired bootstrap CI of a per-user metric difference: hand-computed and large-sample checks."""

from __future__ import annotations

import numpy as np
import pytest
from xcat.evaluate.bootstrap import BootstrapCI, paired_bootstrap


def test_hand_computed_interval_of_a_four_user_case():
    # d = a - b = [0, 0, 0, 1]: a resample's mean is Binomial(4, 1/4) / 4, so
    # P(mean = 0) = (3/4)^4 = 0.316 > 0.025, P(mean <= 0.5) = 0.949 < 0.975 and
    # P(mean <= 0.75) = 0.996: the 95% percentile interval is [0, 0.75].
    a = np.array([0.5, 0.2, 0.0, 1.0])
    b = np.array([0.5, 0.2, 0.0, 0.0])
    ci = paired_bootstrap(a, b, n_resamples=10_000, seed=3)
    assert isinstance(ci, BootstrapCI)
    assert ci.mean == 0.25
    assert (ci.low, ci.high) == (0.0, 0.75)
    assert not ci.excludes_zero
    # bootstrap standard error ~ sqrt(var(d) / n) with the plug-in variance 3/16
    assert ci.std_error == pytest.approx(np.sqrt(3 / 16 / 4), rel=0.05)
    assert (ci.n_users, ci.n_resamples, ci.seed, ci.confidence) == (4, 10_000, 3, 0.95)


def test_interval_is_the_percentile_of_resampled_means():
    # the documented procedure, written out: seeded positions in chunks of 64 resamples
    rng = np.random.default_rng(7)
    a, b = rng.random(30), rng.random(30)
    ci = paired_bootstrap(a, b, n_resamples=200, confidence=0.9, seed=11)
    draw = np.random.default_rng(11)
    means = np.concatenate(
        [
            (a - b)[draw.integers(0, 30, size=(min(64, 200 - s), 30))].mean(axis=1)
            for s in range(0, 200, 64)
        ]
    )
    alpha = (1 - 0.9) / 2
    assert (ci.low, ci.high) == tuple(np.quantile(means, [alpha, 1 - alpha]))
    assert ci.mean == pytest.approx((a - b).mean(), abs=1e-15)
    # same seed, same answer; another seed, another draw
    assert paired_bootstrap(a, b, n_resamples=200, confidence=0.9, seed=11) == ci
    assert paired_bootstrap(a, b, n_resamples=200, confidence=0.9, seed=12) != ci


def test_identical_arrays_give_a_zero_interval():
    x = np.random.default_rng(0).random(5000)
    ci = paired_bootstrap(x, x.copy())
    assert (ci.mean, ci.low, ci.high, ci.std_error) == (0.0, 0.0, 0.0, 0.0)
    assert not ci.excludes_zero
    one = paired_bootstrap([0.3], [0.1])  # a single user: every resample is that user
    assert one.low == one.high == pytest.approx(0.2)


def test_a_known_shift_lies_inside_the_interval_and_is_significant():
    rng = np.random.default_rng(1)
    base = rng.random(20_000)
    a = np.clip(base + 0.05 + rng.normal(0, 0.2, base.size), -5, 5)
    b = base
    ci = paired_bootstrap(a, b)
    assert ci.low < 0.05 < ci.high
    assert ci.excludes_zero and ci.low > 0
    # the interval's half-width is about 1.96 standard errors of the mean difference
    se = (a - b).std(ddof=1) / np.sqrt(a.size)
    assert ci.high - ci.low == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_coverage_is_close_to_the_nominal_level():
    # repeated samples of 200 users with true mean difference 0.1: the 90% interval
    # should contain 0.1 in about 90% of 300 repetitions (binomial sd ~1.7%)
    rng = np.random.default_rng(2)
    hits = 0
    for rep in range(300):
        b = rng.random(200)
        a = b + rng.normal(0.1, 0.3, 200)
        ci = paired_bootstrap(a, b, n_resamples=400, confidence=0.9, seed=rep)
        hits += ci.low <= 0.1 <= ci.high
    assert 0.83 <= hits / 300 <= 0.96


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"a": [[1.0]], "b": [[1.0]]}, "a: expected a 1-D array"),
        ({"a": ["x"], "b": [1.0]}, "a: expected a 1-D array"),
        ({"a": [1.0, 2.0], "b": [1.0]}, "b: has 1 values but a has 2"),
        ({"a": [], "b": []}, "a: expected at least one user"),
        ({"a": [np.nan], "b": [1.0]}, "a: has non-finite"),
        ({"a": [1.0], "b": [np.inf]}, "b: has non-finite"),
        ({"n_resamples": 0}, "n_resamples: expected a positive integer"),
        ({"n_resamples": 1.5}, "n_resamples"),
        ({"confidence": 1.0}, r"confidence: expected a number in \(0, 1\)"),
        ({"confidence": 0.0}, "confidence"),
        ({"seed": -1}, "seed: expected a non-negative integer"),
        ({"seed": True}, "seed"),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, match):
    args = {"a": [1.0, 2.0], "b": [0.0, 1.0]} | kwargs
    with pytest.raises(ValueError, match=match):
        paired_bootstrap(**args)


def _metrics(per_user_ndcg):
    from xcat.evaluate import RankingMetrics

    v = np.asarray(per_user_ndcg, dtype=np.float64)
    return RankingMetrics({"NDCG@10": float(v.mean())}, len(v), 0, {"NDCG@10": v})


def test_format_verdict_and_json_of_an_interval():
    ci = BootstrapCI(0.004, -0.008, 0.016, 0.006, 0.95, 10, 1000, 0)
    assert ci.format() == "+0.0040 [-0.0080, +0.0160]" and ci.verdict == "tie"
    assert ci.format(3) == "+0.004 [-0.008, +0.016]"
    assert BootstrapCI(-0.02, -0.03, -0.01, 0.1, 0.95, 3, 9, 0).verdict == "below"
    assert BootstrapCI(0.02, 0.01, 0.03, 0.1, 0.95, 3, 9, 0).verdict == "above"
    assert ci.to_json()["verdict"] == "tie" and ci.to_json()["low"] == -0.008


def test_best_baseline_is_chosen_on_validation_not_on_test():
    from xcat.evaluate import compare_to_best_baseline

    rng = np.random.default_rng(0)
    n = 50
    base_a = rng.random(n) * 0.2  # the better baseline on test...
    base_b = base_a - 0.05  # ...but b has the better validation score
    method = base_b + 0.01
    results = {
        "a": {"all": _metrics(base_a), "cold": _metrics(base_a[:20])},
        "b": {"all": _metrics(base_b), "cold": _metrics(base_b[:20])},
        "m": {"all": _metrics(method), "cold": _metrics(method[:20])},
        "worse": {"all": _metrics(method - 0.2), "cold": _metrics(method[:20] - 0.2)},
    }
    validation = {
        "a": {"all": 0.1, "cold": 0.3},
        "b": {"all": 0.2, "cold": 0.2},
        "m": {"all": 0.5},  # no cold validation group: its selection group's score counts
        "worse": {"all": 0.1, "cold": 0.9},
    }
    c = compare_to_best_baseline(
        results, validation, ["a", "b"], ["m", "worse"], selection_group="all", seed=4
    )
    assert c.best_baseline == {"all": "b", "cold": "a"}
    assert c.best_method == {"all": "m", "cold": "worse"}
    want = paired_bootstrap(method, base_b, n_resamples=1000, seed=4)
    assert c.differences["m"]["all"] == want
    assert c.differences["m"]["all"].verdict == "above"
    assert c.differences["m"]["cold"].verdict == "below"  # vs a: -0.04 on every user
    lines = c.lines()
    assert lines[0].startswith("all: the best baseline is b") and "beats b" in lines[0]
    assert "worse" in lines[1] and "loses to a (the 95% CI is entirely below 0)" in lines[1]
    doc = c.to_json()
    assert doc["differences"]["m"]["all"]["verdict"] == "above" and doc["summary"] == lines
    tie = compare_to_best_baseline(
        {"a": results["a"], "m": results["a"]},
        {"a": {"all": 0.1}, "m": {"all": 0.1}},
        ["a"],
        ["m"],
    )
    assert "is not distinguishable from a (the 95% CI contains 0)" in tie.lines()[0]


def test_comparison_errors_name_the_argument():
    from xcat.evaluate import compare_to_best_baseline

    r = {"a": {"all": _metrics([0.1, 0.2])}, "m": {"all": _metrics([0.1])}}
    v = {"a": {"all": 0.1}, "m": {"all": 0.1}}
    with pytest.raises(ValueError, match="baselines: expected at least one"):
        compare_to_best_baseline(r, v, [], ["m"])
    with pytest.raises(ValueError, match="results: has no method 'x'"):
        compare_to_best_baseline(r, v, ["a"], ["x"])
    with pytest.raises(ValueError, match="validation: has no score for 'm'"):
        compare_to_best_baseline(r, {"a": {"all": 0.1}}, ["a"], ["m"])
    with pytest.raises(ValueError, match="pair only within one evaluator"):
        compare_to_best_baseline(r, v, ["a"], ["m"])
    with pytest.raises(ValueError, match="metric: 'HR@10'"):
        compare_to_best_baseline(r, v, ["a"], [], metric="HR@10")
