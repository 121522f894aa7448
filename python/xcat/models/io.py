"""Save and load a two-tower model: one directory, no pickle.

Layout::

    model.safetensors   parameters and buffers (histories, item features)
    config.json         format "xcat.TwoTower", format_version, xcat_version, config, extra
    vocab.json          id maps of users, items, features; item domains (if the model has a vocab)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from xcat.models.config import TwoTowerConfig
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import Vocab

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT_VERSION = 1
_FORMAT = "xcat.TwoTower"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
VOCAB = "vocab.json"


def _xcat_version() -> str:
    try:
        from xcat import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover - extension not built
        return "unknown"


def save(model: TwoTower, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
    """Write a model to a directory.

    Parameters
    ----------
    model : TwoTower
    path : str or pathlib.Path
        Directory, created if needed; the three files are overwritten.
    extra : dict, optional
        JSON-serialisable metadata stored in ``config.json`` (e.g. the
        training config, the strategy, metrics).

    Returns
    -------
    pathlib.Path
        The directory.
    """
    from safetensors.torch import save_file

    if not isinstance(model, TwoTower):
        raise ValueError(f"model: expected a TwoTower, got {type(model).__name__}")
    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(d / WEIGHTS), metadata={"format": _FORMAT})
    meta = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "xcat_version": _xcat_version(),
        "config": model.config.to_dict(),
        "extra": extra or {},
    }
    (d / CONFIG).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    vocab_file = d / VOCAB
    if model.vocab is not None:
        vocab_file.write_text(model.vocab.to_json(), encoding="utf-8")
    elif vocab_file.exists():
        vocab_file.unlink()
    return d


def read_metadata(path: str | Path) -> dict[str, Any]:
    """``config.json`` of a saved model, checked.

    Raises
    ------
    FileNotFoundError
        If the directory or ``config.json`` is missing.
    ValueError
        If the file is not an xcat model or has a newer format version.
    """
    d = Path(path)
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: no such model directory")
    f = d / CONFIG
    if not f.is_file():
        raise FileNotFoundError(f"{d} is not a saved xcat model: {CONFIG} is missing")
    meta = json.loads(f.read_text(encoding="utf-8"))
    if meta.get("format") != _FORMAT:
        raise ValueError(f"{f}: not an xcat two-tower model (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{f}: model format version {version!r} was written by xcat "
            f"{meta.get('xcat_version', '?')}; this xcat ({_xcat_version()}) reads versions "
            f"up to {FORMAT_VERSION}. Upgrade xcat to load it"
        )
    return meta


def load(path: str | Path, *, device: str | torch.device = "cpu") -> TwoTower:
    """Read a model written by :func:`save`.

    Parameters
    ----------
    path : str or pathlib.Path
    device : str or torch.device, default "cpu"

    Returns
    -------
    TwoTower
        In eval mode; ``model.vocab`` is set when the directory has
        ``vocab.json``; metadata in ``model.metadata``.

    Raises
    ------
    FileNotFoundError
        If the directory, ``config.json`` or ``model.safetensors`` is missing.
    ValueError
        If the format version is newer than this xcat reads, or the weights
        do not match the config (missing/unexpected tensors, wrong shapes).
    """
    from safetensors.torch import load_file

    d = Path(path)
    meta = read_metadata(d)
    wfile = d / WEIGHTS
    if not wfile.is_file():
        raise FileNotFoundError(f"{d} is not a complete xcat model: {WEIGHTS} is missing")
    config = TwoTowerConfig.from_dict(meta["config"])
    vocab = None
    if (d / VOCAB).is_file():
        vocab = Vocab.from_dict(json.loads((d / VOCAB).read_text(encoding="utf-8")))
    model = TwoTower(config)
    model.vocab = vocab
    state = load_file(str(wfile))
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise ValueError(
            f"{wfile}: weights do not match {CONFIG}: missing {missing}, unexpected {unexpected}, "
            f"wrong shape {wrong}"
        )
    model.load_state_dict(state)
    model.metadata = meta  # type: ignore[attr-defined]
    return model.to(device).eval()
