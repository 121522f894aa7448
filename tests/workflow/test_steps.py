"""The steps of a run as library calls: pretrain, transfer, evaluate, recommend, quickstart."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from xcat.models.io import read_metadata  # noqa: E402
from xcat.workflow import (  # noqa: E402
    BASELINE_NAMES,
    ArgumentError,
    Run,
    evaluate,
    pretrain,
    quickstart,
    recommend,
    transfer,
)
from xcat.workflow.rundir import split_identity  # noqa: E402

QUICK = {"dim": 8, "seed": 0, "device": "cpu", "threads": 1}


def test_pretrain_transfer_evaluate_recommend(tmp_path):
    lines: list[str] = []
    out = tmp_path / "run"
    done = pretrain(out, config={**QUICK, "pretrain_epochs": 1}, echo=lines.append)
    assert lines[0].startswith("CrossDomainData(") and "pretraining on 71,886 source" in lines[0]
    assert str(done) == f"saved {out / 'models' / 'pretrained'} (1 epochs)"
    assert Run.open(out).record == json.loads(json.dumps(done.run.record))
    assert done.run.config.pretrain_epochs == 1
    split = split_identity(*done.run.load_split(), done.run.config)
    assert read_metadata(done.path)["extra"] == {"strategy": "pretrained", "split": split}
    with pytest.raises(ArgumentError, match="already a run directory") as err:
        pretrain(out, config=QUICK)
    assert err.value.argument == "out"

    # mapping without a scratch model trains one first and saves it; then reuses it
    lines.clear()
    mapped = transfer(out, "mapping", epochs=1, mapper_epochs=3, echo=lines.append)
    assert lines == [
        f"mapping: {out / 'models'} has no scratch model; training the target-only model "
        "first (at most 1 epochs)...",
        f"saved {out / 'models' / 'scratch'}",
    ]
    assert "users without target history are scored through the mapping" in str(mapped)
    assert read_metadata(mapped.path)["extra"] == {
        "strategy": "mapping",
        "target_model": "scratch",
        "split": split,
    }
    assert read_metadata(out / "models" / "scratch")["extra"]["split"] == split
    scratch = (out / "models" / "scratch" / "model.safetensors").read_bytes()
    lines.clear()
    transfer(Run.open(out), "mapping", epochs=1, mapper_epochs=3, echo=lines.append)
    assert lines == [
        f"mapping: reusing the target-only model {out / 'models' / 'scratch'} (--epochs does not "
        "apply: it is already trained)"
    ]
    assert (out / "models" / "scratch" / "model.safetensors").read_bytes() == scratch
    with pytest.raises(ArgumentError, match="only the 'freeze' strategy") as err:
        transfer(out, "mapping", freeze=["user_tower"], epochs=1)
    assert err.value.argument == "freeze"
    frozen = transfer(out, "freeze", freeze=["user_tower.mlp"], epochs=1)
    assert str(frozen).splitlines() == [
        frozen.result.spec.describe(),
        f"saved {out / 'models' / 'freeze'}",
    ]
    assert read_metadata(frozen.path)["extra"]["frozen"] == frozen.result.frozen

    report = evaluate(out, (5, 10), command="xcat evaluate --run RUN")
    assert list(report.results) == ["popularity", "scratch", "freeze", "mapping"]
    assert report.metrics == ["HR@10", "NDCG@10", "Recall@10"] and report.sampled_table is None
    assert set(report.table["method"]) == set(report.results)
    assert report.paths == {
        "config": out / "config.json",
        "metrics": out / "metrics.json",
        "report": out / "report.md",
        "plot": out / "metrics.png",
    }
    assert all(p.is_file() for p in report.paths.values())
    assert json.loads((out / "config.json").read_text()) == Run.open(out).record
    assert "- command: `xcat evaluate --run RUN`" in (out / "report.md").read_text()

    recs = recommend(out, "freeze", ["user-000003", "nobody"], n=3)
    assert recs.table["user"].tolist() == ["user-000003"] * 3 + ["nobody"] * 3
    assert recs.table["item"].str.startswith("tgt-").all()
    assert len(recs.notes) == 1 and "nobody" in recs.notes[0]
    with pytest.raises(ArgumentError, match="available: \\['freeze', 'mapping', 'scratch'\\]"):
        recommend(out, "full", ["user-000003"])
    with pytest.raises(ValueError, match="not in the map"):
        recommend(out, "freeze", ["nobody"], unknown="raise")


def test_quickstart_makes_a_run_directory(tmp_path):
    out = tmp_path / "qs"
    config = {**QUICK, "strategies": ("full",), "epochs": 1, "pretrain_epochs": 1}
    result = quickstart(out, config=config, echo=lambda _: None, command="xcat quickstart")
    # every no-transfer baseline (popularity first), then the strategies
    assert list(result.results) == [*BASELINE_NAMES, "scratch", "full"]
    assert result.info["sampled_negatives"] == 0
    run = Run.open(out)
    assert run.record["data"] == "synthetic" and run.record["experiment"]["strategies"] == [
        "scratch",
        "full",
    ]
    assert run.model_names() == ["full", "scratch"]
    # the models quickstart saves record the split the run rebuilds: evaluate scores them
    split = split_identity(*run.load_split(), run.config)
    for name in ("pretrained", "scratch", "full"):
        assert read_metadata(run.model_path(name))["extra"] == {"strategy": name, "split": split}
    with pytest.raises(ArgumentError, match="already a run directory"):
        quickstart(out, config=config)
