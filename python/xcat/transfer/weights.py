"""Weight moves between models as pure functions over state-dict keys.

Nothing here touches a model: each function takes state dicts (or key
lists) and returns a new dict or list, so every move can be tested and
logged on its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only tensor methods are called: importing this module needs no torch
    import torch

__all__ = ["copy_weights", "match_names", "reinit_weights"]


def _prefixes(keys: Iterable[str]) -> list[str]:
    """Every dotted prefix of the keys (``user_tower``, ``user_tower.mlp``...)."""
    out: dict[str, None] = {}
    for k in keys:
        parts = k.split(".")
        for j in range(1, len(parts)):
            out[".".join(parts[:j])] = None
    return list(out)


def match_names(names: Iterable[str], keys: Sequence[str], *, what: str = "names") -> list[str]:
    """Keys selected by exact names or dotted prefixes.

    ``"user_tower.mlp"`` selects ``user_tower.mlp.0.weight``,
    ``user_tower.mlp.0.bias``... (a prefix matches whole dotted components
    only, so ``"user_tower.m"`` matches nothing); ``"user_tower.mlp.0.weight"``
    selects itself.

    Parameters
    ----------
    names : iterable of str
        Names or prefixes.
    keys : sequence of str
        Available keys (e.g. ``[n for n, _ in model.named_parameters()]``).
    what : str, default "names"
        Argument name for messages.

    Returns
    -------
    list of str
        Selected keys, in the order of ``keys``, without repeats.

    Raises
    ------
    ValueError
        If a name matches no key; the message lists the closest valid names
        (:func:`difflib.get_close_matches`) so a typo is easy to fix.
    """
    names = [names] if isinstance(names, str) else list(names)
    valid = list(keys) + _prefixes(keys)
    chosen: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"{what}: expected strings, got {name!r}")
        hits = [k for k in keys if k == name or k.startswith(name + ".")]
        if not hits:
            close = difflib.get_close_matches(name, valid, n=5, cutoff=0.5)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(
                f"{what}: {name!r} matches no parameter{hint} "
                f"(top-level names: {', '.join(sorted({k.split('.')[0] for k in keys}))})"
            )
        chosen.update(hits)
    return [k for k in keys if k in chosen]


def copy_weights(
    source: Mapping[str, torch.Tensor],
    target: Mapping[str, torch.Tensor],
    keys: Iterable[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Return a new state dict: ``target`` with the values of ``source`` at ``keys``.

    Parameters
    ----------
    source, target : mapping of str to torch.Tensor
        State dicts (e.g. of a pretrained and of a fresh model).
    keys : iterable of str, optional
        Keys to copy; default every key of ``target``.

    Returns
    -------
    dict of str to torch.Tensor
        Copied tensors are cloned; others are ``target``'s own tensors.

    Raises
    ------
    ValueError
        If a key is missing from either dict or shapes differ.
    """
    keys = list(target) if keys is None else list(keys)
    missing = [k for k in keys if k not in source or k not in target]
    if missing:
        raise ValueError(f"keys: {missing} are missing from the source or target state dict")
    wrong = [k for k in keys if source[k].shape != target[k].shape]
    if wrong:
        details = ", ".join(
            f"{k} {tuple(source[k].shape)} vs {tuple(target[k].shape)}" for k in wrong
        )
        raise ValueError(f"keys: shapes differ between source and target: {details}")
    out = dict(target)
    for k in keys:
        out[k] = source[k].detach().clone()
    return out


def reinit_weights(
    state: Mapping[str, torch.Tensor],
    fresh: Mapping[str, torch.Tensor],
    names: Iterable[str],
    *,
    parameters: Sequence[str] | None = None,
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Replace the weights selected by names/prefixes with freshly drawn ones.

    Parameters
    ----------
    state : mapping of str to torch.Tensor
        Pretrained state dict.
    fresh : mapping of str to torch.Tensor
        State dict of a freshly initialised model of the same config.
    names : iterable of str
        Names or prefixes (see :func:`match_names`).
    parameters : sequence of str, optional
        Keys that may be re-initialised (default every key of ``state``);
        pass the parameter names to leave buffers (histories, item features)
        alone.

    Returns
    -------
    (dict, list of str)
        The new state dict and the keys that were replaced.
    """
    keys = list(state) if parameters is None else list(parameters)
    chosen = match_names(names, keys, what="reinit")
    return copy_weights(fresh, state, chosen), chosen
