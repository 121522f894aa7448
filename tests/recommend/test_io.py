"""Recommender.save / Recommender.load: bit-identical round trips, checked files, atomic saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from xcat import _atomic
from xcat.data.idmap import IdMap
from xcat.recommend import Recommender
from xcat.recommend import io as rec_io


def make_rec(seed=0, n_users=60, n_items=50, dim=8, *, int_ids=False, metric="cosine", **kw):
    rng = np.random.default_rng(seed)
    # repeated entries (a user who bought an item twice) and an empty row: stored as given
    rows = np.concatenate([rng.integers(0, n_users - 1, 300), [0, 0]])
    cols = np.concatenate([rng.integers(0, n_items, 300), [3, 3]])
    history = sp.csr_matrix(
        (np.ones(len(rows)), cols[np.argsort(rows, kind="stable")], _indptr(rows, n_users)),
        shape=(n_users, n_items),
    )
    if int_ids:
        users = IdMap(np.arange(1000, 1000 + n_users), name="user")
        items = IdMap(np.arange(7, 7 + n_items) * 3, name="item")
        cats = [10 + (i % 3) for i in range(n_items)]
    else:
        users = IdMap([f"u{i}" for i in range(n_users)], name="user")
        items = IdMap([f"item-{i:03d}" for i in range(n_items)], name="item")
        cats = ["beauty" if i < n_items // 2 else "toys" for i in range(n_items)]
    return Recommender(
        rng.standard_normal((n_users, dim)).astype(np.float32),
        rng.standard_normal((n_items, dim)).astype(np.float32),
        user_ids=users,
        item_ids=items,
        item_categories=cats,
        history=history,
        metric=metric,
        **kw,
    )


def _indptr(rows, n_users):
    return np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_users))])


def assert_same_recommendations(a, b, users, categories):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown users: both warn alike
        for category in categories:
            for exclude_seen in (True, False):
                kw = {"n": 7, "category": category, "exclude_seen": exclude_seen, "explain": True}
                left, right = a.recommend(users, **kw), b.recommend(users, **kw)
                pd.testing.assert_frame_equal(left, right, check_exact=True)
                assert len(left) and (left["source"] == "popular").any(), "no fallback exercised"


@pytest.mark.parametrize("int_ids", [False, True])
@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_a_loaded_recommender_recommends_bit_identically(tmp_path, int_ids, metric):
    rec = make_rec(int_ids=int_ids, metric=metric)
    assert not rec.history.has_canonical_format  # repeats kept, as in training histories
    path = rec.save(tmp_path / "rec", extra={"strategy": "full"})
    loaded = Recommender.load(path)
    np.testing.assert_array_equal(loaded.user_vectors, rec.user_vectors, strict=True)
    np.testing.assert_array_equal(loaded.item_vectors, rec.item_vectors, strict=True)
    np.testing.assert_array_equal(loaded._popularity, rec._popularity, strict=True)
    np.testing.assert_array_equal(loaded.history.indptr, rec.history.indptr)
    np.testing.assert_array_equal(loaded.history.indices, rec.history.indices)
    assert loaded.user_ids == rec.user_ids and loaded.item_ids == rec.item_ids
    assert loaded.categories() == rec.categories() and loaded.metric == metric
    assert loaded.metadata["extra"] == {"strategy": "full"} and rec.metadata == {}
    users = [*rec.user_ids.decode([0, 5, 59, 17]), "nobody" if not int_ids else -1]
    cats = rec.categories()
    assert_same_recommendations(rec, loaded, users, [None, cats[0], cats])


def test_a_given_popularity_fallback_is_saved_not_recomputed(tmp_path):
    rng = np.random.default_rng(3)
    pop = rng.random(50)
    rec = make_rec(popularity=pop)
    loaded = Recommender.load(rec.save(tmp_path / "rec"))
    np.testing.assert_array_equal(loaded._popularity, pop, strict=True)
    with pytest.warns(UserWarning):
        out = loaded.recommend(["nobody"], n=5, category="toys")
    want = 25 + np.argsort(-pop[25:], kind="stable")[:5]
    assert out["item_row"].tolist() == want.tolist()
    assert out["score"].tolist() == pop[want].astype(np.float32).tolist()
    with pytest.raises(ValueError, match=r"popularity: expected shape \(50,\)"):
        make_rec(popularity=pop[:-1])


def test_loading_imports_no_torch(tmp_path):
    rec = make_rec()
    path = rec.save(tmp_path / "rec")
    code = (
        "import sys; from xcat.recommend import Recommender; "
        f"r = Recommender.load({str(path)!r}); "
        "out = r.recommend(['u1'], n=3, category='toys', explain=True); "
        "print(len(out), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "False"]


# ---------------------------------------------------------------- saving is atomic


def test_save_replaces_a_recommender_whole_and_keeps_other_files(tmp_path):
    path = tmp_path / "rec"
    make_rec(seed=0).save(path)
    (path / "NOTES.txt").write_text("mine")
    second = make_rec(seed=1)
    second.save(path)
    loaded = Recommender.load(path)
    np.testing.assert_array_equal(loaded.user_vectors, second.user_vectors)
    assert (path / "NOTES.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec"]  # no sibling left


def test_a_failed_save_leaves_the_previous_recommender(tmp_path, monkeypatch):
    path = tmp_path / "rec"
    first = make_rec(seed=0)
    first.save(path)
    real = rec_io.write_text

    def fail_on_meta(p, text):
        if p.name == rec_io.META:
            raise OSError(28, "No space left on device", str(p))
        real(p, text)

    monkeypatch.setattr(rec_io, "write_text", fail_on_meta)
    with pytest.raises(OSError, match="No space left"):
        make_rec(seed=1).save(path)
    np.testing.assert_array_equal(Recommender.load(path).user_vectors, first.user_vectors)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec"]


class Killed(BaseException):
    """Stands for the process dying: raised at one write step, and at every later one."""


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_save_killed_at_any_step_leaves_the_old_or_the_new_recommender(
    tmp_path, monkeypatch, exchange
):
    # the swap is xcat._atomic's, shared with xcat.models.save: its steps are wrapped there
    old, new = make_rec(seed=0), make_rec(seed=1)
    outcomes = []
    for at in range(1, 100):
        parent = tmp_path / f"k{at}"
        path = old.save(parent / "rec")
        (path / "NOTES.txt").write_text("mine")
        state = {"n": 0, "dead": False}

        def step(fn, state=state, at=at):
            def wrapped(*args, **kwargs):
                if state["dead"]:  # a killed process does nothing more: no cleanup, no restore
                    raise Killed
                state["n"] += 1
                if state["n"] == at:
                    state["dead"] = True
                    raise Killed
                return fn(*args, **kwargs)

            return wrapped

        with monkeypatch.context() as m:
            if not exchange:
                m.setattr(_atomic, "_exchange", lambda a, b: False)
            for module, name in [
                (rec_io, "write_npy"),
                (rec_io, "write_text"),
                (_atomic, "_carry"),
                (_atomic, "_exchange"),
                (_atomic, "fsync_dir"),
                (_atomic, "_discard"),
            ]:
                m.setattr(module, name, step(getattr(module, name)))
            m.setattr(os, "fsync", step(os.fsync))
            m.setattr(os, "rename", step(os.rename))
            try:
                new.save(path)
            except Killed:
                pass
        if path.exists():
            got = Recommender.load(path).user_vectors
            is_new = np.array_equal(got, new.user_vectors)
            assert is_new or np.array_equal(got, old.user_vectors), f"killed at {at}: mixed"
            assert (path / "NOTES.txt").read_text() == "mine"
            outcomes.append("new" if is_new else "old")
        else:
            # only between the two renames of the fallback: the previous one sits beside it
            assert not exchange
            with pytest.raises(FileNotFoundError, match="kept the previous recommender as"):
                Recommender.load(path)
            outcomes.append("restored")
        for other in parent.iterdir():  # nothing beside it passes for a recommender
            if other.name != "rec":
                with pytest.raises((ValueError, FileNotFoundError), match="interrupted xcat"):
                    Recommender.load(other)
        if not state["dead"]:  # the save ran to its end
            break
    else:
        raise AssertionError("the save never completed")
    first_new = outcomes.index("new")
    assert outcomes[0] == "old" and set(outcomes[first_new:]) == {"new"} and first_new >= 8
    assert set(outcomes[:first_new]) <= {"old", "restored"}
    assert ("restored" in outcomes) == (not exchange)


def test_save_refuses_a_folder_that_is_not_a_recommender(tmp_path):
    other = tmp_path / "model"
    other.mkdir()
    (other / "config.json").write_text('{"format": "xcat.TwoTower"}')
    with pytest.raises(ValueError, match="is not an xcat recommender directory.*config.json"):
        make_rec().save(other)
    (other / "recommender.json").write_text('{"format": ["xcat.Recommender"]}')
    with pytest.raises(
        ValueError,
        match=r"recommender.json has format \['xcat.Recommender'\], not 'xcat.Recommender'",
    ):
        make_rec().save(other)
    assert sorted(p.name for p in other.iterdir()) == ["config.json", "recommender.json"]
    with pytest.raises(TypeError):
        make_rec().save(tmp_path / "new", extra={"bad": object()})
    assert not (tmp_path / "new").exists()


def test_save_refuses_non_finite_vectors_and_other_categories(tmp_path):
    rec = make_rec()
    rec.item_vectors[3, 1] = np.nan
    with pytest.raises(ValueError, match="item_vectors: 1 of 400 values are NaN"):
        rec.save(tmp_path / "a")
    rec = make_rec()
    rec.item_categories[4] = 1.5
    with pytest.raises(ValueError, match=r"item_categories: only str or int.*float 1.5 \(item row"):
        rec.save(tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---------------------------------------------------------------- loading checks every file


@pytest.fixture()
def saved(tmp_path):
    return make_rec().save(tmp_path / "rec")


def _save_npy(path, array, **kw):
    path.unlink()
    np.save(path, array, **kw)


TAMPER = {
    "wider user vectors": (
        lambda d: _save_npy(d / "user_vectors.npy", np.zeros((60, 9), np.float32)),
        ValueError,
        r"user_vectors.npy: expected the user vectors: dtype float32, shape \(60, 8\); "
        r"the file holds dtype float32, shape \(60, 9\)",
    ),
    "float64 item vectors": (
        lambda d: _save_npy(d / "item_vectors.npy", np.zeros((50, 8))),
        ValueError,
        r"item_vectors.npy: expected the item vectors: dtype float32.*dtype float64",
    ),
    "a pickled object array": (
        lambda d: _save_npy(d / "popularity.npy", np.array([{}] * 50), allow_pickle=True),
        ValueError,
        r"popularity.npy: expected the popularity scores: dtype float64.*dtype object",
    ),
    "a truncated file": (
        lambda d: os.truncate(d / "item_vectors.npy", os.path.getsize(d / "item_vectors.npy") - 4),
        ValueError,
        r"item_vectors.npy: truncated or padded: its header says 400 values",
    ),
    "recommender.json claiming more seen items": (
        lambda d: (d / "recommender.json").write_text(
            json.dumps({**json.loads((d / "recommender.json").read_text()), "n_seen": 10**12})
        ),
        ValueError,
        r"seen_indices.npy: expected the seen items' rows: dtype int32 or int64, shape "
        r"\(1000000000000,\)",
    ),
    "not an npy file": (
        lambda d: (d / "seen_indptr.npy").write_bytes(b"garbage"),
        ValueError,
        r"seen_indptr.npy: not a readable .npy file",
    ),
    "a seen item out of range": (
        lambda d: _save_npy(d / "seen_indices.npy", np.full(302, 50, dtype=np.int32)),
        ValueError,
        r"seen_indices.npy: item rows must lie in \[0, 50\)",
    ),
    "offsets that do not add up": (
        lambda d: _save_npy(d / "seen_indptr.npy", np.zeros(61, dtype=np.int64)),
        ValueError,
        r"seen_indptr.npy: expected non-decreasing offsets from 0 to 302",
    ),
    "a category position out of range": (
        lambda d: _save_npy(d / "item_categories.npy", np.full(50, 2, dtype=np.int32)),
        ValueError,
        r"item_categories.npy: category positions must lie in \[0, 2\)",
    ),
    "non-finite vectors": (
        lambda d: _save_npy(d / "user_vectors.npy", np.full((60, 8), np.inf, np.float32)),
        ValueError,
        r"user_vectors.npy: 480 of 480 values are NaN or infinite",
    ),
    "an id map of another length": (
        lambda d: (d / "ids.json").write_text(
            json.dumps(
                {
                    **json.loads((d / "ids.json").read_text()),
                    "users": IdMap(["a", "b"], name="user").to_dict(),
                }
            )
        ),
        ValueError,
        r"ids.json: 'users' holds 2 ids, recommender.json says 60 users",
    ),
    "a missing file": (
        lambda d: (d / "popularity.npy").unlink(),
        FileNotFoundError,
        r"is not a complete xcat recommender: popularity.npy is missing",
    ),
    "no recommender.json": (
        lambda d: (d / "recommender.json").unlink(),
        FileNotFoundError,
        r"is not a saved xcat recommender: recommender.json is missing",
    ),
    "a newer format": (
        lambda d: (d / "recommender.json").write_text(
            json.dumps({**json.loads((d / "recommender.json").read_text()), "format_version": 9})
        ),
        ValueError,
        r"recommender format version 9 .* Upgrade xcat",
    ),
}


@pytest.mark.parametrize("case", list(TAMPER))
def test_load_names_the_file_that_does_not_fit(saved, case):
    tamper, error, message = TAMPER[case]
    tamper(saved)
    with pytest.raises(error, match=message):
        Recommender.load(saved)


def test_load_refuses_the_leftovers_of_an_interrupted_save(tmp_path, saved):
    tmp = tmp_path / ".rec.xcat-tmp-1234abcd"
    saved.rename(tmp)
    with pytest.raises(ValueError, match="temporary directory of an interrupted xcat save"):
        Recommender.load(tmp)
    old = tmp_path / ".rec.xcat-old-1234abcd"
    tmp.rename(old)
    with pytest.raises(FileNotFoundError, match=r"kept the previous recommender as .*xcat-old"):
        Recommender.load(saved)
    with pytest.raises(ValueError, match="previous recommender kept by an interrupted xcat save"):
        Recommender.load(old)


# ---------------------------------------------------------------- real data


def test_round_trip_on_a_real_amazon_slice(tmp_path, data_dir):
    # Real ids (reviewer ids, ASINs; one ASIN in both categories), real repeat purchases and
    # popularity skew, through the recommender the workflow builds.
    from recommenders_real import real_slice_recommender

    rec, protocol = real_slice_recommender(data_dir, "amazon5:toys:sports", 1500)
    vocab = protocol.data.vocab
    loaded = Recommender.load(rec.save(tmp_path / "rec"))
    users = [*vocab.users.decode(protocol.test_cold.users[:20]), "not-a-reviewer"]
    users += list(vocab.users.decode(protocol.test_all.users[-20:]))
    target = list(protocol.data.target_domain)
    assert_same_recommendations(rec, loaded, users, [target, None])
