"""Durable saves and hostile files (issue 12): xcat.models.save / load under faults.

A save is killed (or fails, as on a full disk) before each of its write
steps; the model at the path must then be the previous one, bit for bit, or
the new one, complete, and nothing beside it may load as a model. Loading
refuses tampered sizes before allocating, truncated or garbled weights,
half-written directories; saving refuses a folder that is not a model and
NaN weights.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")

import torch  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from xcat import _atomic  # noqa: E402
from xcat.models import TwoTower, Vocab, load, save  # noqa: E402
from xcat.models import io as mio  # noqa: E402
from xcat.models.io import read_metadata  # noqa: E402
from xcat.models.mapped import EmcdrMapper, MappedModel  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def vocab():
    data, _, _ = make_cross_domain(n_users=30, items_per_cluster=6, k=2, per_user=3, seed=3)
    return Vocab.from_interactions(data.source, data.target)


def two_tower(vocab, seed):
    torch.manual_seed(seed)
    return TwoTower(vocab.model_config(dim=4, embedding_dim=4, hidden_dims=(8,)), vocab)


def mapped(vocab, seed):
    src, tgt = two_tower(vocab, seed), two_tower(vocab, seed + 100)
    torch.manual_seed(seed)
    cold = np.arange(vocab.n_users) % 3 == 0
    return MappedModel(src, tgt, EmcdrMapper(4, 4, 6), cold)


def snapshot(model):
    """Every saved tensor of a model (two-tower or mapped), by name."""
    if isinstance(model, TwoTower):
        return {k: v.clone() for k, v in model.state_dict().items()}
    out = {f"source.{k}": v for k, v in snapshot(model.source_model).items()}
    out.update({f"target.{k}": v for k, v in snapshot(model.target_model).items()})
    out.update({f"mapper.{k}": v.clone() for k, v in model.mapper.state_dict().items()})
    out["cold"] = torch.from_numpy(np.asarray(model.cold))
    return out


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


MAKERS = {"two_tower": two_tower, "mapped": mapped}


class Killed(BaseException):
    """Stands for the process dying: raised at one step, and at every later one."""


class Faults:
    """Make the ``at``-th write step of a save fail; count the steps."""

    def __init__(self, at, exc):
        self.at, self.exc, self.n, self.dead = at, exc, 0, False

    def wrap(self, fn):
        def step(*args, **kwargs):
            if self.dead:  # a killed process does nothing more (no cleanup, no restore)
                raise Killed
            self.n += 1
            if self.n == self.at:
                self.dead = self.exc is Killed
                raise self.exc
            return fn(*args, **kwargs)

        return step


def install(monkeypatch, faults, *, exchange):
    """Route every write step of ``save`` through ``faults``.

    The model files are written by ``xcat.models.io``; the directory is
    carried over, synced and swapped by ``xcat._atomic`` (shared with the
    recommender's save), so both modules' steps are wrapped.
    """
    if not exchange:
        monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)
    steps = [
        (mio, "_write_tensors"),
        (mio, "write_text"),
        (mio, "fsync_dir"),
        (_atomic, "_carry"),
        (_atomic, "_exchange"),
        (_atomic, "fsync_dir"),
    ]
    if faults.exc is Killed:
        # a killed process removes nothing; a failing one cleans up
        steps.append((_atomic, "_discard"))
    for module, name in steps:
        monkeypatch.setattr(module, name, faults.wrap(getattr(module, name)))
    monkeypatch.setattr(mio.os, "fsync", faults.wrap(os.fsync))
    monkeypatch.setattr(mio.os, "rename", faults.wrap(os.rename))


def exchange_works(tmp_path):
    a, b = tmp_path / "xa", tmp_path / "xb"
    a.mkdir()
    b.mkdir()
    (a / "f").touch()
    ok = _atomic._exchange(a, b)
    if ok:
        assert (b / "f").exists() and not (a / "f").exists()
    return ok


def siblings_do_not_load(d):
    """Nothing beside the model directory passes for a model."""
    for other in d.parent.iterdir():
        if other.name == d.name:
            continue
        with pytest.raises((ValueError, FileNotFoundError), match="interrupted xcat save"):
            load(other)
        with pytest.raises(ValueError, match="interrupted xcat save"):
            read_metadata(other)


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
@pytest.mark.parametrize("kind", list(MAKERS))
def test_a_save_killed_at_any_step_leaves_the_old_or_the_new_model(
    vocab, kind, exchange, tmp_path, monkeypatch
):
    if exchange and not exchange_works(tmp_path):
        pytest.skip("this filesystem cannot exchange two directories (renameat2)")
    old, new = MAKERS[kind](vocab, 1), MAKERS[kind](vocab, 2)
    old_s, new_s = snapshot(old), snapshot(new)
    assert not same(old_s, new_s)
    outcomes = []
    for at in range(1, 200):
        parent = tmp_path / f"k{at}"
        d = save(old, parent / "m")
        (d / "notes.txt").write_text("mine")  # not a model file: carried over
        faults = Faults(at, Killed)
        with monkeypatch.context() as m:
            install(m, faults, exchange=exchange)
            try:
                save(new, d)
            except Killed:
                pass
        if d.exists():
            got = snapshot(load(d))
            assert same(got, old_s) or same(got, new_s), f"killed at step {at}: a mixed model"
            outcomes.append("new" if same(got, new_s) else "old")
            assert (d / "notes.txt").read_text() == "mine"
        else:
            # only between the two renames of the fallback: the previous model sits beside it
            assert not exchange
            with pytest.raises(FileNotFoundError, match="interrupted save kept the previous") as e:
                load(d)
            backup = next(parent.glob(".m.xcat-old-*"))
            assert str(backup) in str(e.value)
            backup.rename(d)
            assert same(snapshot(load(d)), old_s)
            outcomes.append("restored")
            continue
        siblings_do_not_load(d)
        if not faults.dead:  # the save ran to its end: every step was tried
            break
    else:
        raise AssertionError("the save never completed")
    assert outcomes[-1] == "new" and outcomes[0] == "old" and len(outcomes) >= 6
    # once the new model is in place it stays: no step after the swap goes back
    first_new = outcomes.index("new")
    assert set(outcomes[first_new:]) == {"new"}
    assert set(outcomes[:first_new]) <= {"old", "restored"}
    assert ("restored" in outcomes) == (not exchange)


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
@pytest.mark.parametrize("kind", list(MAKERS))
def test_a_failing_write_keeps_the_previous_model_and_leaves_nothing(
    vocab, kind, exchange, tmp_path, monkeypatch
):
    if exchange and not exchange_works(tmp_path):
        pytest.skip("this filesystem cannot exchange two directories (renameat2)")
    old, new = MAKERS[kind](vocab, 1), MAKERS[kind](vocab, 2)
    old_s, new_s = snapshot(old), snapshot(new)
    full = OSError(errno.ENOSPC, "No space left on device")
    outcomes = []
    for at in range(1, 200):
        parent = tmp_path / f"k{at}"
        d = save(old, parent / "m")
        faults = Faults(at, full)
        with monkeypatch.context() as m:
            install(m, faults, exchange=exchange)
            try:
                save(new, d)
                failed = False
            except OSError as e:
                assert e is full
                failed = True
        got = snapshot(load(d))
        assert same(got, old_s) or same(got, new_s), f"failed at step {at}: a mixed model"
        outcomes.append(("new" if same(got, new_s) else "old") + ("" if failed else " (done)"))
        assert [p.name for p in parent.iterdir()] == ["m"], f"failed at step {at}: left overs"
        if not failed:
            break
    # every failure before the swap keeps the old model; one after it (syncing the parent
    # directory) is reported with the new model in place
    first_new = outcomes.index(next(o for o in outcomes if o.startswith("new")))
    assert first_new >= 5 and set(outcomes[:first_new]) == {"old"}
    assert outcomes[-1] == "new (done)" and set(outcomes[first_new:-1]) <= {"new"}
    assert len(outcomes) - first_new <= 3


def test_a_save_killed_in_another_process_leaves_the_previous_model(vocab, tmp_path):
    old = two_tower(vocab, 1)
    d = save(old, tmp_path / "m")
    script = textwrap.dedent(
        """
        import os, sys, torch
        from xcat import _atomic
        from xcat.models import load, save
        d = sys.argv[1]
        m = load(d)
        with torch.no_grad():
            for p in m.parameters():
                p.add_(1.0)
        # die as the complete new model is about to take the old one's place
        _atomic._exchange = lambda a, b: os._exit(3)
        _atomic.os.rename = lambda a, b: os._exit(3)
        save(m, d)
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", script, str(d)], env=env, timeout=300)
    assert r.returncode == 3
    assert same(snapshot(load(d)), snapshot(old))
    left = [p for p in tmp_path.iterdir() if p.name != "m"]
    assert len(left) == 1 and left[0].name.startswith(".m.xcat-tmp-")
    assert (left[0] / "config.json").is_file()  # complete, yet not taken for a model
    with pytest.raises(ValueError, match=r"temporary directory of an interrupted xcat save"):
        load(left[0])


def test_save_refuses_a_folder_that_is_not_a_model(vocab, tmp_path):
    model = two_tower(vocab, 1)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match=r"path: .*mine is not an xcat model directory"):
        save(model, mine)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    (mine / "config.json").write_text(json.dumps({"name": "another tool"}))
    with pytest.raises(ValueError, match=r"config.json has format None"):
        save(model, mine)
    # a garbled format that is not even hashable is refused the same way, not a TypeError
    (mine / "config.json").write_text(json.dumps({"format": ["xcat.TwoTower"]}))
    with pytest.raises(ValueError, match=r"config.json has format \['xcat.TwoTower'\], not one"):
        save(model, mine)
    (mine / "config.json").write_text("{garbled")
    with pytest.raises(ValueError, match=r"config.json is not readable JSON"):
        save(model, mine)
    with pytest.raises(ValueError, match=r"path: .*thesis.tex exists and is not a directory"):
        save(model, mine / "thesis.tex")
    assert (mine / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary left
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="which does not exist"):
        save(model, tmp_path / "dangling")
    # an empty folder, a new one, and a saved model are fine
    (tmp_path / "empty").mkdir()
    assert same(snapshot(load(save(model, tmp_path / "empty"))), snapshot(model))
    assert same(snapshot(load(save(model, tmp_path / "new" / "sub"))), snapshot(model))


