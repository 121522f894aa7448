"""The measured feedback update: xcat.workflow.feedback, read_events and split_holdout."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from models_synthetic import train_freeze_with_timestamps, write_feedback_events  # noqa: E402
from xcat.data.parse import MISSING_MARKERS  # noqa: E402
from xcat.models import Vocab, load, save  # noqa: E402
from xcat.train import TrainConfig  # noqa: E402
from xcat.transfer import TransferData, pretrain, transfer  # noqa: E402
from xcat.workflow import ArgumentError, feedback, read_events, split_holdout  # noqa: E402

TC = TrainConfig(epochs=3, batch_size=128, lr=5e-3, progress=False, device="cpu", num_threads=1)


@pytest.fixture(scope="module")
def trained():
    """A ``freeze`` model on the planted-cluster data, with timestamps on the target."""
    return train_freeze_with_timestamps()


def test_feedback_writes_model_and_report(trained, tmp_path):
    model, _ = trained
    save(model, tmp_path / "model", extra={"strategy": "freeze"})
    path, rows = write_feedback_events(tmp_path)
    out = tmp_path / "updated"
    lines = []
    report = feedback(
        tmp_path / "model",
        path,
        out,
        steps=5,
        holdout=0.2,
        min_held_out=12,
        device="cpu",
        echo=lines.append,
    )
    assert lines == [
        "measuring: a trial update without 12 held-out events...",
        f"updating with all {len(rows) - 1:,} valid events...",
    ]
    assert report.measured and report.held_out == 12 and "held-out (12 events)" in str(report)
    summary = json.loads((out / "feedback.json").read_text())
    assert summary == json.loads(json.dumps(report.to_dict(), default=str))
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
    assert summary["held_out"]["before"]["users"] == 12
    assert (out / "feedback.md").read_text() == report.markdown()
    assert report.markdown().count("| before |") == 1
    back = load(out)
    assert back.vocab.users.ids[: model.config.n_users].equals(model.vocab.users.ids)
    assert back.frozen == model.frozen
    assert back.metadata["extra"]["strategy"] == "freeze"
    assert back.metadata["extra"]["feedback"]["steps"] == report.update.steps
    # the held-out events were applied too: every used event is in the saved histories
    events = pd.read_csv(path, nrows=len(rows))
    ok = events[events["timestamp"] >= "2025"]
    hist = back.user_history.numpy()
    for user, item in zip(ok["user"], ok["item"], strict=True):
        u = back.vocab.users.encode([user])[0]
        assert back.vocab.items.encode([item])[0] in hist[u], (user, item)
    # strict refuses the same file, naming the malformed line; then the old event
    with pytest.raises(ValueError, match="'line': 184") as err:
        feedback(tmp_path / "model", path, tmp_path / "strict", strict=True, echo=lines.append)
    assert "malformed" in str(err.value) and not (tmp_path / "strict").exists()
    path.write_text(path.read_text().rsplit("u2,t3", 1)[0])  # drop the ragged line
    with pytest.raises(ValueError, match="1 before_cutoff"):
        feedback(tmp_path / "model", path, tmp_path / "strict", strict=True, echo=lines.append)


def test_feedback_says_when_the_holdout_is_too_small_to_measure(trained, tmp_path):
    model, _ = trained
    save(model, tmp_path / "model")
    path, _ = write_feedback_events(tmp_path)
    lines = []
    report = feedback(
        tmp_path / "model", path, tmp_path / "new", steps=3, holdout=0.2, echo=lines.append
    )
    # 12 held-out events < MIN_HELD_OUT (50): no trial update, no "0.0000 -> 0.0000"
    assert report.held_out == 12 and not report.measured and report.too_few
    assert not any(line.startswith("measuring") for line in lines)
    assert "held-out: only 12 events, too few to measure" in str(report)
    assert "->" not in str(report).split("held-out")[-1]
    assert (
        "Held-out: only 12 events, too few to measure a change in NDCG@10"
        in (tmp_path / "new" / "feedback.md").read_text()
    )
    saved = json.loads((tmp_path / "new" / "feedback.json").read_text())["held_out"]
    assert saved["events"] == 12 and saved["min_events"] == 50 and saved["before"] is None
    # exactly at the threshold it is measured
    at = feedback(
        tmp_path / "model",
        path,
        tmp_path / "at",
        steps=1,
        holdout=0.2,
        min_held_out=12,
        echo=lambda _: None,
    )
    assert at.measured and not at.too_few
    with pytest.raises(ArgumentError, match="positive integer") as err:
        feedback(tmp_path / "model", path, tmp_path / "bad", min_held_out=0, echo=print)
    assert err.value.argument == "min_held_out" and not (tmp_path / "bad").exists()


def test_feedback_update_shows_one_progress_line_not_one_per_step(trained, tmp_path, capsys):
    model, _ = trained
    save(model, tmp_path / "model")
    path, _ = write_feedback_events(tmp_path)
    feedback(
        tmp_path / "model",
        path,
        tmp_path / "new",
        steps=40,
        holdout=0,
        batch_size=512,
        echo=print,
    )
    err = capsys.readouterr()
    text = err.out + err.err
    # 181 events + 181 replay pairs fit in one batch: 40 steps are 40 one-batch epochs
    assert "epoch 2" not in text and "epoch 1:" not in text, text
    summary = [line for line in text.splitlines() if "steps over" in line]
    assert len(summary) == 1 and summary[0].startswith("40 steps over 40 epochs: loss "), text


def test_feedback_without_holdout_measures_nothing(trained, tmp_path):
    model, _ = trained
    save(model, tmp_path / "model")
    path, _ = write_feedback_events(tmp_path)
    report = feedback(
        tmp_path / "model", path, tmp_path / "new", steps=0, holdout=0, echo=lambda _: None
    )
    assert not report.measured and report.held_out == 0 and "held-out" not in str(report)
    assert "| before |" not in (tmp_path / "new" / "feedback.md").read_text()
    assert json.loads((tmp_path / "new" / "feedback.json").read_text())["held_out"] == {
        "events": 0,
        "k": 10,
        "min_events": 50,
        "before": None,
        "after": None,
    }


def test_feedback_refuses_what_it_cannot_do(trained, tmp_path):
    model, _ = trained
    save(model, tmp_path / "model")
    quiet = {"echo": lambda _: None}

    def run(events_text, out="new", **kw):
        path = tmp_path / "ev.csv"
        path.write_text(events_text)
        return feedback(tmp_path / "model", path, tmp_path / out, **quiet, **kw)

    with pytest.raises(ValueError, match=r"no usable events \(0 rows\)"):
        run("user,item,category\n")
    with pytest.raises(ValueError) as err:
        run("user,item,category,timestamp\nu1,t1,tgt,1999-01-01\nu2,t2,books,2026-01-01\n")
    assert "1 before_cutoff" in str(err.value) and "1 unknown_category" in str(err.value)
    assert "model was not changed" in str(err.value) and not (tmp_path / "new").exists()
    with pytest.raises(ArgumentError, match="is empty") as err:
        run("")
    assert err.value.argument == "events"
    with pytest.raises(ArgumentError, match="must differ from --model") as err:
        run("user,item\nu1,t1\n", out="model")
    assert err.value.argument == "out"
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    with pytest.raises(ArgumentError, match="--overwrite") as err:
        run("user,item\nu1,t1\n", out="taken")
    assert err.value.argument == "out"
    with pytest.raises(ArgumentError, match="not a saved xcat model"):
        run("user,item\nu1,t1\n", out="taken", overwrite=True, steps=0)
    assert (tmp_path / "taken" / "x").read_text() == "x"  # not lost
    with pytest.raises(ArgumentError, match="expected a .csv, .tsv") as err:
        feedback(tmp_path / "model", tmp_path / "ev.xlsx", tmp_path / "new", **quiet)
    assert err.value.argument == "events"


def test_feedback_refuses_a_mapping_model(tmp_path):
    from xcat.data.synthetic import make_cross_category

    d = make_cross_category(n_users=300, seed=0)
    vocab = Vocab.from_interactions(d.source, d.target)
    tdata = TransferData(vocab, d.source, d.target)
    pre, _ = pretrain(tdata, model_config=vocab.model_config(dim=4), train_config=TC)
    mapped = transfer("mapping", tdata, pretrained=pre, train_config=TC, mapper_epochs=2).model
    save(mapped, tmp_path / "mapping")
    (tmp_path / "ev.csv").write_text("user,item\nu1,t1\n")
    with pytest.raises(ArgumentError, match="only two-tower models can be updated") as err:
        feedback(tmp_path / "mapping", tmp_path / "ev.csv", tmp_path / "out")
    assert err.value.argument == "model" and str(tmp_path / "mapping" / "target") in str(err.value)


def test_feedback_reads_missing_markers_from_parquet_and_overwrites_only_models(trained, tmp_path):
    model, _ = trained
    save(model, tmp_path / "model")
    path = tmp_path / "ev.parquet"
    # ids are text: "NaN", "null", "N/A" are ids (new users, a new item), as in every reader of
    # xcat.data; a real null and an empty id are missing
    pd.DataFrame(
        {
            "user": ["u1", "NaN", "null", "u2", None, ""],
            "item": ["t1", "t2", "t3", "N/A", "t1", "t2"],
            "category": "tgt",
        }
    ).to_parquet(path)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    quiet = {"steps": 0, "echo": lambda _: None}
    with pytest.raises(ArgumentError, match="not a saved xcat model"):
        feedback(tmp_path / "model", path, tmp_path / "notes", overwrite=True, **quiet)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    report = feedback(tmp_path / "model", path, tmp_path / "new", **quiet)
    upd = report.update
    assert upd.used == 4 and upd.invalid["malformed"]["count"] == 2
    assert upd.new_users == 2 and upd.new_items == 1
    feedback(tmp_path / "model", path, tmp_path / "new", overwrite=True, **quiet)


def test_read_events_keeps_text_and_reports_ragged_lines(tmp_path):
    text = "user,item,rating\nu1, i1,NA\n\nu2,i2\nu3,i3,5,extra\n007,i4,\n"
    path = tmp_path / "ev.csv"
    path.write_text(text)
    frame, ragged = read_events(path)
    assert frame.index.tolist() == [2, 6]  # file lines; line 3 is blank
    assert frame["user"].tolist() == ["u1", "007"] and frame["item"].tolist() == [" i1", "i4"]
    assert frame["rating"].tolist() == [None, None]
    assert ragged == [
        {"line": 4, "fields": ["u2", "i2"]},
        {"line": 5, "fields": ["u3", "i3", "5", "extra"]},
    ]
    gz = tmp_path / "ev.tsv.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        f.write("user\titem\ttimestamp\nu1\tnull\tnull\nu2\t\tNA\n")
    frame, ragged = read_events(gz)
    # a marker is missing in a value column, an id in an id column; only "" is a missing id
    assert frame.to_dict("list") == {
        "user": ["u1", "u2"],
        "item": ["null", None],
        "timestamp": [None, None],
    }
    assert ragged == []
    assert {"", "NA", "null", "NaN", "None", "N/A"} <= MISSING_MARKERS


def test_split_holdout_takes_the_last_event_of_a_seeded_share_of_known_users():
    frame = pd.DataFrame(
        {
            "user": ["a", "a", "b", "b", "b", "c", "new", "new"],
            "item": list("pqrstuvw"),
            "timestamp": pd.to_datetime(
                ["2025-01-03", "2025-01-01", "2025-01-01", "2025-01-05", "2025-01-02"]
                + ["2025-01-01", "2025-01-01", "2025-01-02"]
            ),
        },
        index=range(2, 10),
    )
    known = pd.Index(["a", "b", "c"])
    train, held = split_holdout(frame, known, 0.99, seed=0)
    # a and b have 2+ events and are known: their latest event is held out; c has one, new is new
    assert held["item"].tolist() == ["p", "s"]
    assert sorted(train.index.tolist() + held.index.tolist()) == frame.index.tolist()
    one_train, one_held = split_holdout(frame, known, 0.1, seed=0)
    assert len(one_held) == 1 and one_held["user"].iloc[0] in ("a", "b")
    assert split_holdout(frame, known, 0.1, seed=0)[1].equals(one_held)  # seeded
    none_train, none_held = split_holdout(frame, known, 0, seed=0)
    assert none_held.empty and none_train is frame
    by_row = frame.drop(columns="timestamp")
    assert split_holdout(by_row, known, 0.99, seed=0)[1]["item"].tolist() == ["q", "t"]
