"""No-transfer baselines: registry, selection on validation only, test scored once."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import scipy.sparse as sp
from xcat.data.synthetic import make_cross_category
from xcat.evaluate import TestEvaluator, evaluate_groups, popularity_topn
from xcat.evaluate.ranking import ValidationSet
from xcat.models.linear import EASE
from xcat.transfer.protocol import cold_start_protocol
from xcat.workflow import ExperimentConfig, run_experiment
from xcat.workflow.baselines import (
    BASELINE_NAMES,
    BASELINES,
    MAX_GRID,
    Baseline,
    make_selection,
    run_baselines,
)


@pytest.fixture(scope="module")
def protocol():
    data = make_cross_category(n_users=400, n_source_items=80, n_target_items=50, seed=3)
    return cold_start_protocol(data, order="timestamp", seed=0)


@pytest.fixture(scope="module")
def fitted(protocol):
    evaluator = TestEvaluator(protocol, (5, 10, 20))
    selection = make_selection(protocol)
    return evaluator, selection, run_baselines(protocol, evaluator, selection, echo=lambda s: None)


def perturbed(protocol, seed=0):
    """The same protocol with every test item replaced by a random target item."""
    rng = np.random.default_rng(seed)

    def scramble(test: ValidationSet) -> ValidationSet:
        truth = test.truth.tocoo()
        items = rng.choice(test.candidates, truth.nnz)
        new = sp.csr_matrix((np.ones(truth.nnz, np.float32), (truth.row, items)), shape=truth.shape)
        new.sum_duplicates()
        new.data[:] = 1.0
        return dataclasses.replace(test, truth=new)

    return dataclasses.replace(
        protocol, test_all=scramble(protocol.test_all), test_cold=scramble(protocol.test_cold)
    )


def test_the_registry_and_its_search_budget():
    assert BASELINE_NAMES == (
        "popularity",
        "ease-target",
        "ease-merged",
        "itemknn-target",
        "itemknn-merged",
    )
    for name, b in BASELINES.items():
        assert b.name == name and b.description and b.fit_on in ("target", "merged")
        assert len(b.settings()) == max(len(b.grid), 1) <= MAX_GRID
    assert BASELINES["popularity"].settings() == [{}]
    assert BASELINES["ease-merged"].settings()[0] == {"lam": 50.0}
    assert BASELINES["itemknn-target"].settings()[-1] == {"shrink": 1000.0}
    with pytest.raises(ValueError, match="budget"):
        Baseline("big", "too many", "ease", "target", "lam", (1.0, 2.0, 3.0, 4.0, 5.0))


def test_selection_groups(protocol):
    sel = make_selection(protocol)
    assert sel.group == "cold-start" and set(sel.masks) == {"all", "cold-start", "warm"}
    # cold-start validation users have no target training interaction, warm ones have
    vocab = protocol.data.vocab
    trained = set(vocab.encode(protocol.data.target_train).users.tolist())
    cold = sel.valid.users[sel.masks["cold-start"]]
    warm = sel.valid.users[sel.masks["warm"]]
    assert len(cold) and not trained & set(cold.tolist())
    assert set(warm.tolist()) <= trained
    assert sel.n_users == len(cold)
    np.testing.assert_array_equal(sel.subset.users, cold)
    everyone = make_selection(protocol, "all")
    assert everyone.group == "all" and everyone.subset is everyone.valid
    assert make_selection(protocol, "warm").n_users == len(warm)
    with pytest.raises(ValueError, match="select_on"):
        make_selection(protocol, "coldstart")


def test_every_setting_is_scored_and_the_argmax_is_chosen(fitted):
    _, selection, results = fitted
    assert list(results) == list(BASELINE_NAMES)
    for name, res in results.items():
        spec = BASELINES[name]
        assert res.skipped is None and res.test is not None
        assert res.settings == spec.settings()
        assert len(res.validation) == len(res.fit_seconds) == len(spec.settings())
        scores = [v[selection.group] for v in res.validation]
        assert res.chosen == int(np.argmax(scores))  # ties: the first setting
        assert res.chosen_validation == res.validation[res.chosen]
        assert set(res.test) == {"all", "cold-start", "warm"}
        doc = res.to_json()
        assert json.loads(json.dumps(doc))["chosen"] == res.chosen_setting
    # the merged models see the cold-start users' source history: better than popularity
    merged = results["ease-merged"].chosen_validation["cold-start"]
    assert merged > results["popularity"].chosen_validation["cold-start"]


def test_selection_never_reads_test_items(protocol, fitted):
    _, _, results = fitted
    other = perturbed(protocol)
    assert (other.test_all.truth != protocol.test_all.truth).nnz > 0
    ev = TestEvaluator(other, (5, 10, 20))
    again = run_baselines(other, ev, make_selection(other), echo=lambda s: None)
    for name, res in results.items():
        assert again[name].chosen == res.chosen, name
        assert again[name].validation == res.validation, name  # bit for bit
    # ... while the test scores do move with the test items
    assert again["ease-merged"].test["all"].values != results["ease-merged"].test["all"].values


def test_target_only_ranking_matches_a_full_width_reference(protocol, fitted):
    # EASE on the target columns only, mapped back to item rows, equals EASE on a
    # full-width matrix whose non-target columns are empty (their weights are 0),
    # with popularity for users without any target history.
    evaluator, selection, results = fitted
    res = results["ease-target"]
    vocab, valid = protocol.data.vocab, selection.valid
    t = vocab.encode(protocol.data.target_train)
    x = sp.csr_matrix((np.ones(len(t.users)), (t.users, t.items)), (vocab.n_users, vocab.n_items))
    x.sum_duplicates()
    x.data[:] = 1.0
    for setting, scores in zip(res.settings, res.validation, strict=True):
        model = EASE(setting["lam"]).fit(x)
        top = model.topn(x[valid.users], 10, exclude=valid.exclude, candidates=valid.candidates)
        idx = top.indices.copy()
        empty = np.diff(x[valid.users].indptr) == 0
        idx[empty] = popularity_topn(
            evaluator.train_counts,
            int(empty.sum()),
            10,
            exclude=valid.exclude[empty],
            candidates=valid.candidates,
        ).indices
        want = evaluate_groups(idx, valid.truth, selection.masks, (10,))
        for g, r in want.items():
            assert scores[g] == pytest.approx(r["NDCG@10"], abs=1e-12), (setting, g)
    # cold-start users have no target history: the target-only models rank by popularity
    pop = results["popularity"].test["cold-start"].values
    assert results["ease-target"].test["cold-start"].values == pop
    assert results["itemknn-target"].test["cold-start"].values == pop


def test_ease_over_max_items_is_skipped_with_a_reason(protocol):
    lines = []
    ev = TestEvaluator(protocol, (10,))
    out = run_baselines(
        protocol,
        ev,
        make_selection(protocol),
        ("ease-merged", "popularity"),
        ease_max_items=20,
        echo=lines.append,
    )
    assert list(out) == ["ease-merged", "popularity"]
    skipped = out["ease-merged"]
    assert skipped.test is None and skipped.chosen is None
    assert "max_items=20" in skipped.skipped and "GiB" in skipped.skipped
    assert any("ease-merged: skipped" in line for line in lines)
    with pytest.raises(ValueError, match="names: unknown"):
        run_baselines(protocol, ev, make_selection(protocol), ("ease",))


def test_config_checks_baseline_names_and_the_selection_group():
    with pytest.raises(ValueError, match=r"baselines: unknown \['ease'\]"):
        ExperimentConfig(baselines=("ease",))
    with pytest.raises(ValueError, match="select_on"):
        ExperimentConfig(select_on="test")
    with pytest.raises(ValueError, match="ease_max_items"):
        ExperimentConfig(ease_max_items=0)
    # popularity always runs; a list (run.json) or one name is accepted
    assert ExperimentConfig(baselines=["ease-merged"]).baselines == ("popularity", "ease-merged")
    assert ExperimentConfig(baselines="itemknn-merged").baselines == (
        "popularity",
        "itemknn-merged",
    )
    assert ExperimentConfig().baselines == BASELINE_NAMES


def test_experiment_report_lists_baselines_and_confidence_intervals(tmp_path):
    data = make_cross_category(n_users=400, n_source_items=80, n_target_items=50, seed=3)
    cfg = ExperimentConfig(
        strategies=("scratch", "freeze"),
        pretrain_epochs=1,
        epochs=2,
        threads=2,
        ease_max_items=100,  # the merged catalogue has 130 items: ease-merged is skipped
    )
    lines = []
    result = run_experiment(data, cfg, out_dir=tmp_path / "run", echo=lines.append)
    assert result.info["selection"]["group"] == "cold-start"
    assert "ease-merged" in result.info["baselines_skipped"]
    ran = [b for b in BASELINE_NAMES if b != "ease-merged"]
    assert list(result.results) == [*ran, "scratch", "freeze"]
    c = result.comparison
    assert set(c.best_baseline) == {"all", "cold-start", "warm"}
    for group, best in c.best_baseline.items():
        # the best baseline is the best on validation, never chosen on test
        scores = {b: c.validation[b][group] for b in ran}
        assert best == max(ran, key=lambda b, s=scores: s[b])
        for method in ("scratch", "freeze"):
            ci = c.differences[method][group]
            assert ci.n_resamples == 1000 and ci.low <= ci.mean <= ci.high
            want = np.mean(
                result.results[method][group].per_user["NDCG@10"]
                - result.results[best][group].per_user["NDCG@10"]
            )
            assert ci.mean == pytest.approx(want, abs=1e-12)
    column = "Δ NDCG@10 vs best [95% CI]"
    assert column in result.table.columns
    row = result.table[(result.table.method == "freeze") & (result.table.group == "all")]
    assert row[column].iloc[0] == c.differences["freeze"]["all"].format()

    report = (tmp_path / "run" / "report.md").read_text()
    for name in ran:
        assert f"| {name} | cold-start |" in report and f"- {name}: " in report
    assert "- ease-merged: skipped: 130 items" in report
    assert column in report and "Best baseline per user group" in report
    assert "validation users" in report
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["comparison"]["selection_group"] == "cold-start"
    assert metrics["comparison"]["differences"]["freeze"]["warm"]["verdict"] in (
        "above",
        "below",
        "tie",
    )
    assert metrics["baselines"]["ease-merged"]["skipped"].startswith("130 items")
    assert len(metrics["baselines"]["ease-target"]["grid"]) == 4
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["experiment"]["select_on"] == "auto"
    assert config["info"]["selection"]["group"] == "cold-start"


def test_baselines_on_a_slice_of_real_amazon_data(data_dir):
    # Beauty -> Toys, 300 users per domain besides the overlapping ones. The ItemKNN
    # grids and popularity run in full; EASE (8,000+ items here) is the skipped path.
    from xcat.workflow import load_data

    data = load_data("amazon5:beauty:toys", data_dir, seed=0, sample_users=300)
    protocol = ExperimentConfig().split(data)
    ev = TestEvaluator(protocol, (10, 20))
    sel = make_selection(protocol)
    assert sel.group == "cold-start"
    out = run_baselines(protocol, ev, sel, ease_max_items=1000, echo=lambda s: None)
    assert out["ease-target"].skipped and out["ease-merged"].skipped
    for name in ("popularity", "itemknn-target", "itemknn-merged"):
        res = out[name]
        scores = [v["cold-start"] for v in res.validation]
        assert res.chosen == int(np.argmax(scores))
    # source histories carry signal to the cold-start users: above popularity on test
    knn = out["itemknn-merged"].test["cold-start"]["NDCG@10"]
    assert knn > out["popularity"].test["cold-start"]["NDCG@10"]
    # and perturbing the test items changes no choice and no validation score
    other = perturbed(protocol, seed=1)
    again = run_baselines(
        other,
        TestEvaluator(other, (10, 20)),
        make_selection(other),
        ("itemknn-merged",),
        echo=lambda s: None,
    )
    assert again["itemknn-merged"].chosen == out["itemknn-merged"].chosen
    assert again["itemknn-merged"].validation == out["itemknn-merged"].validation
