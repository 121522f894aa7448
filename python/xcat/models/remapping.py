"""Move a two-tower model onto another vocabulary: rows follow raw ids, not positions.

A row number means a user, an item or a feature token only through the
vocabulary it was built with. When a model meets a vocabulary built again
from other data (a changed file, another user sample: ``xcat transfer``
reloads the pretrained model and rebuilds the vocabulary from the data),
the same row number can mean another user. :func:`remap` moves every id
table the model declares (:meth:`~xcat.models.TwoTower.id_tables`) row by
row, by raw key:

- an id known to both vocabularies keeps its row, bit for bit;
- a new id starts where its neighbours are: a new user at the mean of the
  old user rows, a new item at the mean of the old rows of its category
  (the mean of all old item rows when the category is new), a new feature
  token at the mean of the old feature rows;
- an id only the old vocabulary has is dropped.

Other parameters are copied unchanged; the stored histories follow their
users and items (dropped items leave them, order kept). Growing a model
with new ids (the feedback update) is the special case where the old id
maps are prefixes of the new ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from xcat.data.idmap import IdMap
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import Vocab

__all__ = ["Remapped", "RowCounts", "category_means", "remap", "row_map", "same_ids"]

#: The id maps of a vocabulary, by the ``kind`` of the tables they index.
_MAPS = {"user": "users", "item": "items", "feature": "features"}


@dataclass(frozen=True)
class RowCounts:
    """How the rows of one id map moved from one vocabulary to another.

    Attributes
    ----------
    copied : int
        Ids of both vocabularies: their rows were copied.
    new : int
        Ids only the new vocabulary has: their rows were initialised.
    dropped : int
        Ids only the old vocabulary has: their rows were left out.
    """

    copied: int
    new: int
    dropped: int

    def to_dict(self) -> dict[str, int]:
        """Return ``{"copied": ..., "new": ..., "dropped": ...}``."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return f"{self.copied:,} copied, {self.new:,} new, {self.dropped:,} dropped"


@dataclass
class Remapped:
    """What :func:`remap` made.

    Attributes
    ----------
    model : TwoTower
        The model on the new vocabulary.
    counts : dict of str to RowCounts
        Per id map (``"users"``, ``"items"``, ``"features"``).
    """

    model: TwoTower
    counts: dict[str, RowCounts]


def row_map(old: IdMap | None, new: IdMap | None) -> np.ndarray:
    """For each row of ``new``, the row of the same raw id in ``old``, or -1.

    Parameters
    ----------
    old, new : IdMap or None
        None stands for an empty map (a vocabulary without features).

    Returns
    -------
    numpy.ndarray of int64, shape (len(new),)
        Ids are matched by value; an integer id never matches a string id.
    """
    if new is None:
        return np.zeros(0, dtype=np.int64)
    if old is None or old.kind != new.kind:
        return np.full(len(new), -1, dtype=np.int64)
    return np.asarray(old.ids.get_indexer(new.ids), dtype=np.int64)


def _counts(old: IdMap | None, rows: np.ndarray) -> RowCounts:
    copied = int((rows >= 0).sum())
    return RowCounts(copied, len(rows) - copied, (len(old) if old is not None else 0) - copied)


def same_ids(a: Vocab, b: Vocab) -> bool:
    """Whether two vocabularies give every row number the same meaning.

    Same users, items and feature tokens in the same order, the same
    categories of the items and the same feature tokens of each item; a
    model built with one then needs no remapping for the other.
    """
    if a is b:
        return True
    same_features = (
        a.features == b.features if a.features is not None and b.features is not None else None
    )
    return bool(
        a.users == b.users
        and a.items == b.items
        and (same_features if same_features is not None else a.features is b.features is None)
        and np.array_equal(a.item_categories(), b.item_categories())
        and np.array_equal(a.item_features, b.item_features)
    )


def category_means(weight: torch.Tensor, categories: Any, new_categories: Any) -> torch.Tensor:
    """Rows for new items: the mean of the old items' rows of the same category.

    Parameters
    ----------
    weight : torch.Tensor, shape (n_old, e)
        The old items' rows.
    categories : numpy.ndarray, shape (n_old,)
        Category of each old item (domain numbers or names).
    new_categories : numpy.ndarray, shape (n_new,)
        Category of each new item, comparable with ``categories``.

    Returns
    -------
    torch.Tensor, shape (n_new, e)
        A new item of a category without old items gets the mean of all old rows.
    """
    categories, new_categories = np.asarray(categories), np.asarray(new_categories)
    old = weight.detach()
    overall = old.mean(dim=0)
    out = overall.expand(len(new_categories), -1).clone()
    for d in np.unique(new_categories):
        same = torch.from_numpy(np.flatnonzero(categories == d))
        if len(same):
            out[torch.from_numpy(new_categories == d)] = old[same].mean(dim=0)
    return out


