"""End to end: the xcat CLI on the synthetic default and on a slice of real data."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner
from xcat.cli import main


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def cold_ndcg(run_dir, method):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return metrics[method]["cold-start"]["metrics"]["NDCG@10"]


def check_run_directory(run_dir):
    for name in ("config.json", "metrics.json", "report.md", "metrics.png", "recommendations.csv"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"popularity", "scratch", "full", "freeze", "reinit", "mapping"} <= set(metrics)
    # besides the methods: the baselines' selection record and the comparison with them
    baselines, comparison = metrics.pop("baselines"), metrics.pop("comparison")
    for method in metrics.values():
        assert set(method) == {"all", "cold-start", "warm"}
        assert method["all"]["users"] == method["cold-start"]["users"] + method["warm"]["users"]
    ran = [b for b, record in baselines.items() if not record["skipped"]]
    assert set(ran) <= set(metrics) and "popularity" in ran
    assert set(comparison["best_baseline"].values()) <= set(ran)
    assert set(comparison["differences"]["scratch"]) == {"all", "cold-start", "warm"}
    assert (run_dir / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    report = (run_dir / "report.md").read_text()
    assert "| scratch | cold-start |" in report and "gain % NDCG@10" in report
    assert "Δ NDCG@10 vs best [95% CI]" in report and "Best baseline per user group" in report
    for name in baselines:
        assert f"- {name}: " in report, name
    recs = pd.read_csv(run_dir / "recommendations.csv")
    assert len(recs) > 0 and {"user", "rank", "item", "score", "because"} <= set(recs.columns)
    assert (run_dir / "models" / "freeze" / "model.safetensors").is_file()


def test_quickstart_on_the_builtin_synthetic_data(tmp_path):
    out = run_cli("quickstart", "--out", tmp_path / "run", "--threads", 2)
    assert "Target test, full ranking" in out and "Example recommendations" in out
    assert "Against the best baseline of each user group" in out
    assert "cold-start: the best baseline is" in out
    check_run_directory(tmp_path / "run")
    # every baseline ran, selected on the cold-start validation users; the whole grid
    # search on the synthetic catalogue (2,234 items) takes about 5 s on 2 idle cores (the
    # bound leaves room for a loaded machine: OpenBLAS threads then wait on each other)
    info = json.loads((tmp_path / "run" / "config.json").read_text())["info"]
    assert info["selection"]["group"] == "cold-start" and not info["baselines_skipped"]
    assert info["baseline_seconds"] < 120
    # the synthetic shop has tastes shared across categories: transfer must help cold-start users
    assert cold_ndcg(tmp_path / "run", "full") > 1.3 * cold_ndcg(tmp_path / "run", "scratch")
    # the quickstart directory is a run directory: feedback into it, then evaluate and recommend
    run = tmp_path / "run"
    events = tmp_path / "events.csv"
    events.write_text(
        "user,item,category,timestamp\n"
        "user-000001,tgt-00003,clothing,2026-01-01T00:00:00Z\n"
        "new-customer,tgt-00003,clothing,2026-01-01T00:00:00Z\n"
        "new-customer,tgt-brand-new,clothing,2026-01-02T00:00:00Z\n"
    )
    out = run_cli(
        "feedback",
        "--model",
        run / "models" / "freeze",
        "--events",
        events,
        "--out",
        run / "models" / "freeze-updated",
        "--steps",
        5,
        "--threads",
        2,
    )
    assert "new users: 1" in out and "new items: 1" in out
    out = run_cli("evaluate", "--run", run)
    assert "freeze-updated" in out
    out = run_cli(
        "recommend", "--run", run, "--strategy", "freeze-updated", "--user", "new-customer", "-n", 3
    )
    rows = [line for line in out.splitlines() if "new-customer" in line]
    assert len(rows) == 3 and not any("tgt-00003 " in r or "tgt-brand-new" in r for r in rows)


def test_quickstart_on_a_slice_of_real_amazon_data(tmp_path, data_dir):
    run_dir = tmp_path / "amazon"
    run_cli(
        "quickstart",
        "--data",
        "amazon5:beauty:toys",
        "--data-dir",
        data_dir,
        "--sample-users",
        1500,
        # EASE on this slice's 18,903 items takes minutes per setting; the ItemKNN grids
        # and popularity keep the test quick (tests/workflow/test_baselines.py covers EASE)
        "--baselines",
        "itemknn-target,itemknn-merged",
        "--epochs",
        6,
        "--pretrain-epochs",
        4,
        "--threads",
        2,
        "--out",
        run_dir,
    )
    check_run_directory(run_dir)
    for strategy in ("full", "freeze", "reinit"):
        assert cold_ndcg(run_dir, strategy) > cold_ndcg(run_dir, "scratch"), strategy


def test_pretrain_transfer_evaluate_recommend_commands(tmp_path):
    run_dir = tmp_path / "steps"
    run_cli("pretrain", "--out", run_dir, "--epochs", 2, "--threads", 2)
    assert (run_dir / "run.json").is_file()
    for strategy in ("scratch", "freeze"):
        run_cli("transfer", "--run", run_dir, "--strategy", strategy, "--epochs", 3)
    out = run_cli("evaluate", "--run", run_dir)
    assert "freeze" in out and (run_dir / "report.md").is_file()
    out = run_cli(
        "recommend", "--run", run_dir, "--strategy", "freeze", "--user", "user-000003", "-n", 3
    )
    assert "user-000003" in out and "tgt-" in out
    # cross-category similar items of a source item, from the saved recommender
    out = run_cli("similar", "--run", run_dir, "--strategy", "freeze", "--item", "src-00003")
    rows = [line.split() for line in out.splitlines()[1:]]
    assert len(rows) == 10 and all(r[0] == "src-00003" and r[2].startswith("tgt-") for r in rows)
    # xcat serve wants a recommender, and says where the run's are
    result = CliRunner().invoke(main, ["serve", "--model", str(run_dir)])
    assert result.exit_code == 2 and "recommenders/" in result.output and "freeze" in result.output


def test_bad_data_spec_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default --out (and its lock file) lands under ./runs
    result = CliRunner().invoke(main, ["quickstart", "--data", "amazon5:beauty"])
    assert result.exit_code != 0
    assert "expected amazon5:SOURCE:TARGET" in result.output


def test_runs_never_mix_and_cutoffs_are_checked(tmp_path):
    run_cli("pretrain", "--out", tmp_path / "run", "--epochs", 1, "--threads", 2)
    for command in ("pretrain", "quickstart"):
        result = CliRunner().invoke(main, [command, "--out", str(tmp_path / "run")])
        assert result.exit_code != 0 and "already a run directory" in result.output
    result = CliRunner().invoke(main, ["evaluate", "--run", str(tmp_path / "run"), "--k", "10,x"])
    assert result.exit_code != 0 and "positive integers" in result.output


def test_quickstart_baselines_and_select_on_options(tmp_path):
    result = CliRunner().invoke(main, ["quickstart", "--baselines", "ease-merged,ease"])
    assert result.exit_code != 0 and "unknown ['ease']" in result.output
    assert "itemknn-merged" in result.output  # the choices are listed
    result = CliRunner().invoke(main, ["quickstart", "--select-on", "test"])
    assert result.exit_code != 0 and "--select-on" in result.output
    out = run_cli(
        "quickstart",
        "--out",
        tmp_path / "run",
        "--strategies",
        "scratch",
        "--baselines",
        "itemknn-merged",
        "--select-on",
        "all",
        "--epochs",
        1,
        "--pretrain-epochs",
        1,
        "--threads",
        2,
    )
    assert "selected on the all validation users" in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert list(metrics["baselines"]) == ["popularity", "itemknn-merged"]
    assert metrics["comparison"]["selection_group"] == "all"
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["experiment"]["select_on"] == "all"
    assert run["experiment"]["baselines"] == ["popularity", "itemknn-merged"]


def test_own_csv_through_the_cli_end_to_end(tmp_path, monkeypatch):
    # one's own log: a CSV with other column names, split by category value on the CLI
    from xcat.data.synthetic import make_cross_category

    data = make_cross_category(seed=0)
    frame = pd.concat([data.source.data, data.target.data], ignore_index=True)
    frame = frame.rename(columns={"user": "customer", "item": "sku", "category": "dept"})
    frame["ts"] = frame.pop("timestamp").astype("int64") // 10**9
    log = tmp_path / "shop.csv"
    frame.to_csv(log, index=False)
    cols = ["--user-col", "customer", "--item-col", "sku", "--category-col", "dept"]
    cols += ["--timestamp-col", "ts"]
    # without the domains: one line naming the option and listing the categories
    nowhere = str(tmp_path / "x")
    result = CliRunner().invoke(main, ["pretrain", "--data", str(log), "--out", nowhere, *cols])
    assert result.exit_code == 2, result.output
    assert "--source" in result.output and "'electronics', 'clothing'" in result.output
    # an unknown category is named
    result = CliRunner().invoke(
        main,
        ["pretrain", "--data", str(log), "--source", "garden", "--target", "clothing", "--out",
         nowhere, *cols],
    )  # fmt: skip
    assert result.exit_code != 0 and "garden" in result.output
    run_dir = tmp_path / "own"
    domains = ["--source", "electronics", "--target", "clothing"]
    run_cli("pretrain", "--data", log, *domains, *cols, "--out", run_dir, "--epochs", 1,
            "--threads", 2)  # fmt: skip
    record = json.loads((run_dir / "run.json").read_text())
    assert record["data"] == str(log.resolve()) and record["table"]["source"] == ["electronics"]
    # the run reloads its data from anywhere: the path and the columns are in run.json
    monkeypatch.chdir(tmp_path.parent)
    run_cli("transfer", "--run", run_dir, "--strategy", "freeze", "--epochs", 1)
    out = run_cli("evaluate", "--run", run_dir)
    assert "freeze" in out
    out = run_cli("recommend", "--run", run_dir, "--strategy", "freeze", "--user", "user-000003")
    assert "user-000003" in out and "tgt-" in out
