"""The run directory: run.json, reopening a run and its split (xcat.workflow.rundir)."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest
from xcat.transfer import STRATEGY_NAMES
from xcat.workflow import ArgumentError, Run, check_new_run_dir, experiment_config, load_data
from xcat.workflow.experiment import ExperimentConfig
from xcat.workflow.rundir import resolved_data_dir


def test_create_save_and_open_round_trip(tmp_path):
    run = Run.create(tmp_path / "run", config={"seed": 3, "dim": None})
    assert run.record == {
        "data": "synthetic",
        "data_dir": None,
        "sample_users": None,
        "experiment": dataclasses.asdict(ExperimentConfig(seed=3)),
    }
    assert not (tmp_path / "run").exists()  # nothing written before save()
    path = run.save()
    assert path == tmp_path / "run" / "run.json"
    assert path.read_text() == json.dumps(run.record, indent=2) + "\n"
    back = Run.open(str(tmp_path / "run"))
    assert back.path == tmp_path / "run" and back.record == json.loads(path.read_text())
    cfg = back.config
    assert cfg.seed == 3 and cfg.dim == 32 and tuple(cfg.strategies) == STRATEGY_NAMES
    assert back.models_dir == tmp_path / "run" / "models"
    assert back.model_path("freeze") == tmp_path / "run" / "models" / "freeze"


def test_runs_and_models_never_mix(tmp_path):
    check_new_run_dir(tmp_path / "absent")
    (tmp_path / "empty" / "models").mkdir(parents=True)
    check_new_run_dir(tmp_path / "empty")  # an empty models folder holds nothing to mix with
    Run.create(tmp_path / "run").save()
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "full" / "models" / "x").mkdir(parents=True)
    for name, message in (
        ("run", "is already a run directory (run.json); choose a new --out"),
        ("model", "is already a saved model (config.json)"),
        ("full", "already holds models"),
    ):
        with pytest.raises(ArgumentError, match=re.escape(message)) as err:
            Run.create(tmp_path / name)
        assert err.value.argument == "out" and str(err.value).startswith(str(tmp_path / name))
    with pytest.raises(ArgumentError, match="has no run.json; create it with `xcat pre") as err:
        Run.open(tmp_path / "model")
    assert err.value.argument == "run"


def test_experiment_config_takes_a_config_or_its_fields():
    cfg = ExperimentConfig(dim=8)
    assert experiment_config(cfg) is cfg
    assert experiment_config() == ExperimentConfig()
    assert experiment_config({"dim": 8, "epochs": None, "threads": None}) == cfg
    with pytest.raises(ValueError, match="strategies: unknown"):
        experiment_config({"strategies": ("full", "bogus")})


def test_load_data_names_a_bad_spec_as_the_data_argument(tmp_path):
    for spec, message in (
        ("amazon5:beauty", "expected amazon5:SOURCE:TARGET, got 'amazon5:beauty'"),
        (str(tmp_path / "absent"), "is neither a known dataset nor a path"),
    ):
        with pytest.raises(ArgumentError, match=message) as err:
            load_data(spec)
        assert err.value.argument == "data"


def test_resolved_data_dir_is_absolute_for_the_named_datasets(tmp_path, monkeypatch):
    assert resolved_data_dir("synthetic", None) is None
    assert resolved_data_dir("synthetic", "rel") == "rel"  # kept as given: not read
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shared").mkdir()
    assert resolved_data_dir("cdrib:video:game", "shared") == str((tmp_path / "shared").resolve())
    with pytest.raises((ValueError, FileNotFoundError)):
        resolved_data_dir("cdrib:video:game", str(tmp_path / "absent"))


def test_a_reopened_run_splits_its_data_again_exactly(tmp_path):
    run = Run.create(tmp_path / "run", config={"seed": 1})
    run.save()
    data, protocol = Run.open(tmp_path / "run").load_split()
    again, protocol2 = run.load_split()
    assert repr(data) == repr(again) and protocol.info == protocol2.info
    assert np.array_equal(protocol.test_all.users, protocol2.test_all.users)
    assert np.array_equal(protocol.test_cold.users, protocol2.test_cold.users)
    assert (protocol.test_all.truth != protocol2.test_all.truth).nnz == 0
    other = Run.create(tmp_path / "other", config={"seed": 2})
    assert not np.array_equal(other.load_split()[1].test_cold.users, protocol.test_cold.users)


def test_model_names_skip_hidden_entries(tmp_path):
    run = Run.create(tmp_path / "run")
    run.save()
    models = run.models_dir
    for name in ("scratch", "full", "pretrained", ".full.tmp-1a2b", ".full.old-3c4d"):
        (models / name).mkdir(parents=True)
    (models / ".ipynb_checkpoints").mkdir()
    (models / ".full.lock").touch()  # a lock file of xcat.workflow.locks
    assert run.model_names() == ["full", "scratch"]
    run.check_model("full")
    with pytest.raises(ArgumentError, match=re.escape("available: ['full', 'scratch']")):
        run.check_model(".full.tmp-1a2b")