def _history(model: TwoTower, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Return the stored histories in new row numbers (dropped items left out, order kept)."""
    old = model.stored_history()
    new_of_old = np.full(model.config.n_items, -1, dtype=np.int64)
    known_items = items >= 0
    new_of_old[items[known_items]] = np.flatnonzero(known_items)
    moved = np.where(old >= 0, new_of_old[np.maximum(old, 0)], -1)
    # left-align what is left, oldest first (a stable sort keeps the order)
    moved = np.take_along_axis(moved, np.argsort(moved < 0, axis=1, kind="stable"), axis=1)
    out = np.full((len(users), old.shape[1]), -1, dtype=np.int64)
    known_users = users >= 0
    out[known_users] = moved[users[known_users]]
    return out


def remap(model: TwoTower, vocab: Vocab) -> Remapped:
    """Return a copy of ``model`` on ``vocab``, every id table's rows moved by raw id.

    See the module docstring for what is copied, initialised and dropped.
    ``model`` is not modified.

    Parameters
    ----------
    model : TwoTower
        A model with a vocabulary (``model.vocab``).
    vocab : Vocab
        The vocabulary the copy is built on (its item features, sizes).

    Returns
    -------
    Remapped
        The copy (same device and train/eval mode, ``frozen`` and
        ``trained_until`` kept, ``vocab`` set) and the counts per id map.

    Raises
    ------
    ValueError
        If the model has no vocabulary, or a parameter other than an id
        table has another shape on ``vocab`` (one vocabulary has item
        features and the other none).
    """
    old_vocab = model.vocab
    if old_vocab is None:
        raise ValueError("model: has no vocabulary, so its rows cannot be matched by raw id")
    c = model.config
    if c.n_domains and list(old_vocab.domains) != list(vocab.domains):
        raise ValueError(
            f"vocab: the model's category embedding is for the domains {list(old_vocab.domains)}, "
            f"the new vocabulary has {list(vocab.domains)}; a sequence tower cannot be moved to "
            "other domains"
        )
    n_features = len(vocab.features) if vocab.features is not None else 0
    cfg = dataclasses.replace(
        c,
        n_users=vocab.n_users,
        n_items=vocab.n_items,
        n_features=n_features,
        max_item_features=vocab.item_features.shape[1],
    )
    new = TwoTower(cfg, vocab)  # item features from the vocabulary; every value is set below
    new.frozen, new.trained_until = model.frozen, model.trained_until
    rows = {
        kind: row_map(getattr(old_vocab, attr), getattr(vocab, attr))
        for kind, attr in _MAPS.items()
    }
    old_sizes = {"user": c.n_users, "item": c.n_items, "feature": c.n_features}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    out = new.state_dict()
    tables = model.id_tables()
    for name, value in state.items():
        table = tables.get(name)
        if name in model.input_buffers:
            continue  # rebuilt from the vocabulary (features) or below (histories)
        if name not in out or (table is None and out[name].shape != value.shape):
            got = tuple(out[name].shape) if name in out else "absent"
            raise ValueError(
                f"vocab: {name} has shape {tuple(value.shape)} in the model and {got} on the "
                f"new vocabulary (item features: {c.n_features} tokens before, {n_features} "
                "now); only id tables can change size"
            )
        if table is None:
            out[name] = value
            continue
        r, n_old = rows[table.kind], old_sizes[table.kind]
        old_rows, dest = value[:n_old], out[name]
        known = r >= 0
        dest[torch.from_numpy(np.flatnonzero(known))] = old_rows[torch.from_numpy(r[known])]
        fresh = np.flatnonzero(~known)
        if len(fresh):
            if table.kind == "item":
                init = category_means(
                    old_rows, old_vocab.item_categories(), vocab.item_categories()[fresh]
                )
            else:
                init = old_rows.mean(dim=0).expand(len(fresh), -1)
            dest[torch.from_numpy(fresh)] = init
        if table.padding:
            dest[len(r) :] = value[n_old:]
    new.load_state_dict(out)
    new.set_history(_history(model, rows["user"], rows["item"]))
    counts = {_MAPS[kind]: _counts(getattr(old_vocab, _MAPS[kind]), r) for kind, r in rows.items()}
    new.train(model.training)
    return Remapped(new.to(model.device), counts)
