"""Save and load models: one directory, no pickle.

A two-tower model (format ``"xcat.TwoTower"``)::

    model.safetensors   parameters and buffers (histories, item features)
    config.json         format "xcat.TwoTower", format_version, xcat_version, config,
                        training {frozen, trained_until}, extra
    vocab.json          id maps of users, items, features; item domains (if the model has a vocab)

An EMCDR mapped model (:class:`xcat.models.mapped.MappedModel`, format
``"xcat.MappedModel"``)::

    source/             the source TwoTower, saved as above
    target/             the target TwoTower, saved as above
    mapper.safetensors  the mapping MLP ("mapper.net.*") and the cold-start mask ("cold", uint8)
    config.json         format "xcat.MappedModel", format_version, xcat_version,
                        mapper {source_dim, hidden_dim, target_dim}, extra

:func:`load` reads either, dispatching on ``config.json``'s ``format``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

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


def _xcat_version() -> str:
    try:
        from xcat import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover - extension not built
        return "unknown"


def save(
    model: TwoTower | MappedModel, path: str | Path, *, extra: dict[str, Any] | None = None
) -> Path:
    """Write a model to a directory.

    Parameters
    ----------
    model : TwoTower or MappedModel
        A mapped model (EMCDR) is written as ``source/`` and ``target/``
        (two saved two-tower models), ``mapper.safetensors`` and
        ``config.json`` (see the module docstring).
    path : str or pathlib.Path
        Directory, created if needed; the files of the model are
        overwritten, and the top-level files of the other format removed.
    extra : dict, optional
        JSON-serialisable metadata stored in ``config.json`` (e.g. the
        training config, the strategy, metrics).

    Returns
    -------
    pathlib.Path
        The directory.

    Raises
    ------
    ValueError
        If ``model`` is neither a TwoTower nor a MappedModel, or a mapped
        model's parts do not fit together (mapper sizes, cold mask length,
        the users or items of the two models' vocabularies).
    """
    if isinstance(model, TwoTower):
        return _save_two_tower(model, Path(path), extra)
    if isinstance(model, MappedModel):
        return _save_mapped(model, Path(path), extra)
    raise ValueError(f"model: expected a TwoTower or a MappedModel, got {type(model).__name__}")


def _readable(path: Path) -> None:
    """Give a weights file the permissions of the JSON files beside it.

    safetensors writes owner-only (0600) files; a model directory shared
    with a serving user should not need a chmod.
    """
    mask = os.umask(0)
    os.umask(mask)
    path.chmod(0o666 & ~mask)


def _meta(fmt: str, extra: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
    return {
        "format": fmt,
        "format_version": _VERSIONS[fmt],
        "xcat_version": _xcat_version(),
        **fields,
        "extra": extra or {},
    }


def _save_two_tower(model: TwoTower, d: Path, extra: dict[str, Any] | None) -> Path:
    from safetensors.torch import save_file

    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(d / WEIGHTS), metadata={"format": _FORMAT})
    _readable(d / WEIGHTS)
    meta = _meta(
        _FORMAT,
        extra,
        config=model.config.to_dict(),
        # what a feedback update needs to continue training the same way
        training={"frozen": list(model.frozen), "trained_until": model.trained_until},
    )
    (d / CONFIG).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    vocab_file = d / VOCAB
    if model.vocab is not None:
        vocab_file.write_text(model.vocab.to_json(), encoding="utf-8")
    elif vocab_file.exists():
        vocab_file.unlink()
    (d / MAPPER).unlink(missing_ok=True)
    return d


def _save_mapped(model: MappedModel, d: Path, extra: dict[str, Any] | None) -> Path:
    from safetensors.torch import save_file

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
    d.mkdir(parents=True, exist_ok=True)
    _save_two_tower(model.source_model, d / SOURCE, {"role": "source"})
    _save_two_tower(model.target_model, d / TARGET, {"role": "target"})
    state = {
        f"mapper.{k}": v.detach().cpu().contiguous() for k, v in model.mapper.state_dict().items()
    }
    state["cold"] = torch.from_numpy(cold.astype(np.uint8))
    save_file(state, str(d / MAPPER), metadata={"format": _MAPPED_FORMAT})
    _readable(d / MAPPER)
    meta = _meta(_MAPPED_FORMAT, extra, mapper=sizes)
    (d / CONFIG).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    for stale in (WEIGHTS, VOCAB):  # left by a two-tower model saved here before
        (d / stale).unlink(missing_ok=True)
    return d


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
        If the directory or ``config.json`` is missing.
    ValueError
        If the file is not an xcat model or has a newer format version.
    """
    return _read_metadata(Path(path))


def _read_metadata(d: Path, expected: str | None = None) -> dict[str, Any]:
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: no such model directory")
    f = d / CONFIG
    if not f.is_file():
        raise FileNotFoundError(f"{d} is not a saved xcat model: {CONFIG} is missing")
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{f}: not an xcat model (not valid JSON: {e})") from None
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
        ``source/`` or ``target/``).
    ValueError
        If the format is not an xcat model's, its version is newer than this
        xcat reads, the weights do not match the config
        (missing/unexpected tensors, wrong shapes), or ``vocab.json`` does
        not fit the weights: an id map (users, items, feature tokens) with
        another number of ids than its tables have rows, or item feature
        rows of another width (the message names the file, the id map and
        both sizes). For a mapped model, each of ``source/`` and
        ``target/`` is checked so, and their vocabularies must hold the same
        users and items in the same order.
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


def _check_state(wfile: Path, own: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise ValueError(
            f"{wfile}: weights do not match {CONFIG}: missing {missing}, unexpected {unexpected}, "
            f"wrong shape {wrong}"
        )


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


def _load_two_tower(d: Path, meta: dict[str, Any], device: str | torch.device) -> TwoTower:
    from safetensors.torch import load_file

    wfile = d / WEIGHTS
    if not wfile.is_file():
        raise FileNotFoundError(f"{d} is not a complete xcat model: {WEIGHTS} is missing")
    config = TwoTowerConfig.from_dict(meta["config"])
    vfile = d / VOCAB
    vocab = _read_vocab(vfile) if vfile.is_file() else None
    model = TwoTower(config)
    state = load_file(str(wfile))
    _check_state(wfile, model.state_dict(), state)
    if vocab is not None:
        _check_vocab(vfile, wfile, vocab, model)
    model.vocab = vocab
    model.load_state_dict(state)
    training = meta.get("training", {})
    model.frozen = tuple(training.get("frozen", ()))
    model.trained_until = training.get("trained_until")
    model.metadata = meta
    return model.to(device).eval()


def _load_mapped(d: Path, meta: dict[str, Any], device: str | torch.device) -> MappedModel:
    from safetensors.torch import load_file

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
    mapper = EmcdrMapper(sizes["source_dim"], sizes["target_dim"], sizes["hidden_dim"])
    own = {f"mapper.{k}": v for k, v in mapper.state_dict().items()}
    own["cold"] = torch.empty(tc.n_users, dtype=torch.uint8)
    state = load_file(str(mfile))
    _check_state(mfile, own, state)
    cold = state.pop("cold")
    if cold.dtype != torch.uint8 or bool((cold > 1).any()):
        raise ValueError(f"{mfile}: 'cold' must be a uint8 mask of 0/1, got {cold.dtype}")
    mapper.load_state_dict({k.removeprefix("mapper."): v for k, v in state.items()})
    model = MappedModel(source, target, mapper, cold.numpy().astype(bool), metadata=meta)
    return model.to(device).eval()
