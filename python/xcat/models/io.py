"""Save and load models: one directory, no pickle.

A two-tower model (format ``"xcat.TwoTower"``)::

    model.safetensors   parameters and buffers (histories, item features)
    config.json         format "xcat.TwoTower", format_version, xcat_version, config,
                        training {frozen, trained_until}, sha256 {model.safetensors},
                        files, extra
    vocab.json          id maps of users, items, features; item domains (if the model has a vocab)

An EMCDR mapped model (:class:`xcat.models.mapped.MappedModel`, format
``"xcat.MappedModel"``)::

    source/             the source TwoTower, saved as above
    target/             the target TwoTower, saved as above
    mapper.safetensors  the mapping MLP ("mapper.net.*") and the cold-start mask ("cold", uint8)
    config.json         format "xcat.MappedModel", format_version, xcat_version,
                        mapper {source_dim, hidden_dim, target_dim},
                        sha256 {mapper.safetensors}, files, extra

:func:`load` reads either, dispatching on ``config.json``'s ``format``.

Durability. :func:`save` never changes a model in place. It writes the whole
new model into a temporary sibling directory ``.<name>.xcat-tmp-<random>``
(same parent, so same filesystem), each file flushed to disk (``fsync``) and
``config.json`` last: a directory is a complete model only once its
``config.json`` exists, and ``config.json`` lists the files written before it
(``files``). The directories are synced too, then the new directory takes the
place of the old one in one step (Linux ``renameat2(RENAME_EXCHANGE)``;
elsewhere, or where the filesystem lacks it, two renames, the old model kept as
``.<name>.xcat-old-<random>`` until the new one is in place), and the old model
is deleted. A process killed at any point leaves at ``path`` either the
previous model or the new one, complete (with the two-rename fallback, a
kill between the renames leaves ``path`` missing and the previous model
beside it, which :func:`load` names). Files in the old directory that are not
model files (a ``feedback.json``, notes) are carried over to the new one.
The directory swap is :func:`xcat._atomic.replace_dir`, shared with
:meth:`xcat.recommend.Recommender.save`.

:func:`load` refuses what such a save never leaves as a model: a
temporary or backup sibling directory, a directory without ``config.json``
(the message names the model files it does hold), one missing a file its
``config.json`` lists. It reads each weights file's safetensors header
(names, dtypes, shapes) and compares it with the tensors ``config.json``
implies before building the model, so a tampered size allocates nothing,
and, before reading its tensors, checks the file's SHA-256 against the one
``config.json`` records (``sha256``; each part of a mapped model records
its own), so a flipped bit or an edited weights file is refused. Models
saved before xcat recorded the digest (no ``sha256``) load unchecked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xcat._atomic import (
    check_saved_dir,
    current_umask,
    fsync_dir,
    fsync_file,
    marker_check,
    read_json,
    replace_dir,
    write_text,
)
from xcat.models.config import TwoTowerConfig
from xcat.models.mapped import EmcdrMapper, MappedModel
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import Vocab

__all__ = ["FORMAT_VERSION", "MAPPED_FORMAT_VERSION", "load", "read_metadata", "save"]

FORMAT_VERSION = 1
MAPPED_FORMAT_VERSION = 1
_FORMAT = "xcat.TwoTower"
_MAPPED_FORMAT = "xcat.MappedModel"
_VERSIONS = {_FORMAT: FORMAT_VERSION, _MAPPED_FORMAT: MAPPED_FORMAT_VERSION}
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
VOCAB = "vocab.json"
MAPPER = "mapper.safetensors"
SOURCE = "source"
TARGET = "target"
_SIZES = ("source_dim", "hidden_dim", "target_dim")
#: The entries of a model directory; everything else in it is the user's.
_MODEL_ENTRIES = frozenset({WEIGHTS, CONFIG, VOCAB, MAPPER, SOURCE, TARGET})
#: The safetensors format caps its JSON header at 100 MB.
_MAX_HEADER = 100_000_000
#: Kinds of the safetensors dtype codes: a tensor must have its model tensor's kind.
_KINDS = {
    "BOOL": "bool",
    **dict.fromkeys(("U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64"), "int"),
    **dict.fromkeys(("F8_E4M3", "F8_E5M2", "F16", "BF16", "F32", "F64"), "float"),
}


def _xcat_version() -> str:
    try:
        from xcat import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover - extension not built
        return "unknown"


def save(
    model: TwoTower | MappedModel, path: str | Path, *, extra: dict[str, Any] | None = None
) -> Path:
    """Write a model to a directory, replacing the model there in one step.

    Parameters
    ----------
    model : TwoTower or MappedModel
        A mapped model (EMCDR) is written as ``source/`` and ``target/``
        (two saved two-tower models), ``mapper.safetensors`` and
        ``config.json`` (see the module docstring).
    path : str or pathlib.Path
        Directory: new (its parents are created), empty, or a saved xcat
        model, which is replaced as a whole (see the module docstring:
        until the new model is complete the previous one stays; files of
        the old directory that are not model files are kept). A symbolic
        link to a directory is followed (the link stays).
    extra : dict, optional
        JSON-serialisable metadata stored in ``config.json`` (e.g. the
        training config, the strategy, metrics).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``model`` is neither a TwoTower nor a MappedModel, a mapped
        model's parts do not fit together (mapper sizes, cold mask length,
        the users or items of the two models' vocabularies), a parameter
        or buffer holds NaN or infinite values (the message names them), or
        ``path`` is a file, or a non-empty directory that is not an xcat
        model (no ``config.json`` of an xcat format), which is left as it
        was.
    TypeError
        If ``extra`` is not JSON-serialisable.
    OSError
        If writing fails (e.g. a full disk); the previous model at
        ``path`` is then intact and the temporary directory removed.
    """
    if isinstance(model, TwoTower):
        tensors = dict(model.state_dict())
    elif isinstance(model, MappedModel):
        _check_mapped(model)
        tensors = {
            f"{role}.{k}": v
            for role in ("source_model", "target_model", "mapper")
            for k, v in getattr(model, role).state_dict().items()
        }
    else:
        raise ValueError(f"model: expected a TwoTower or a MappedModel, got {type(model).__name__}")
    _check_finite(tensors)
    return replace_dir(
        path,
        lambda d: _write_model(model, d, extra),
        why_not_ours=marker_check(CONFIG, _VERSIONS),
        own=_MODEL_ENTRIES,
        what="model",
    )


# ---------------------------------------------------------------- checks before writing


def _check_finite(tensors: dict[str, torch.Tensor]) -> None:
    """Refuse NaN or infinite values: a diverged model must not replace a good one."""
    bad = []
    for name, t in tensors.items():
        if t.is_floating_point() or t.is_complex():
            n = int(t.numel() - torch.isfinite(t.detach()).sum())
            if n:
                bad.append(f"{name} ({n:,} of {t.numel():,} values)")
    if bad:
        raise ValueError(
            f"model: non-finite weights (NaN or inf) in {', '.join(bad)}; not saved (training "
            "diverged? lower the learning rate)"
        )


def _check_mapped(model: MappedModel) -> None:
    for role in ("source_model", "target_model"):
        part = getattr(model, role)
        if not isinstance(part, TwoTower):
            raise ValueError(f"model.{role}: expected a TwoTower, got {type(part).__name__}")
    if not isinstance(model.mapper, EmcdrMapper):
        raise ValueError(
            f"model.mapper: expected an EmcdrMapper, got {type(model.mapper).__name__}"
        )
    src, tgt = model.source_model.config, model.target_model.config
    sizes = model.mapper_sizes
    if (sizes["source_dim"], sizes["target_dim"]) != (src.dim, tgt.dim):
        raise ValueError(
            f"model.mapper: maps {sizes['source_dim']} -> {sizes['target_dim']} dimensions, but "
            f"the source model has dim {src.dim} and the target model {tgt.dim}"
        )
    differ = _vocab_differences(model.source_model.vocab, model.target_model.vocab)
    if differ:
        raise ValueError(
            f"model: the source and target models' vocabularies do not list the same "
            f"{' and '.join(differ)} in the same order; both must share one vocabulary"
        )
    cold = np.asarray(model.cold)
    if cold.dtype != np.bool_ or cold.shape != (tgt.n_users,):
        raise ValueError(
            f"model.cold: expected a bool array of shape ({tgt.n_users},) (the target model's "
            f"users), got {cold.dtype} {cold.shape}"
        )


# ---------------------------------------------------------------- writing


def _write_tensors(path: Path, state: dict[str, torch.Tensor], fmt: str) -> str:
    """Write and sync a safetensors file; return its SHA-256 (hex), read back from disk."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    try:
        save_file(state, str(path), metadata={"format": fmt})
    except SafetensorError as e:
        # its I/O errors (a full disk) as the OSError they are, with their errno
        code = re.search(r"os error (\d+)", str(e))
        if code is None:
            raise
        n = int(code.group(1))
        raise OSError(n, os.strerror(n), str(path)) from e
    _readable(path)
    fsync_file(path)
    return _sha256(path)