def test_overwriting_replaces_the_model_keeps_other_files_and_follows_a_link(vocab, tmp_path):
    a, b = two_tower(vocab, 1), two_tower(vocab, 2)
    real = save(a, tmp_path / "v1")
    (real / "feedback.json").write_text('{"steps": 3}')
    (real / "plots").mkdir()
    (real / "plots" / "loss.txt").write_text("1 0.5")
    link = tmp_path / "current"
    link.symlink_to(real, target_is_directory=True)
    mode = 0o750
    real.chmod(mode)
    save(b, link)
    assert link.is_symlink() and same(snapshot(load(real)), snapshot(b))
    assert (real / "feedback.json").read_text() == '{"steps": 3}'
    assert (real / "plots" / "loss.txt").read_text() == "1 0.5"
    assert (real.stat().st_mode & 0o777) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "v1"]
    meta = json.loads((real / "config.json").read_text())
    assert meta["files"] == ["model.safetensors", "vocab.json"]


def test_non_finite_weights_are_refused_and_the_saved_model_kept(vocab, tmp_path):
    good = two_tower(vocab, 1)
    d = save(good, tmp_path / "m")
    bad = good.clone()
    with torch.no_grad():
        bad.user_tower.user_id.weight[3, 1] = float("nan")
        bad.item_tower.mlp[0].bias[0] = float("inf")
    with pytest.raises(ValueError) as e:
        save(bad, d)
    msg = str(e.value)
    assert "non-finite weights" in msg
    assert "user_tower.user_id.weight (1 of" in msg and "item_tower.mlp.0.bias (1 of" in msg
    assert "user_tower.history.weight" not in msg
    assert same(snapshot(load(d)), snapshot(good))
    m = mapped(vocab, 1)
    with torch.no_grad():
        m.mapper.net[2].weight[0, 0] = float("-inf")
    with pytest.raises(ValueError, match=r"non-finite weights .* in mapper\.net\.2\.weight"):
        save(m, tmp_path / "mapped")
    assert not (tmp_path / "mapped").exists()


