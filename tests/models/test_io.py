"""Save / load of two-tower models: round trip and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")
pytest.importorskip("tqdm")

import torch  # noqa: E402
import xcat  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from xcat.data.interactions import Interactions  # noqa: E402
from xcat.models import TwoTower, Vocab, load, save  # noqa: E402
from xcat.train import TrainConfig, fit  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def trained():
    data, cold, _ = make_cross_domain(n_users=80, seed=5)
    v = Vocab.from_interactions(data.source, data.target)
    torch.manual_seed(0)
    m = TwoTower(v.model_config(dim=8, embedding_dim=8, hidden_dims=(16,), dropout=0.1), v)
    m.set_history(v.histories(data.source, data.target, max_len=10))
    fit(m, v.encode(data.target), config=TrainConfig(epochs=2, batch_size=32, progress=False))
    return m, v, cold


def test_round_trip_gives_identical_recommendations(trained, tmp_path):
    m, v, cold = trained
    save(m, tmp_path / "m", extra={"note": "test"})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json",
        "model.safetensors",
        "vocab.json",
    ]
    m2 = load(tmp_path / "m")
    assert m2.config == m.config and m2.metadata["extra"] == {"note": "test"}
    # the format of models saved before user towers were chosen by the config: no
    # user_tower field, the stored histories in the weights file
    assert "user_tower" not in json.loads((tmp_path / "m" / "config.json").read_text())["config"]
    assert m2.config.user_tower == "mean" and "user_history" in m2.state_dict()
    assert (
        m2.vocab.users == v.users and m2.vocab.items == v.items and m2.vocab.features == v.features
    )
    assert m2.vocab.domains == v.domains
    users = v.users.encode(np.r_[cold[:5], v.users.ids[:5].to_numpy()])
    cands = v.domain_items("tgt")
    a = xcat.topn(m.user_embeddings(users), m.item_embeddings(), 10, candidates=cands)
    b = xcat.topn(m2.user_embeddings(users), m2.item_embeddings(), 10, candidates=cands)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.scores, b.scores)
    m3 = xcat.load(tmp_path / "m")  # the top-level entry point, same model
    c = xcat.topn(m3.user_embeddings(users), m3.item_embeddings(), 10, candidates=cands)
    np.testing.assert_array_equal(a.indices, c.indices)
    sd, sd2 = m.state_dict(), m2.state_dict()
    assert sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k].to(sd[k].device)) for k in sd)


def test_missing_files_and_wrong_versions_are_clear_errors(trained, tmp_path):
    m, _, _ = trained
    with pytest.raises(FileNotFoundError, match="no such model directory"):
        load(tmp_path / "nope")
    d = save(m, tmp_path / "a")
    (d / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors is missing"):
        load(d)
    d = save(m, tmp_path / "b")
    (d / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        load(d)
    d = save(m, tmp_path / "c")
    meta = json.loads((d / "config.json").read_text())
    meta["format_version"] = 99
    (d / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="format version 99.*reads versions up to 1"):
        load(d)
    d = save(m, tmp_path / "d")
    meta = json.loads((d / "config.json").read_text())
    meta["config"]["dim"] = 4
    (d / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="wrong shape"):
        load(d)
    with pytest.raises(ValueError, match="model"):
        save("not a model", tmp_path / "e")  # type: ignore[arg-type]


def test_saved_weights_are_as_readable_as_the_json_files(tmp_path):
    import os
    import stat

    from xcat.models import TwoTower, TwoTowerConfig, save

    d = save(TwoTower(TwoTowerConfig(n_users=3, n_items=4, dim=2, embedding_dim=2)), tmp_path / "m")
    mode = stat.S_IMODE(os.stat(d / "model.safetensors").st_mode)
    assert mode == stat.S_IMODE(os.stat(d / "config.json").st_mode)


def test_a_vocab_that_does_not_fit_the_weights_is_refused(trained, tmp_path):
    m, v, _ = trained
    assert (v.n_users, v.n_items) == (80, 96) and m.config.n_features == len(v.features)
    n = iter(range(100))

    def saved_with(vocab_dict):
        d = save(m, tmp_path / f"m{next(n)}")
        (d / "vocab.json").write_text(json.dumps(vocab_dict))
        return d, str(d / "vocab.json")

    # a vocab.json truncated by one user: 79 ids for 80 user rows
    cut = v.to_dict()
    cut["users"]["ids"] = cut["users"]["ids"][:-1]
    d, f = saved_with(cut)
    with pytest.raises(ValueError) as e:
        load(d)
    msg = str(e.value)
    assert msg.startswith(f + ": the users id map has 79 ids, but model.safetensors has 80 user")
    assert "user_tower.user_id.weight (80, 8)" in msg and "stale vocab.json" in msg
    # a stale vocabulary of a smaller run: fewer users and features
    data, _, _ = make_cross_domain(n_users=60, seed=5)
    stale = Vocab.from_interactions(data.source, data.target, category_feature=False)
    d, f = saved_with(stale.to_dict())
    with pytest.raises(ValueError, match=f"users id map has {stale.n_users} ids, but .* 80 user"):
        load(d)
    # one item more than the weights (a newer vocab next to older weights)
    grown = v.extend(
        Interactions(pd.DataFrame({"user": ["u0"], "item": ["t-new"], "category": ["tgt"]}))
    )
    d, f = saved_with(grown.to_dict())
    with pytest.raises(ValueError) as e:
        load(d)
    assert str(e.value).startswith(
        f + ": the items id map has 97 ids, but model.safetensors has 96"
    )
    assert "item_tower.item_id.weight (96, 8)" in str(e.value)
    # feature tokens: the same users and items, without the category tokens
    same, _, _ = make_cross_domain(n_users=80, seed=5)  # the data of the fixture
    fewer = Vocab.from_interactions(same.source, same.target, category_feature=False)
    assert fewer.users == v.users and fewer.items == v.items
    d, f = saved_with(fewer.to_dict())
    with pytest.raises(ValueError) as e:
        load(d)
    assert str(e.value).startswith(
        f"{f}: the features id map has {len(fewer.features)} ids, but model.safetensors has "
        f"{len(v.features)} feature rows"
    )
    # a hand-truncated item list disagrees with the vocabulary's own per-item arrays
    cut = v.to_dict()
    cut["items"]["ids"] = cut["items"]["ids"][:-1]
    d, f = saved_with(cut)
    with pytest.raises(ValueError) as e:
        load(d)
    assert f in str(e.value) and "'item_domains' has 96 entries but the item id map 95" in str(
        e.value
    )
    # the vocabulary that was saved still loads
    assert load(save(m, tmp_path / "ok")).vocab.users == v.users