def _sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex), read in chunks of 1 MiB."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        # hashlib.file_digest is Python 3.11+; xcat supports 3.10
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _readable(path: Path) -> None:
    """Give a weights file the permissions of the JSON files beside it.

    safetensors writes owner-only (0600) files; a model directory shared
    with a serving user should not need a chmod.
    """
    path.chmod(0o666 & ~current_umask())


def _meta(fmt: str, extra: dict[str, Any] | None, files: list[str], **fields: Any) -> str:
    meta = {
        "format": fmt,
        "format_version": _VERSIONS[fmt],
        "xcat_version": _xcat_version(),
        **fields,
        # written before config.json; load checks they are all there
        "files": files,
        "extra": extra or {},
    }
    return json.dumps(meta, indent=1)


def _write_two_tower(model: TwoTower, d: Path, extra: dict[str, Any] | None) -> None:
    """Write a two-tower model into the new, empty directory ``d``; ``config.json`` last.

    Each file is synced; the directory itself is synced by the caller
    (:func:`xcat._atomic.replace_dir`, or :func:`_write_mapped` for ``source/``
    and ``target/``).
    """
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    digest = _write_tensors(d / WEIGHTS, state, _FORMAT)
    files = [WEIGHTS]
    if model.vocab is not None:
        write_text(d / VOCAB, model.vocab.to_json())
        files.append(VOCAB)
    meta = _meta(
        _FORMAT,
        extra,
        files,
        config=model.config.to_dict(),
        # what a feedback update needs to continue training the same way
        training={"frozen": list(model.frozen), "trained_until": model.trained_until},
        sha256={WEIGHTS: digest},
    )
    write_text(d / CONFIG, meta)


