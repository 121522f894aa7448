"""EMCDR mapped models (xcat.models.mapped): save / load (format "xcat.MappedModel"), CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")
pytest.importorskip("tqdm")

import torch  # noqa: E402
import xcat  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from xcat.cli import main  # noqa: E402
from xcat.data.synthetic import make_cross_category  # noqa: E402
from xcat.models import TwoTower, Vocab, load, save  # noqa: E402
from xcat.models.io import read_metadata  # noqa: E402
from xcat.models.mapped import MappedModel  # noqa: E402
from xcat.train import TrainConfig  # noqa: E402
from xcat.transfer import TransferData, pretrain, transfer  # noqa: E402
from xcat.workflow.experiment import ExperimentConfig, run_experiment  # noqa: E402

torch.set_num_threads(1)

TC = TrainConfig(epochs=1, batch_size=128, progress=False, num_threads=1)


def small_data():
    return make_cross_category(n_users=300, n_source_items=120, n_target_items=80, seed=1)


@pytest.fixture(scope="module")
def mapped():
    data = small_data()
    vocab = Vocab.from_interactions(data.source, data.target)
    td = TransferData(vocab, data.source, data.target)
    mc = vocab.model_config(dim=8, embedding_dim=8, hidden_dims=(16,), max_history=10)
    pre, _ = pretrain(td, model_config=mc, train_config=TC)
    res = transfer("mapping", td, pretrained=pre, train_config=TC, mapper_epochs=5)
    assert isinstance(res.model, MappedModel) and res.model.cold.any() and not res.model.cold.all()
    return res.model


def state_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_gives_identical_embeddings(mapped, tmp_path):
    d = save(mapped, tmp_path / "m", extra={"strategy": "mapping", "note": [1, 2]})
    assert sorted(p.name for p in d.iterdir()) == [
        "config.json",
        "mapper.safetensors",
        "source",
        "target",
    ]
    for part in ("source", "target"):
        assert sorted(p.name for p in (d / part).iterdir()) == [
            "config.json",
            "model.safetensors",
            "vocab.json",
        ]
    meta = json.loads((d / "config.json").read_text())
    assert meta["format"] == "xcat.MappedModel" and meta["format_version"] == 1
    assert meta["xcat_version"] == xcat.__version__
    assert meta["mapper"] == {"source_dim": 8, "hidden_dim": 16, "target_dim": 8}
    assert meta["extra"] == {"strategy": "mapping", "note": [1, 2]}
    assert read_metadata(d) == meta
    with safe_open(str(d / "mapper.safetensors"), framework="pt") as f:
        keys = set(f.keys())
        cold = f.get_tensor("cold")
    assert keys == {"cold"} | {f"mapper.{k}" for k in mapped.mapper.state_dict()}
    assert cold.dtype == torch.uint8 and cold.shape == (len(mapped.cold),)

    m2 = load(d)
    assert isinstance(m2, MappedModel)
    assert m2.metadata == meta and m2.metadata["extra"]["strategy"] == "mapping"
    np.testing.assert_array_equal(m2.cold, mapped.cold)
    assert m2.cold.dtype == np.bool_
    assert np.array_equal(m2.user_embeddings(), mapped.user_embeddings())
    assert np.array_equal(m2.item_embeddings(), mapped.item_embeddings())
    rows = np.r_[np.flatnonzero(mapped.cold)[:4], np.flatnonzero(~mapped.cold)[:4]]
    assert np.array_equal(m2.user_embeddings(rows), mapped.user_embeddings(rows))
    v, v2 = mapped.vocab, m2.vocab
    assert v2.users == v.users and v2.items == v.items and v2.domains == v.domains
    assert state_equal(m2.source_model, mapped.source_model)
    assert state_equal(m2.target_model, mapped.target_model)
    assert state_equal(m2.mapper, mapped.mapper)
    assert not (m2.mapper.training or m2.source_model.training or m2.target_model.training)
    assert "cold through the mapping 8 -> 16 -> 8" in repr(m2)
    # the parts are ordinary saved two-tower models
    target = load(d / "target")
    assert isinstance(target, TwoTower) and target.metadata["extra"] == {"role": "target"}
    # the top-level entry point dispatches the same way; a loaded model saves again
    m3 = xcat.load(save(m2, tmp_path / "again"))
    assert np.array_equal(m3.user_embeddings(), mapped.user_embeddings())


def test_saving_one_format_over_the_other_removes_stale_files(mapped, tmp_path):
    d = save(mapped.source_model, tmp_path / "m")
    save(mapped, d)
    assert not (d / "model.safetensors").exists() and not (d / "vocab.json").exists()
    assert isinstance(load(d), MappedModel)
    save(mapped.target_model, d)
    assert not (d / "mapper.safetensors").exists()
    assert isinstance(load(d), TwoTower)


def test_bad_models_are_refused_on_save(mapped, tmp_path):
    bad = MappedModel(mapped.source_model, mapped.target_model, mapped.mapper, mapped.cold[:-1])
    with pytest.raises(ValueError, match=r"model\.cold: expected a bool array of shape"):
        save(bad, tmp_path / "a")
    bad = MappedModel("nope", mapped.target_model, mapped.mapper, mapped.cold)
    with pytest.raises(ValueError, match=r"model\.source_model: expected a TwoTower"):
        save(bad, tmp_path / "b")
    with pytest.raises(ValueError, match="expected a TwoTower or a MappedModel"):
        save(mapped.mapper, tmp_path / "c")  # type: ignore[arg-type]


def edit_config(d, change, name="config.json"):
    meta = json.loads((d / name).read_text())
    change(meta)
    (d / name).write_text(json.dumps(meta))


def test_missing_files_and_wrong_formats_are_clear_errors(mapped, tmp_path):
    base = save(mapped, tmp_path / "base")
    n = iter(range(100))

    def copy():
        return shutil.copytree(base, tmp_path / f"c{next(n)}")

    d = copy()
    (d / "mapper.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="mapper.safetensors is missing"):
        load(d)
    d = copy()
    shutil.rmtree(d / "target")
    with pytest.raises(FileNotFoundError, match="target/ is missing"):
        load(d)
    d = copy()
    (d / "source" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors is missing"):
        load(d)
    d = copy()
    (d / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        load(d)

    # corrupted config.json: unknown format, not JSON, a newer version, no mapper sizes
    d = copy()
    edit_config(d, lambda m: m.update(format="xcat.Something"))
    with pytest.raises(ValueError, match=r"not an xcat model \(format 'xcat.Something'"):
        load(d)
    with pytest.raises(ValueError, match="not an xcat model"):
        read_metadata(d)
    d = copy()
    (d / "config.json").write_text('{"format": "xcat.MappedModel", ')
    with pytest.raises(ValueError, match="not valid JSON"):
        load(d)
    d = copy()
    edit_config(d, lambda m: m.update(format_version=99))
    with pytest.raises(ValueError, match="format version 99.*reads versions up to 1"):
        load(d)
    d = copy()
    edit_config(d, lambda m: m.pop("mapper"))
    with pytest.raises(ValueError, match="'mapper' must give positive integers"):
        load(d)
    # a part that is not a two-tower model
    d = copy()
    edit_config(d, lambda m: m.update(format="xcat.MappedModel"), name="source/config.json")
    with pytest.raises(ValueError, match="not an xcat two-tower model"):
        load(d)

    # shapes that do not match
    d = copy()
    edit_config(d, lambda m: m["mapper"].update(hidden_dim=4))
    with pytest.raises(ValueError, match=r"mapper.safetensors: weights do not match.*wrong shape"):
        load(d)
    d = copy()
    edit_config(d, lambda m: m["mapper"].update(source_dim=4))
    with pytest.raises(ValueError, match="the mapper maps 4 -> 8 dimensions"):
        load(d)
    d = copy()
    state = {f"mapper.{k}": v.contiguous() for k, v in mapped.mapper.state_dict().items()}
    save_file(state, str(d / "mapper.safetensors"))
    with pytest.raises(ValueError, match=r"missing \['cold'\]"):
        load(d)
    d = copy()
    state["cold"] = torch.full((len(mapped.cold),), 7, dtype=torch.uint8)
    save_file(state, str(d / "mapper.safetensors"))
    with pytest.raises(ValueError, match="corrupted or modified since it was saved"):
        load(d)  # the recorded SHA-256 no longer matches
    edit_config(d, lambda m: m.pop("sha256"))  # as a model saved before digests were stored
    with pytest.raises(ValueError, match="uint8 mask of 0/1"):
        load(d)


def test_run_experiment_saves_the_mapping_model(tmp_path):
    cfg = ExperimentConfig(
        strategies=("mapping",), dim=8, pretrain_epochs=1, epochs=1, device="cpu", threads=1
    )
    result = run_experiment(small_data(), cfg, out_dir=tmp_path / "run", echo=lambda _: None)
    models = tmp_path / "run" / "models"
    assert sorted(p.name for p in models.iterdir()) == ["mapping", "pretrained", "scratch"]
    loaded = load(models / "mapping")
    assert isinstance(loaded, MappedModel)
    extra = loaded.metadata["extra"]
    assert extra["strategy"] == "mapping" and set(extra) == {"strategy", "split"}
    assert extra["split"]["seed"] == 0  # the split it was trained on (evaluate checks it)
    assert np.array_equal(loaded.user_embeddings(), result.models["mapping"].user_embeddings())


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_transfer_mapping_then_evaluate_and_recommend(tmp_path):
    run = tmp_path / "run"
    run_cli("pretrain", "--out", run, "--epochs", 1, "--dim", 8, "--threads", 1, "--device", "cpu")
    quick = ("--epochs", 1, "--mapper-epochs", 5)
    out = run_cli("transfer", "--run", run, "--strategy", "mapping", *quick)
    assert "has no scratch model; training the target-only model first" in out
    assert (run / "models" / "scratch" / "model.safetensors").is_file()
    assert read_metadata(run / "models" / "mapping")["format"] == "xcat.MappedModel"
    scratch_bytes = (run / "models" / "scratch" / "model.safetensors").read_bytes()
    out = run_cli("transfer", "--run", run, "--strategy", "mapping", *quick)
    assert f"reusing the target-only model {run / 'models' / 'scratch'}" in out
    assert (run / "models" / "scratch" / "model.safetensors").read_bytes() == scratch_bytes

    out = run_cli("evaluate", "--run", run)
    assert "mapping" in out and "scratch" in out
    assert "mapping" in json.loads((run / "metrics.json").read_text())
    out = run_cli(
        "recommend", "--run", run, "--strategy", "mapping", "--user", "user-000003", "-n", 3
    )
    rows = [line for line in out.splitlines() if line.strip().startswith("user-000003")]
    assert len(rows) == 3 and all("tgt-" in line for line in rows)

    result = CliRunner().invoke(
        main, ["transfer", "--run", str(run), "--strategy", "mapping", "--freeze", "user_tower"]
    )
    assert result.exit_code != 0 and "only the 'freeze' strategy" in result.output


def test_the_vocabularies_of_the_parts_are_checked(mapped, tmp_path):
    base = save(mapped, tmp_path / "base")
    n_users = mapped.target_model.config.n_users

    def with_target_vocab(change):
        d = shutil.copytree(base, tmp_path / f"c{len(list(tmp_path.iterdir()))}")
        f = d / "target" / "vocab.json"
        vocab = json.loads(f.read_text())
        change(vocab)
        f.write_text(json.dumps(vocab))
        return d

    # a stale target vocabulary: one user short of the target weights
    d = with_target_vocab(lambda v: v["users"].update(ids=v["users"]["ids"][:-1]))
    with pytest.raises(ValueError) as e:
        load(d)
    assert str(e.value).startswith(
        f"{d / 'target' / 'vocab.json'}: the users id map has {n_users - 1} ids, but "
        f"model.safetensors has {n_users} user rows"
    )
    # the same users in another order than source/: the cold mask would point at others
    d = with_target_vocab(lambda v: v["users"].update(ids=v["users"]["ids"][::-1]))
    with pytest.raises(ValueError, match=r"but not the same users in the same order"):
        load(d)
    # and a mapped model so made is not saved either
    reordered = load(d / "target")
    assert isinstance(reordered, TwoTower)
    bad = MappedModel(mapped.source_model, reordered, mapped.mapper, mapped.cold)
    with pytest.raises(ValueError, match="do not list the same users in the same order"):
        save(bad, tmp_path / "bad")
