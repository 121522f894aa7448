"""``xcat feedback`` end to end: the command's output, files and one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from models_synthetic import train_freeze_with_timestamps, write_feedback_events  # noqa: E402
from xcat.cli.main import main  # noqa: E402
from xcat.models import Vocab, load, save  # noqa: E402
from xcat.train import TrainConfig  # noqa: E402
from xcat.transfer import TransferData, pretrain, transfer  # noqa: E402

TC = TrainConfig(epochs=3, batch_size=128, lr=5e-3, progress=False, device="cpu", num_threads=1)


@pytest.fixture(scope="module")
def trained():
    """A ``freeze`` model on the planted-cluster data, with timestamps on the target."""
    return train_freeze_with_timestamps()


def test_cli_feedback_writes_model_and_report(trained, tmp_path):
    model, _ = trained
    save(model, tmp_path / "model", extra={"strategy": "freeze"})
    path, rows = write_feedback_events(tmp_path)
    out = tmp_path / "updated"
    res = CliRunner().invoke(
        main,
        [
            "feedback",
            "--model",
            str(tmp_path / "model"),
            "--events",
            str(path),
            "--out",
            str(out),
            "--steps",
            "5",
            "--holdout",
            "0.2",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    # 12 held-out events are too few to measure (xcat.workflow.MIN_HELD_OUT is 50)
    assert "held-out: only 12 events, too few to measure" in res.output
    summary = json.loads((out / "feedback.json").read_text())
    upd = summary["update"]
    assert upd["new_users"] == 1 and upd["new_items"] == 1
    assert upd["invalid"]["before_cutoff"]["count"] == 1
    assert upd["invalid"]["malformed"]["count"] == 1
    assert upd["invalid"]["malformed"]["examples"][0]["line"] == len(rows) + 2
    # every row of the file is accounted for: used or reported invalid; the held-out
    # events were left out of a trial update only, the saved model has them
    assert upd["events"] == len(rows) + 1
    n_invalid = sum(v["count"] for v in upd["invalid"].values())
    assert upd["used"] + n_invalid == upd["events"]
    assert summary["held_out"]["events"] == 12
    assert summary["held_out"]["before"] is None
    assert "| before |" not in (out / "feedback.md").read_text()
    back = load(out)
    assert back.vocab.users.ids[: model.config.n_users].equals(model.vocab.users.ids)
    assert back.frozen == model.frozen
    # the held-out events were applied too: every used event is in the saved histories
    events = pd.read_csv(path, nrows=len(rows))
    ok = events[events["timestamp"] >= "2025"]
    hist = back.user_history.numpy()
    for user, item in zip(ok["user"], ok["item"], strict=True):
        u = back.vocab.users.encode([user])[0]
        assert back.vocab.items.encode([item])[0] in hist[u], (user, item)
    # --strict refuses the same file
    res = CliRunner().invoke(
        main,
        ["feedback", "--model", str(tmp_path / "model"), "--events", str(path)]
        + ["--out", str(tmp_path / "strict"), "--strict"],
    )
    assert res.exit_code != 0 and "'line': 184" in res.output and "malformed" in res.output
    path.write_text(path.read_text().rsplit("u2,t3", 1)[0])  # drop the ragged line
    res = CliRunner().invoke(
        main,
        ["feedback", "--model", str(tmp_path / "model"), "--events", str(path)]
        + ["--out", str(tmp_path / "strict"), "--strict"],
    )
    assert res.exit_code != 0 and "1 before_cutoff" in res.output


def test_cli_feedback_refuses_what_it_cannot_do(trained, tmp_path):
    model, _ = trained
    save(model, tmp_path / "model")

    def run(events_text, *extra, out="new"):
        path = tmp_path / "ev.csv"
        path.write_text(events_text)
        args = ["feedback", "--model", str(tmp_path / "model"), "--events", str(path)]
        return CliRunner().invoke(main, [*args, "--out", str(tmp_path / out), *extra])

    res = run("user,item,category\n")
    assert res.exit_code != 0 and "no usable events (0 rows)" in res.output
    res = run("user,item,category,timestamp\nu1,t1,tgt,1999-01-01\nu2,t2,books,2026-01-01\n")
    assert (
        res.exit_code != 0
        and "1 before_cutoff" in res.output
        and "1 unknown_category" in res.output
    )
    assert "model was not changed" in res.output and not (tmp_path / "new").exists()
    res = run("")
    assert res.exit_code != 0 and "is empty" in res.output
    res = run("user,item\nu1,t1\n", out="model")
    assert res.exit_code != 0 and "must differ from --model" in res.output
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    res = run("user,item\nu1,t1\n", out="taken")
    assert res.exit_code != 0 and "--overwrite" in res.output
    res = run("user,item\nu1,t1\n", "--overwrite", "--steps", "0", out="taken")
    assert res.exit_code != 0 and "not a saved xcat model" in res.output  # "x" is not lost


def test_cli_feedback_refuses_a_mapping_model(tmp_path):
    from xcat.data.synthetic import make_cross_category

    d = make_cross_category(n_users=300, seed=0)
    vocab = Vocab.from_interactions(d.source, d.target)
    tdata = TransferData(vocab, d.source, d.target)
    pre, _ = pretrain(tdata, model_config=vocab.model_config(dim=4), train_config=TC)
    mapped = transfer("mapping", tdata, pretrained=pre, train_config=TC, mapper_epochs=2).model
    save(mapped, tmp_path / "mapping")
    (tmp_path / "ev.csv").write_text("user,item\nu1,t1\n")
    res = CliRunner().invoke(
        main,
        ["feedback", "--model", str(tmp_path / "mapping"), "--events", str(tmp_path / "ev.csv")]
        + ["--out", str(tmp_path / "out")],
    )
    assert res.exit_code != 0 and "only two-tower models can be updated" in res.output


def test_cli_feedback_reads_missing_markers_from_parquet_and_overwrites_only_models(
    trained, tmp_path
):
    model, _ = trained
    save(model, tmp_path / "model")
    path = tmp_path / "ev.parquet"
    pd.DataFrame(  # "NaN", "null", "N/A" are ids; a real null and "" are missing
        {
            "user": ["u1", "NaN", "null", "u2", None, ""],
            "item": ["t1", "t2", "t3", "N/A", "t1", "t2"],
            "category": "tgt",
        }
    ).to_parquet(path)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    args = ["feedback", "--model", str(tmp_path / "model"), "--events", str(path), "--steps", "0"]
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "notes"), "--overwrite"])
    assert res.exit_code != 0 and "not a saved xcat model" in res.output
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "new")])
    assert res.exit_code == 0, res.output
    upd = json.loads((tmp_path / "new" / "feedback.json").read_text())["update"]
    assert upd["used"] == 4 and upd["invalid"]["malformed"]["count"] == 2
    assert upd["new_users"] == 2 and upd["new_items"] == 1
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "new"), "--overwrite"])
    assert res.exit_code == 0, res.output