def _write_mapped(model: MappedModel, d: Path, extra: dict[str, Any] | None) -> None:
    """Write a mapped model into the new, empty directory ``d``; ``config.json`` last."""
    for part, sub in ((SOURCE, model.source_model), (TARGET, model.target_model)):
        (d / part).mkdir()
        _write_two_tower(sub, d / part, {"role": part})
        fsync_dir(d / part)
    state = {
        f"mapper.{k}": v.detach().cpu().contiguous() for k, v in model.mapper.state_dict().items()
    }
    state["cold"] = torch.from_numpy(np.asarray(model.cold).astype(np.uint8))
    digest = _write_tensors(d / MAPPER, state, _MAPPED_FORMAT)
    meta = _meta(
        _MAPPED_FORMAT,
        extra,
        [SOURCE, TARGET, MAPPER],
        mapper=model.mapper_sizes,
        sha256={MAPPER: digest},
    )
    write_text(d / CONFIG, meta)


def _write_model(model: TwoTower | MappedModel, d: Path, extra: dict[str, Any] | None) -> None:
    # replace_dir syncs ``d`` itself once this returns
    if isinstance(model, MappedModel):
        _write_mapped(model, d, extra)
    else:
        _write_two_tower(model, d, extra)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """``config.json`` of a saved model (either format), checked.

    Parameters
    ----------
    path : str or pathlib.Path
        A directory written by :func:`save`.

    Returns
    -------
    dict
        ``format`` (``"xcat.TwoTower"`` or ``"xcat.MappedModel"``),
        ``format_version``, ``xcat_version``, ``extra`` and the format's own
        fields (``config``, or ``mapper``).

    Raises
    ------
    FileNotFoundError
        If the directory or ``config.json`` is missing, or a file
        ``config.json`` lists.
    ValueError
        If the file is not an xcat model or has a newer format version, or
        ``path`` is the temporary or backup directory of an interrupted save.
    """
    return _read_metadata(Path(path))


