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
