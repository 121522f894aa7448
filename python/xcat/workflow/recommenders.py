"""A run's saved recommenders: ``RUN/recommenders/<name>``, one per model, ready to serve.

``xcat quickstart`` and ``xcat transfer`` save, next to each model
``RUN/models/<name>``, its :class:`~xcat.recommend.Recommender`
(:meth:`~xcat.recommend.Recommender.save`): the model's embeddings with
the run's training history, id maps and categories, so that
``xcat recommend`` loads it without reloading or splitting the data, and
without PyTorch. Each records (``extra``) the model it was built from,
by a digest of the model's files (:func:`model_digest`): a model saved
again since (retrained, updated) does not match, and
:func:`saved_recommender` then says so instead of answering with stale
embeddings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xcat.workflow.rundir import MODELS_DIR, RECOMMENDERS_DIR, SPLIT_KEY

if TYPE_CHECKING:
    from xcat.recommend import Recommender
    from xcat.workflow.rundir import Run

__all__ = ["model_digest", "save_recommender", "saved_recommender"]

#: Files of a saved model (xcat.models.save) that determine its embeddings and vocabulary.
_MODEL_FILES = ("config.json", "vocab.json", "model.safetensors", "mapper.safetensors")
_CHUNK = 1 << 20


def model_digest(model_dir: str | Path) -> str:
    """SHA-256 (hex) of a saved model's files, so a recommender knows which model it serves.

    Parameters
    ----------
    model_dir : str or pathlib.Path
        A directory written by :func:`xcat.models.save`: its
        ``config.json``, ``vocab.json`` and weights, and those of its
        ``source/`` and ``target/`` parts for a mapped model, by relative
        path. Other files (``feedback.json``, notes) do not count.

    Returns
    -------
    str
        64 hex digits.

    Raises
    ------
    FileNotFoundError
        If ``model_dir`` has no ``config.json``.
    """
    d = Path(model_dir)
    if not (d / "config.json").is_file():
        raise FileNotFoundError(f"{d} is not a saved xcat model: config.json is missing")
    h = hashlib.sha256()
    for sub in ("", "source", "target"):
        for name in _MODEL_FILES:
            f = d / sub / name
            if not f.is_file():
                continue
            rel = f"{sub}/{name}" if sub else name
            h.update(f"{rel}:{f.stat().st_size};".encode())
            with open(f, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
    return h.hexdigest()


def save_recommender(
    run_dir: str | Path,
    name: str,
    model: Any,
    data: Any,
    *,
    split: Mapping[str, Any] | None = None,
) -> Path:
    """Build the recommender of the saved model ``RUN/models/<name>`` and save it.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run directory; the model must already be saved as
        ``RUN/models/<name>`` (its digest is recorded).
    name : str
        The model's name (a strategy, ``scratch``...).
    model
        The model itself (``user_embeddings()``, ``item_embeddings()``).
    data : xcat.transfer.TransferData
        The run's split: its source and target training interactions are
        the history (:func:`~xcat.workflow.experiment.build_recommender`);
        its ``target_domain`` is the default category of ``xcat recommend``.
    split : dict, optional
        The split's identity (:func:`~xcat.workflow.rundir.split_identity`),
        recorded.

    Returns
    -------
    pathlib.Path
        ``RUN/recommenders/<name>``, with ``extra`` ``strategy``, ``model``
        (``models/<name>``), ``model_sha256`` (:func:`model_digest`),
        ``target`` (the target categories) and ``split``.
    """
    from xcat.workflow.experiment import build_recommender

    run_dir = Path(run_dir)
    extra: dict[str, Any] = {
        "strategy": name,
        "model": f"{MODELS_DIR}/{name}",
        "model_sha256": model_digest(run_dir / MODELS_DIR / name),
        "target": list(data.target_domain),
    }
    if split is not None:
        extra[SPLIT_KEY] = dict(split)
    out = run_dir / RECOMMENDERS_DIR / name
    build_recommender(model, data).save(out, extra=extra)
    return out


def saved_recommender(run: Run, name: str) -> tuple[Recommender | None, str]:
    """Load the run's saved recommender of model ``name`` if it serves that model as saved.

    Parameters
    ----------
    run : Run
    name : str
        A model of the run.

    Returns
    -------
    (Recommender or None, str)
        The recommender (its ``metadata["extra"]["target"]`` are the run's
        target categories) and ``""``; or None and one line saying why
        there is none to use: the run has none (made before xcat saved
        them, or a model added by ``xcat feedback``), the model was saved
        again since, or the saved recommender cannot be read (the error).
    """
    from xcat.recommend import Recommender
    from xcat.recommend.io import read_metadata

    path = run.recommender_path(name)
    if not path.exists():
        return None, f"{path} does not exist (a run or model made before xcat saved recommenders)"
    try:
        extra = read_metadata(path).get("extra", {})
        if extra.get("model_sha256") != model_digest(run.model_path(name)):
            return None, (
                f"{path} was built from another version of {run.model_path(name)} (saved again "
                "since: retrained or updated)"
            )
        if not _is_categories(extra.get("target")):
            return None, f"{path} does not record the run's target categories"
        return Recommender.load(path), ""
    except (OSError, ValueError) as e:
        return None, f"{path} cannot be used: {e}"


def _is_categories(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