def _read_metadata(d: Path, expected: str | None = None) -> dict[str, Any]:
    check_saved_dir(d, "model")
    f = d / CONFIG
    if not f.is_file():
        held = sorted(e.name for e in os.scandir(d) if e.name in _MODEL_ENTRIES)
        hint = (
            f" (it holds {', '.join(held)}: a save or a copy that stopped before {CONFIG}?)"
            if held
            else ""
        )
        raise FileNotFoundError(f"{d} is not a saved xcat model: {CONFIG} is missing{hint}")
    meta = read_json(f, "model")
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if expected is not None and fmt != expected:
        what = "two-tower model" if expected == _FORMAT else f"{expected} model"
        raise ValueError(f"{f}: not an xcat {what} (format {fmt!r})")
    if fmt not in _VERSIONS:
        raise ValueError(
            f"{f}: not an xcat model (format {fmt!r}; expected one of {sorted(_VERSIONS)})"
        )
    version = meta.get("format_version")
    newest = _VERSIONS[fmt]
    if not isinstance(version, int) or version > newest:
        raise ValueError(
            f"{f}: model format version {version!r} was written by xcat "
            f"{meta.get('xcat_version', '?')}; this xcat ({_xcat_version()}) reads versions "
            f"up to {newest}. Upgrade xcat to load it"
        )
    files = meta.get("files")  # absent from models saved before it was written
    if files is not None:
        if not isinstance(files, list) or not all(isinstance(x, str) for x in files):
            raise ValueError(f"{f}: 'files' must be a list of file names, got {files!r}")
        missing = [x + "/" * (x in (SOURCE, TARGET)) for x in files if not (d / x).exists()]
        if missing:
            raise FileNotFoundError(
                f"{d} is not a complete xcat model: {', '.join(missing)} is missing ({CONFIG} "
                f"lists {files})"
            )
    return meta


def load(path: str | Path, *, device: str | torch.device = "cpu") -> TwoTower | MappedModel:
    """Read a model written by :func:`save`.

    Parameters
    ----------
    path : str or pathlib.Path
    device : str or torch.device, default "cpu"

    Returns
    -------
    TwoTower or MappedModel
        As ``config.json``'s ``format`` says; in eval mode, metadata in
        ``model.metadata``. A TwoTower's ``vocab`` is set when the directory
        has ``vocab.json``; a MappedModel's is its target model's.

    Raises
    ------
    FileNotFoundError
        If the directory, ``config.json`` or the weights are missing
        (``model.safetensors``; for a mapped model ``mapper.safetensors``,
        ``source/`` or ``target/``), or a file ``config.json`` lists (a
        half-written or half-copied model; the message names the files).
        A missing directory beside which an interrupted save kept the
        previous model names that backup.
    ValueError
        If ``path`` is the temporary or backup directory of an interrupted
        save, the format is not an xcat model's, its version is newer than
        this xcat reads, ``config.json`` holds invalid sizes, a weights file
        is truncated or garbled, the weights do not match the config
        (missing/unexpected tensors, wrong shapes, or an int or bool tensor
        where the model has floats, or the reverse; checked from the
        safetensors header before the model is built, so a tampered size
        allocates nothing; the message gives both shapes), or
        ``vocab.json`` does not fit the weights: an id map (users, items,
        feature tokens) with another number of ids than its tables have
        rows, or item feature rows of another width (the message names the
        file, the id map and both sizes). For a mapped model, each of
        ``source/`` and ``target/`` is checked so, and their vocabularies
        must hold the same users and items in the same order. Also if
        a weights file's SHA-256 differs from the one ``config.json``
        records (corrupted or modified since it was saved; the message
        names the file), or ``sha256`` is not a table of digests.
    """
    d = Path(path)
    meta = _read_metadata(d)
    if meta["format"] == _MAPPED_FORMAT:
        return _load_mapped(d, meta, device)
    return _load_two_tower(d, meta, device)


