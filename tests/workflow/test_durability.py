"""Runs and models under stress: concurrent writers, other splits, Ctrl-C (issue 12)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

pytest.importorskip("torch")

from xcat.models import load, save  # noqa: E402
from xcat.models.io import read_metadata  # noqa: E402
from xcat.workflow import ArgumentError, Run, evaluate, pretrain, quickstart  # noqa: E402
from xcat.workflow.experiment import ExperimentInterrupted  # noqa: E402
from xcat.workflow.locks import DirectoryBusyError, lock_file, writing  # noqa: E402
from xcat.workflow.rundir import check_split, split_identity  # noqa: E402
from xcat.workflow.steps import UncheckedSplitWarning  # noqa: E402

QUICK = {"dim": 4, "device": "cpu", "threads": 1, "pretrain_epochs": 1, "epochs": 1}

# ---------------------------------------------------------------- locks


def test_the_lock_is_exclusive_and_released_after_an_exception(tmp_path):
    run = tmp_path / "runs" / "r"
    assert lock_file(run) == (tmp_path / "runs" / ".r.lock").resolve()
    with writing(run, "run") as path:
        assert path == lock_file(run) and path.is_file()
        assert not run.exists()  # the lock lies beside the directory, not in it
        # a second writer, in this process too, fails at once instead of waiting
        t = time.monotonic()
        with pytest.raises(DirectoryBusyError) as err, writing(run / ".." / "r", "run"):
            pass
        assert time.monotonic() - t < 5
        assert err.value.argument == "run" and err.value.path == run / ".." / "r"
        assert "another xcat process is writing this directory" in str(err.value)
        assert isinstance(err.value, ArgumentError)  # the CLI shows it as a bad --run
    with pytest.raises(RuntimeError, match="boom"), writing(run):
        raise RuntimeError("boom")
    with writing(run):  # released by the exception: taken again
        pass


def test_a_failed_step_releases_the_run(tmp_path, monkeypatch):
    import xcat.transfer

    def fail(*args, **kwargs):
        raise RuntimeError("injected")

    monkeypatch.setattr(xcat.transfer, "pretrain", fail)
    with pytest.raises(RuntimeError, match="injected"):
        pretrain(tmp_path / "run", config=QUICK, echo=lambda _: None)
    with writing(tmp_path / "run"):
        with pytest.raises(DirectoryBusyError, match="another xcat process"):
            pretrain(tmp_path / "run", config=QUICK, echo=lambda _: None)


# A process running `xcat ARGS...` with `MODULE.NAME` held until GATE/release exists:
# the one that gets the run (or model) first holds its lock while it waits there.
WRITER = textwrap.dedent(
    """
    import importlib, os, pathlib, sys, time
    module, name, gate = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    mod = importlib.import_module(module)
    real = getattr(mod, name)
    def held(*args, **kwargs):
        (gate / f"started-{os.getpid()}").touch()
        deadline = time.monotonic() + 120
        while not (gate / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return real(*args, **kwargs)
    setattr(mod, name, held)
    from xcat.cli import main
    main(sys.argv[4:], prog_name="xcat")
    """
)


def race(tmp_path, hook, *args):
    """Start two ``xcat ARGS`` processes together; return [(returncode, stderr)] and the starts."""
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", WRITER, *hook, str(gate), *map(str, args)]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 180
        # until one writer gave up, or both got in (the bug: nothing stops the second)
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs) or len(list(gate.glob("started-*"))) > 1:
                break
            time.sleep(0.1)
        (gate / "release").touch()
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    started = len(list(gate.glob("started-*")))  # writers that got past the lock
    return [(p.returncode, err) for p, (_, err) in zip(procs, outs, strict=True)], started


def check_one_wins(outcomes, started, directory, option):
    assert started == 1, f"{started} writers got in: {outcomes}"
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes  # 2: click's bad-option exit
    loser = next(err for code, err in outcomes if code == 2)
    assert f"Invalid value for {option}: {directory}: another xcat process is writing" in loser
    assert "Traceback" not in loser


def test_two_processes_writing_one_run_directory(tmp_path):
    run = tmp_path / "run"
    outcomes, started = race(
        tmp_path,
        ("xcat.transfer", "pretrain"),
        *("pretrain", "--out", run, "--epochs", 1, "--dim", 4, "--device", "cpu"),
        *("--threads", 1),
    )
    check_one_wins(outcomes, started, run, "--out")
    assert Run.open(run).model_names() == []  # one pretrained model, nothing mixed in
    assert read_metadata(run / "models" / "pretrained")["extra"]["strategy"] == "pretrained"


def test_two_processes_writing_one_model_directory(tmp_path):
    from models_synthetic import train_freeze_with_timestamps, write_feedback_events

    model, _ = train_freeze_with_timestamps()
    save(model, tmp_path / "model", extra={"strategy": "freeze"})
    events, _ = write_feedback_events(tmp_path)
    out = tmp_path / "updated"
    outcomes, started = race(
        tmp_path,
        ("xcat.train.update", "update"),
        *("feedback", "--model", tmp_path / "model", "--events", events, "--out", out),
        *("--steps", 2, "--device", "cpu", "--threads", 1),
    )
    check_one_wins(outcomes, started, out, "--out")
    assert read_metadata(out)["extra"]["feedback"]["steps"] == 2
    assert sorted(p.name for p in tmp_path.glob(".updated*")) == [".updated.lock"]


# ---------------------------------------------------------------- models bound to their split


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two pretrained runs of the synthetic data, seeds 0 and 1."""
    root = tmp_path_factory.mktemp("runs")
    for seed in (0, 1):
        pretrain(root / f"seed{seed}", config={**QUICK, "seed": seed}, echo=lambda _: None)
    return root


def test_saved_models_record_their_split(two_runs):
    run = Run.open(two_runs / "seed0")
    data, protocol = run.load_split()
    identity = split_identity(data, protocol, run.config)
    assert read_metadata(run.model_path("pretrained"))["extra"]["split"] == identity
    assert identity["protocol"] == "cold-start" and identity["seed"] == 0
    assert identity["params"] == {"test_fraction": 0.2, "valid_fraction": 0.1, "order": "auto"}
    assert check_split(run.model_path("pretrained"), identity) is None
    # the same split rebuilt has the same identity; another seed's does not
    other = Run.open(two_runs / "seed1")
    other_identity = split_identity(*other.load_split(), other.config)
    assert other_identity != identity
    assert all(other_identity[k] != identity[k] for k in ("data", "seed", "split"))
    # the fingerprints count rows, not their order
    shuffled = data.source.data.sample(frac=1.0, random_state=0)
    assert not shuffled.index.equals(data.source.data.index)
    again = type(data)(type(data.source)(shuffled), data.target, data.name)
    assert split_identity(again, protocol, run.config)["data"] == identity["data"]
    fewer = type(data)(type(data.source)(shuffled.iloc[1:]), data.target, data.name)
    assert split_identity(fewer, protocol, run.config)["data"] != identity["data"]


def test_evaluate_refuses_a_model_of_another_split(two_runs, tmp_path):
    run = tmp_path / "seed0"
    shutil.copytree(two_runs / "seed0", run)
    shutil.copytree(two_runs / "seed1" / "models" / "pretrained", run / "models" / "other")
    with pytest.raises(ValueError, match="was trained on another split than this run's") as err:
        evaluate(run, (10,))
    message = str(err.value)
    assert message.startswith(f"{run / 'models' / 'other'} was trained on another split")
    assert "(different data, seed, split)" in message
    model_split = read_metadata(run / "models" / "other")["extra"]["split"]
    run_split = read_metadata(run / "models" / "pretrained")["extra"]["split"]
    assert json.dumps(model_split, sort_keys=True) in message
    assert json.dumps(run_split, sort_keys=True) in message
    assert not (run / "metrics.json").exists()  # nothing written

    # a model saved before models recorded their split: scored, with a warning
    shutil.rmtree(run / "models" / "other")
    save(load(run / "models" / "pretrained"), run / "models" / "legacy", extra={"strategy": "x"})
    with pytest.warns(UncheckedSplitWarning, match="does not record the split") as caught:
        done = evaluate(run, (10,))
    assert len(caught) == 1 and str(run / "models" / "legacy") in str(caught[0].message)
    assert list(done.results) == ["popularity", "legacy"] and len(done.notes) == 1
    assert f"- warning: {done.notes[0]}" in (run / "report.md").read_text()


def test_a_model_updated_with_feedback_keeps_its_split(two_runs, tmp_path):
    from xcat.workflow import feedback

    run = tmp_path / "seed0"
    shutil.copytree(two_runs / "seed0", run)
    events = tmp_path / "events.csv"
    events.write_text(
        "user,item,category,timestamp\n"
        "user-000001,tgt-00003,clothing,2026-01-01T00:00:00Z\n"
        "new-customer,tgt-00003,clothing,2026-01-01T00:00:00Z\n"
    )
    out = run / "models" / "updated"
    feedback(run / "models" / "pretrained", events, out, steps=2, holdout=0, device="cpu")
    split = read_metadata(run / "models" / "pretrained")["extra"]["split"]
    assert read_metadata(out)["extra"]["split"] == split
    assert (run / "models" / ".updated.lock").is_file()  # beside the model, not a model
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncheckedSplitWarning)
        done = evaluate(run, (10,))
    assert list(done.results) == ["popularity", "updated"] and done.notes == []