def test_a_tampered_size_is_refused_before_the_model_is_built(vocab, tmp_path, monkeypatch):
    d = save(two_tower(vocab, 1), tmp_path / "m")
    meta = json.loads((d / "config.json").read_text())
    meta["config"]["n_users"] = 10**8
    (d / "config.json").write_text(json.dumps(meta))
    built = []
    real_init = TwoTower.__init__

    def init(self, config, vocab=None):
        device = torch.empty(0).device
        built.append((config.n_users, device.type))
        if config.n_users >= 10**8 and device.type != "meta":
            raise AssertionError("load allocated the tampered size")
        real_init(self, config, vocab)

    monkeypatch.setattr(TwoTower, "__init__", init)
    with pytest.raises(ValueError) as e:
        load(d)
    msg = str(e.value)
    assert msg.startswith(f"{d / 'model.safetensors'}: weights do not match config.json")
    n = vocab.n_users
    assert f"user_tower.user_id.weight: ({n}, 4) in the file, (100000000, 4) by config.json" in msg
    assert built == [(10**8, "meta")]
    # the mapper of a mapped model: a huge hidden layer is refused the same way
    md = save(mapped(vocab, 1), tmp_path / "mapped")
    meta = json.loads((md / "config.json").read_text())
    meta["mapper"]["hidden_dim"] = 10**9
    (md / "config.json").write_text(json.dumps(meta))
    monkeypatch.setattr(EmcdrMapper, "__init__", meta_only(EmcdrMapper.__init__))
    with pytest.raises(
        ValueError, match=r"mapper.net.0.weight: \(6, 4\) in the file, \(1000000000"
    ):
        load(md)


