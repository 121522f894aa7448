"""A run's saved recommenders: quickstart and transfer save them, recommend loads them."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from xcat.cli import main  # noqa: E402
from xcat.recommend.io import read_metadata  # noqa: E402
from xcat.workflow import Run, pretrain, quickstart, recommend, transfer  # noqa: E402
from xcat.workflow.recommenders import model_digest  # noqa: E402
from xcat.workflow.rundir import split_identity  # noqa: E402

TINY = {
    "dim": 8,
    "seed": 0,
    "device": "cpu",
    "threads": 1,
    "epochs": 1,
    "pretrain_epochs": 1,
    "baselines": ("popularity",),
}
USERS = ["user-000003", "user-000100", "nobody"]


def no_data_loading(monkeypatch):
    """Make every way of loading (or re-splitting) a run's data fail loudly."""
    import xcat.data.datasets
    import xcat.workflow.rundir

    def refuse(*args, **kwargs):
        raise AssertionError("the data was loaded")

    monkeypatch.setattr(xcat.data.datasets, "load", refuse)
    monkeypatch.setattr(xcat.workflow.rundir, "load_data", refuse)
    monkeypatch.setattr(xcat.workflow.rundir.Run, "load_split", refuse)


def cli_recommend(run, strategy="full"):
    args = ["recommend", "--run", str(run), "--strategy", strategy, "-n", "4"]
    for u in USERS:
        args += ["--user", u]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("qs") / "run"
    quickstart(out, config={**TINY, "strategies": ("full",)}, echo=lambda _: None)
    return out


def test_quickstart_saves_a_recommender_per_strategy(run_dir):
    run = Run.open(run_dir)
    assert run.model_names() == ["full", "scratch"]  # the models listing is unchanged
    assert sorted(p.name for p in (run_dir / "recommenders").iterdir()) == ["full", "scratch"]
    split = split_identity(*run.load_split(), run.config)
    for name in ("full", "scratch"):
        extra = read_metadata(run.recommender_path(name))["extra"]
        assert extra == {
            "strategy": name,
            "model": f"models/{name}",
            "model_sha256": model_digest(run.model_path(name)),
            "target": ["clothing"],
            "split": split,
        }


def test_recommend_loads_the_saved_recommender_and_never_loads_the_data(run_dir, monkeypatch):
    fresh = run_dir.parent / "fresh"
    shutil.copytree(run_dir, fresh)
    with monkeypatch.context() as m:
        no_data_loading(m)
        loaded_out, loaded_err = cli_recommend(fresh)
        done = recommend(fresh, "full", USERS, n=4)
    assert "no saved recommender" not in loaded_err and done.rebuilt == ""
    assert "nobody" in loaded_err  # the unknown user's note is still there
    # a run made before recommenders were saved: today's path, with a one-line notice
    shutil.rmtree(fresh / "recommenders")
    rebuilt_out, rebuilt_err = cli_recommend(fresh)
    assert rebuilt_out == loaded_out  # the same table, to the last digit
    notice = [line for line in rebuilt_err.splitlines() if "no saved recommender" in line]
    assert notice == [
        f"note: no saved recommender to load: {fresh / 'recommenders' / 'full'} does not exist "
        "(a run or model made before xcat saved recommenders); rebuilt it from the run's data"
    ]
    assert len(loaded_out.splitlines()) == 1 + 4 * len(USERS)


def test_a_model_saved_again_is_not_served_from_its_old_recommender(run_dir):
    from xcat.models import load, save

    stale = run_dir.parent / "stale"
    shutil.copytree(run_dir, stale)
    model = load(stale / "models" / "full")
    with torch.no_grad():  # retrained, as far as the files can tell
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.mul_(-1)
    save(model, stale / "models" / "full", extra=model.metadata["extra"])
    done = recommend(stale, "full", USERS[:1], n=4)
    assert "was built from another version of" in done.rebuilt
    # a broken recommender is named, and the run still answers
    meta = stale / "recommenders" / "scratch" / "recommender.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "n_items": 3}))
    done = recommend(stale, "scratch", USERS[:1], n=4)
    assert done.rebuilt.startswith(f"{stale / 'recommenders' / 'scratch'} cannot be used: ")
    assert len(done.table) == 4


def test_transfer_saves_the_recommender_of_its_model(tmp_path, monkeypatch):
    out = tmp_path / "steps"
    pretrain(out, config=TINY, echo=lambda _: None)
    transfer(out, "scratch", epochs=1)
    run = Run.open(out)
    assert sorted(p.name for p in (out / "recommenders").iterdir()) == ["scratch"]
    meta = read_metadata(run.recommender_path("scratch"))
    assert meta["extra"]["model_sha256"] == model_digest(run.model_path("scratch"))
    with monkeypatch.context() as m:
        no_data_loading(m)
        done = recommend(out, "scratch", USERS, n=3)
    assert done.rebuilt == "" and done.table["item"].str.startswith("tgt-").all()


def test_recommending_from_a_run_imports_no_torch(run_dir):
    import subprocess
    import sys

    code = (
        "import sys; from xcat.workflow import recommend; "
        f"done = recommend({str(run_dir)!r}, 'full', ['user-000003'], n=3); "
        "print(len(done.table), repr(done.rebuilt), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "''", "False"]