def test_evaluate_warns_on_the_command_line(two_runs, tmp_path):
    from click.testing import CliRunner
    from xcat.cli import main

    run = tmp_path / "seed0"
    shutil.copytree(two_runs / "seed0", run)
    save(load(run / "models" / "pretrained"), run / "models" / "legacy")
    result = CliRunner().invoke(main, ["evaluate", "--run", str(run), "--k", "10"])
    assert result.exit_code == 0, result.output
    assert f"warning: {run / 'models' / 'legacy'} does not record the split" in result.output
    shutil.copytree(two_runs / "seed1" / "models" / "pretrained", run / "models" / "other")
    result = CliRunner().invoke(main, ["evaluate", "--run", str(run), "--k", "10"])
    assert result.exit_code == 1
    assert f"Error: {run / 'models' / 'other'} was trained on another split" in result.output


def test_evaluate_skips_folders_that_are_not_models(two_runs, tmp_path):
    from click.testing import CliRunner
    from xcat.cli import main

    run = tmp_path / "seed0"
    shutil.copytree(two_runs / "seed0", run)
    models = run / "models"
    pretrained = models / "pretrained"
    save(load(pretrained), models / "copy", extra=read_metadata(pretrained)["extra"])
    (models / "a-empty").mkdir()
    (models / "b-notes").mkdir()
    (models / "b-notes" / "README.txt").write_text("not a model")
    (models / "c-other").mkdir()
    (models / "c-other" / "config.json").write_text('{"model_type": "bert"}')
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncheckedSplitWarning)
        done = evaluate(run, (10,))
    assert list(done.results) == ["popularity", "copy"]
    assert done.notes == [
        f"skipped {models / 'a-empty'}: not an xcat model (no config.json)",
        f"skipped {models / 'b-notes'}: not an xcat model (no config.json)",
        f"skipped {models / 'c-other'}: not an xcat model (config.json has format None, not an "
        "xcat one)",
    ]
    report = (run / "report.md").read_text()
    assert all(f"- warning: {note}" in report for note in done.notes)
    result = CliRunner().invoke(main, ["evaluate", "--run", str(run), "--k", "10"])
    assert result.exit_code == 0, result.output
    assert f"warning: skipped {models / 'a-empty'}: not an xcat model" in result.output

    # a damaged model is an error, not skipped
    shutil.copytree(models / "copy", models / "broken")
    (models / "broken" / "config.json").write_text('{"format": "xcat.TwoTower", "form')
    with pytest.raises(ValueError, match=r"broken/config.json: not an xcat model \(not valid JSON"):
        evaluate(run, (10,))