def meta_only(real_init):
    def init(self, source_dim, target_dim, hidden_dim=None):
        if (hidden_dim or 0) >= 10**9 and torch.empty(0).device.type != "meta":
            raise AssertionError("load allocated the tampered mapper")
        real_init(self, source_dim, target_dim, hidden_dim)

    return init


def test_truncated_garbled_or_mistyped_weights_are_clear_errors(vocab, tmp_path):
    base = save(two_tower(vocab, 1), tmp_path / "base")
    raw = (base / "model.safetensors").read_bytes()
    n = iter(range(100))

    def with_weights(data, *, digest=True):
        d = save(load(base), tmp_path / f"c{next(n)}")
        (d / "model.safetensors").write_bytes(data)
        if not digest:  # as saved before xcat recorded digests: the reader's own checks
            meta = json.loads((d / "config.json").read_text())
            del meta["sha256"]
            (d / "config.json").write_text(json.dumps(meta))
        return d

    (hlen,) = struct.unpack("<Q", raw[:8])
    cases = {
        "truncated": (raw[:-100], r"describes .* bytes of tensor data, the file holds .*trunc"),
        "header cut": (raw[: 8 + hlen // 2], r"cannot hold a header of"),
        "empty": (b"", r"0 bytes, too short for a header"),
        "garbled": (b"\xff" * 8 + raw[8:], r"cannot hold a header"),
        "not JSON": (raw[:8] + b"X" + raw[9:], r"the header is not JSON"),
        "too long": (raw + b"\0" * 16, r"the file holds"),
    }
    for data, pattern in cases.values():
        with pytest.raises(ValueError, match=r"model.safetensors: not a readable safetensors file"):
            load(with_weights(data))
        with pytest.raises(ValueError, match=pattern):
            load(with_weights(data))
    # a header that passes the size checks but whose offsets do not fit the shapes
    header = json.loads(raw[8 : 8 + hlen])
    first, second = sorted(
        (k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0]
    )[:2]
    header[first]["data_offsets"][1] -= 4
    header[second]["data_offsets"][0] -= 4
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with pytest.raises(ValueError, match=r"model.safetensors: not a readable safetensors file: "):
        load(with_weights(struct.pack("<Q", len(text)) + text + raw[8 + hlen :], digest=False))
    with pytest.raises(ValueError, match=r"model.safetensors: corrupted or modified"):
        load(with_weights(struct.pack("<Q", len(text)) + text + raw[8 + hlen :]))
    # an int or bool tensor where floats belong is refused, not cast
    state = load_file(str(base / "model.safetensors"))
    key = "user_tower.user_id.weight"
    for dtype in (torch.int64, torch.bool):
        bad = dict(state, **{key: state[key].to(dtype)})
        d = save(load(base), tmp_path / f"c{next(n)}")
        save_file(bad, str(d / "model.safetensors"))
        with pytest.raises(ValueError, match=rf"wrong dtype \['{key}: (I64|BOOL) in the file"):
            load(d)


def test_weights_modified_after_saving_are_refused_by_their_sha256(vocab, tmp_path):
    """One flipped byte in the tensor data (header intact): refused, naming the file."""
    import hashlib

    def flip(wfile):
        raw = bytearray(wfile.read_bytes())
        (hlen,) = struct.unpack("<Q", raw[:8])
        raw[8 + hlen + (len(raw) - 8 - hlen) // 2] ^= 0x01  # mid tensor data
        wfile.write_bytes(bytes(raw))

    d = save(two_tower(vocab, 1), tmp_path / "m")
    wfile = d / "model.safetensors"
    recorded = read_metadata(d)["sha256"]
    assert recorded == {"model.safetensors": hashlib.sha256(wfile.read_bytes()).hexdigest()}
    flip(wfile)
    load_file(str(wfile))  # still a valid safetensors file: only the digest tells
    with pytest.raises(ValueError, match="corrupted or modified") as e:
        load(d)
    assert str(e.value).startswith(f"{wfile}: corrupted or modified since it was saved")

    # a mapped model: the mapper file, and each part's own weights
    for part in ("mapper.safetensors", "source/model.safetensors", "target/model.safetensors"):
        m = save(mapped(vocab, 1), tmp_path / f"mm-{part.replace('/', '-')}")
        assert load(m) is not None
        flip(m / part)
        with pytest.raises(ValueError, match="corrupted or modified") as e:
            load(m)
        assert str(e.value).startswith(f"{m / part}: corrupted or modified")
    meta = read_metadata(m)
    assert set(meta["sha256"]) == {"mapper.safetensors"}
    assert set(read_metadata(m / "source")["sha256"]) == {"model.safetensors"}

    # a model saved before xcat recorded digests loads, unchecked
    d = save(two_tower(vocab, 1), tmp_path / "legacy")
    meta = json.loads((d / "config.json").read_text())
    del meta["sha256"]
    (d / "config.json").write_text(json.dumps(meta))
    assert same(snapshot(load(d)), snapshot(two_tower(vocab, 1)))
    # a garbled digest table is named
    meta["sha256"] = {"model.safetensors": "not hex"}
    (d / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"legacy/config.json: 'sha256' must map file names"):
        load(d)


def test_half_written_models_are_refused_with_what_is_missing(vocab, tmp_path):
    d = save(two_tower(vocab, 1), tmp_path / "m")
    (d / "config.json").unlink()
    with pytest.raises(FileNotFoundError) as e:
        load(d)
    assert str(e.value) == (
        f"{d} is not a saved xcat model: config.json is missing (it holds model.safetensors, "
        "vocab.json: a save or a copy that stopped before config.json?)"
    )
    d = save(two_tower(vocab, 1), tmp_path / "v")
    (d / "vocab.json").unlink()  # a copy that stopped short: the config lists the vocabulary
    with pytest.raises(FileNotFoundError, match=r"v is not a complete xcat model: vocab.json is"):
        load(d)
    d = save(mapped(vocab, 1), tmp_path / "mm")
    (d / "target" / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"target is not a saved xcat model: config.json"):
        load(d)
    d = save(two_tower(vocab, 1), tmp_path / "g")
    (d / "config.json").write_text('{"format": "xcat.TwoTower", "format_')
    with pytest.raises(ValueError, match=r"g/config.json: not an xcat model \(not valid JSON"):
        load(d)
    # a model saved before config.json listed its files still loads
    d = save(two_tower(vocab, 1), tmp_path / "legacy")
    meta = json.loads((d / "config.json").read_text())
    del meta["files"]
    (d / "config.json").write_text(json.dumps(meta))
    assert load(d).vocab is not None
    meta = json.loads((save(two_tower(vocab, 1), tmp_path / "t") / "config.json").read_text())
    meta["config"]["n_users"] = "many"
    (tmp_path / "t" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"t/config.json: n_users: expected an integer"):
        load(tmp_path / "t")


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (needs the right to mount, else the test is skipped)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    cmd = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)]
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("cannot run mount")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)


def test_a_full_disk_keeps_the_previous_model(vocab, small_disk):
    old = two_tower(vocab, 1)
    d = save(old, small_disk / "m")
    torch.manual_seed(2)
    big = TwoTower(vocab.model_config(dim=4, embedding_dim=2048, hidden_dims=(8,)), vocab)
    with pytest.raises(OSError) as e:
        save(big, d)
    assert e.value.errno == errno.ENOSPC
    assert same(snapshot(load(d)), snapshot(old))
    assert [p.name for p in small_disk.iterdir() if p.name != "lost+found"] == ["m"]