def _vocab_differences(a: Vocab | None, b: Vocab | None) -> list[str]:
    """Id maps (``"users"``, ``"items"``) two vocabularies disagree on; none when one is absent."""
    if a is None or b is None or a is b:
        return []
    return [name for name in ("users", "items") if getattr(a, name) != getattr(b, name)]


def _read_header(wfile: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Names, dtype codes and shapes in a safetensors file's header, read without the data.

    The format: an 8-byte little-endian header length ``n``, ``n`` bytes
    of JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}}``
    (and ``"__metadata__"``), then the data. Checked: the header fits the
    file and the data it describes is all there.
    """
    size = wfile.stat().st_size
    with open(wfile, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(
                f"{wfile}: not a readable safetensors file: {size} bytes, too short for a "
                "header (truncated?)"
            )
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, _MAX_HEADER):
            raise ValueError(
                f"{wfile}: not a readable safetensors file: a file of {size:,} bytes cannot hold "
                f"a header of {n:,} bytes (truncated or garbled)"
            )
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(
            f"{wfile}: not a readable safetensors file: the header is not JSON ({e}); garbled?"
        ) from None
    if not isinstance(header, dict):
        raise ValueError(f"{wfile}: not a readable safetensors file: the header is not a table")
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
            ok = (
                isinstance(dtype, str)
                and all(type(x) is int and x >= 0 for x in [*shape, *offsets])
                and len(offsets) == 2
            )
        except (KeyError, TypeError):
            ok = False
        if not ok:
            raise ValueError(
                f"{wfile}: not a readable safetensors file: garbled header entry {name!r}"
            )
        out[name] = (dtype, tuple(shape))
        end = max(end, offsets[1])
    if 8 + n + end != size:
        raise ValueError(
            f"{wfile}: not a readable safetensors file: the header describes {end:,} bytes of "
            f"tensor data, the file holds {size - 8 - n:,} (truncated or garbled)"
        )
    return out


def _kind(t: torch.Tensor) -> str:
    if t.dtype == torch.bool:
        return "bool"
    return "float" if t.is_floating_point() else "int"


def _check_header(
    wfile: Path, own: dict[str, torch.Tensor], header: dict[str, tuple[str, tuple[int, ...]]]
) -> None:
    """Refuse a weights file whose tensors are not those the config implies (``own``).

    ``own`` may live on the meta device: only names, shapes and dtypes are
    compared, so nothing of the config's sizes is allocated.
    """
    missing = sorted(set(own) - set(header))
    unexpected = sorted(set(header) - set(own))
    both = sorted(set(own) & set(header))
    wrong = [
        f"{k}: {header[k][1]} in the file, {tuple(own[k].shape)} by {CONFIG}"
        for k in both
        if header[k][1] != tuple(own[k].shape)
    ]
    dtypes = [
        f"{k}: {header[k][0]} in the file, {own[k].dtype} expected"
        for k in both
        if _KINDS.get(header[k][0]) != _kind(own[k])
    ]
    problems = [
        f"{what} {items}"
        for what, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", wrong),
            ("wrong dtype", dtypes),
        )
        if items
    ]
    if problems:
        raise ValueError(f"{wfile}: weights do not match {CONFIG}: {'; '.join(problems)}")


def _check_sha256(wfile: Path, meta: dict[str, Any]) -> None:
    """Refuse a weights file whose bytes differ from the SHA-256 its ``config.json`` records.

    Models saved before the digest was recorded (no ``sha256`` in
    ``config.json``) are read unchecked.
    """
    recorded = meta.get("sha256")
    if recorded is None:
        return
    cfile = wfile.parent / CONFIG
    if not isinstance(recorded, dict) or not all(
        isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for v in recorded.values()
    ):
        raise ValueError(
            f"{cfile}: 'sha256' must map file names to SHA-256 digests (64 lowercase hex "
            f"digits), got {recorded!r}"
        )
    expected = recorded.get(wfile.name)
    if expected is None:
        return
    actual = _sha256(wfile)
    if actual != expected:
        raise ValueError(
            f"{wfile}: corrupted or modified since it was saved: its SHA-256 is {actual}, "
            f"{CONFIG} records {expected}; restore the model from a copy or save it again"
        )


def _read_tensors(wfile: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(wfile))
    except SafetensorError as e:
        raise ValueError(f"{wfile}: not a readable safetensors file: {e}") from None


def _read_vocab(vfile: Path) -> Vocab:
    try:
        return Vocab.from_dict(json.loads(vfile.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{vfile}: not a readable xcat vocabulary: {e}") from None


def _check_vocab(vfile: Path, wfile: Path, vocab: Vocab, model: TwoTower) -> None:
    """Refuse a vocabulary whose id maps do not fit the tables of the weights beside it.

    Every id map must have as many ids as the tables it indexes have id
    rows: users (``n_users``), items (``n_items``), feature tokens
    (``n_features``), and one feature row of ``max_item_features`` slots per
    item. A ``vocab.json`` saved with other weights (a stale one) would
    otherwise encode ids to the wrong rows, or past the end of a table.
    ``model`` holds the config the weights were checked against.
    """
    c = model.config
    state = model.state_dict()
    tables = model.id_tables()
    n_features = len(vocab.features) if vocab.features is not None else 0
    sizes = (
        ("user", "users", vocab.n_users, c.n_users),
        ("item", "items", vocab.n_items, c.n_items),
        ("feature", "features", n_features, c.n_features),
    )
    for kind, id_map, have, want in sizes:
        if have == want:
            continue
        shapes = ", ".join(
            f"{k} {tuple(state[k].shape)}" for k, t in tables.items() if t.kind == kind
        )
        raise ValueError(
            f"{vfile}: the {id_map} id map has {have:,} ids, but {wfile.name} has {want:,} "
            f"{kind} rows ({CONFIG} n_{id_map}={want}{'; ' + shapes if shapes else ''}); the "
            f"vocabulary belongs to other weights (a stale {VOCAB}?)"
        )
    width = vocab.item_features.shape[1]
    if width != c.max_item_features:
        raise ValueError(
            f"{vfile}: the item features have {width} slots per item, but {wfile.name} has "
            f"{c.max_item_features} ({CONFIG} max_item_features={c.max_item_features}); the "
            f"vocabulary belongs to other weights (a stale {VOCAB}?)"
        )


def _config(d: Path, meta: dict[str, Any]) -> TwoTowerConfig:
    f = d / CONFIG
    config = meta.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"{f}: 'config' must be a table of model sizes, got {config!r}")
    try:
        return TwoTowerConfig.from_dict(config)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{f}: {e}") from None


def _load_two_tower(d: Path, meta: dict[str, Any], device: str | torch.device) -> TwoTower:
    wfile = d / WEIGHTS
    if not wfile.is_file():
        raise FileNotFoundError(f"{d} is not a complete xcat model: {WEIGHTS} is missing")
    config = _config(d, meta)
    training = meta.get("training", {})
    frozen = training.get("frozen", []) if isinstance(training, dict) else None
    until = training.get("trained_until") if isinstance(training, dict) else None
    if not (isinstance(frozen, list) and all(isinstance(x, str) for x in frozen)) or not (
        until is None or isinstance(until, str)
    ):
        raise ValueError(
            f"{d / CONFIG}: 'training' must hold 'frozen' (a list of parameter names) and "
            f"'trained_until' (a timestamp or null), got {training!r}"
        )
    header = _read_header(wfile)
    # the tensors the config implies, without allocating them: a tampered size fails here
    with torch.device("meta"):
        shell = TwoTower(config)
    _check_header(wfile, shell.state_dict(), header)
    vfile = d / VOCAB
    vocab = _read_vocab(vfile) if vfile.is_file() else None
    if vocab is not None:
        _check_vocab(vfile, wfile, vocab, shell)
    _check_sha256(wfile, meta)
    state = _read_tensors(wfile)
    model = TwoTower(config)
    model.vocab = vocab
    model.load_state_dict(state)
    model.frozen = tuple(frozen)
    model.trained_until = until
    model.metadata = meta
    return model.to(device).eval()


def _load_mapped(d: Path, meta: dict[str, Any], device: str | torch.device) -> MappedModel:
    f = d / CONFIG
    for part in (SOURCE, TARGET):
        if not (d / part).is_dir():
            raise FileNotFoundError(f"{d} is not a complete xcat mapped model: {part}/ is missing")
    mfile = d / MAPPER
    if not mfile.is_file():
        raise FileNotFoundError(f"{d} is not a complete xcat mapped model: {MAPPER} is missing")
    sizes = meta.get("mapper")
    if not isinstance(sizes, dict) or not all(
        type(sizes.get(k)) is int and sizes[k] > 0 for k in _SIZES
    ):
        raise ValueError(f"{f}: 'mapper' must give positive integers {list(_SIZES)}, got {sizes!r}")
    source = _load_two_tower(d / SOURCE, _read_metadata(d / SOURCE, _FORMAT), device)
    target = _load_two_tower(d / TARGET, _read_metadata(d / TARGET, _FORMAT), device)
    sc, tc = source.config, target.config
    if (sizes["source_dim"], sizes["target_dim"]) != (sc.dim, tc.dim):
        raise ValueError(
            f"{f}: the mapper maps {sizes['source_dim']} -> {sizes['target_dim']} dimensions, but "
            f"{SOURCE}/ has dim {sc.dim} and {TARGET}/ {tc.dim}"
        )
    if (sc.n_users, sc.n_items) != (tc.n_users, tc.n_items):
        raise ValueError(
            f"{d}: {SOURCE}/ has {sc.n_users} users and {sc.n_items} items, {TARGET}/ "
            f"{tc.n_users} and {tc.n_items}; both must share one vocabulary"
        )
    differ = _vocab_differences(source.vocab, target.vocab)
    if differ:
        raise ValueError(
            f"{d}: {SOURCE}/{VOCAB} and {TARGET}/{VOCAB} list the same number of users and items "
            f"but not the same {' and '.join(differ)} in the same order; both must share one "
            "vocabulary (the cold-start mask and the mapping index users by row)"
        )

    def mapper_tensors() -> dict[str, torch.Tensor]:
        mapper = EmcdrMapper(sizes["source_dim"], sizes["target_dim"], sizes["hidden_dim"])
        own = {f"mapper.{k}": v for k, v in mapper.state_dict().items()}
        own["cold"] = torch.empty(tc.n_users, dtype=torch.uint8)
        return own

    with torch.device("meta"):  # a tampered hidden_dim allocates nothing
        _check_header(mfile, mapper_tensors(), _read_header(mfile))
    _check_sha256(mfile, meta)
    state = _read_tensors(mfile)
    cold = state.pop("cold")
    if cold.dtype != torch.uint8 or bool((cold > 1).any()):
        raise ValueError(f"{mfile}: 'cold' must be a uint8 mask of 0/1, got {cold.dtype}")
    mapper = EmcdrMapper(sizes["source_dim"], sizes["target_dim"], sizes["hidden_dim"])
    mapper.load_state_dict({k.removeprefix("mapper."): v for k, v in state.items()})
    model = MappedModel(source, target, mapper, cold.numpy().astype(bool), metadata=meta)
    return model.to(device).eval()