# ---------------------------------------------------------------- Ctrl-C


def test_one_ctrl_c_stops_quickstart_and_marks_the_run(tmp_path, monkeypatch):
    import xcat.train.loop
    import xcat.transfer

    started: list[str] = []
    real_transfer, real_step = xcat.transfer.transfer, xcat.train.loop.train_step

    def transfer(name, *args, **kwargs):
        started.append(name)
        return real_transfer(name, *args, **kwargs)

    def train_step(*args, **kwargs):
        if started[-1:] == ["full"]:  # Ctrl-C in the first step of `full`
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(xcat.transfer, "transfer", transfer)
    monkeypatch.setattr(xcat.train.loop, "train_step", train_step)
    out = tmp_path / "run"
    config = {**QUICK, "strategies": ("scratch", "full", "freeze"), "baselines": ("popularity",)}
    lines: list[str] = []
    with pytest.raises(ExperimentInterrupted) as stop:
        quickstart(out, config=config, echo=lines.append)
    assert isinstance(stop.value, KeyboardInterrupt)
    assert started == ["scratch", "full"]  # freeze never ran on the truncated model
    mark = {"during": "transfer: full", "completed": ["scratch"], "not_run": ["full", "freeze"]}
    assert stop.value.interrupted == mark
    assert any("interrupted (Ctrl-C) during transfer: full" in line for line in lines)
    # what was complete is saved; the strategy cut short is not
    run = Run.open(out)
    assert run.record["interrupted"] == mark and run.model_names() == ["scratch"]
    assert run.model_path("pretrained").is_dir()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] == mark and "scratch" in metrics and "full" not in metrics
    assert json.loads((out / "config.json").read_text())["info"]["interrupted"] == mark
    assert "interrupted (Ctrl-C) during transfer: full" in (out / "report.md").read_text()
    # evaluating the run later keeps the mark
    done = evaluate(out, (10,))
    assert "interrupted (Ctrl-C)" in done.notes[0]
    assert json.loads((out / "metrics.json").read_text())["interrupted"] == mark
    assert "interrupted (Ctrl-C) during transfer: full" in (out / "report.md").read_text()
