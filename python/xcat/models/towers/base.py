"""The user-encoder protocol and the registry of user towers.

A user tower maps a batch of users and their histories to unit vectors. It
is a pure function of its inputs: the histories come with the batch (the
trainer builds them from the data; :class:`~xcat.models.TwoTower` keeps the
users' stored histories only to export their vectors).

Adding a tower takes one file: ``xcat/models/towers/<name>.py`` with a
:class:`UserEncoder` subclass whose ``name`` is ``"<name>"``, decorated by
:func:`register_tower`; a model uses it with
``TwoTowerConfig(user_tower="<name>")``. :func:`get_tower` imports
``xcat.models.towers.<name>`` the first time the name is asked for, so
nothing else is edited. A tower defined elsewhere (a notebook, a test) is
available once its module has run :func:`register_tower`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

import torch
from torch import nn

if TYPE_CHECKING:
    from xcat.models.config import TwoTowerConfig

__all__ = ["TOWERS", "IdTable", "UserEncoder", "get_tower", "register_tower", "tower_names"]


@dataclass(frozen=True)
class IdTable:
    """An embedding table whose rows are users, items or item feature tokens.

    Rows follow their raw ids when the model moves to another vocabulary
    (:func:`xcat.models.remap`: growing it with new ids, or transferring it
    to a vocabulary rebuilt from other data): the row of an id known to both
    vocabularies is copied bit for bit, and a new id's row is initialised
    where its neighbours are: a new user row is the mean of the old user
    rows, a new item row the mean of the old rows of the item's category, a
    new feature row the mean of the old feature rows.

    Attributes
    ----------
    kind : {"user", "item", "feature"}
        What the rows are: ``n_users`` user rows, ``n_items`` item rows or
        ``n_features`` feature-token rows.
    padding : bool, default False
        Whether one padding row follows the id rows (row ``n_items`` of a
        history table); it stays the last row when the table grows.
    """

    kind: Literal["user", "item", "feature"]
    padding: bool = False


class UserEncoder(nn.Module):
    """Base class of the user towers ``f_u(users, history) -> unit vectors``.

    Subclasses set the class attributes, build their layers in
    ``__init__(config)`` and implement :meth:`forward`, :meth:`id_tables`
    and :meth:`reset_parameters`. Their parameter names (relative to the
    tower; the model prefixes ``user_tower.``) are the saved state-dict
    keys, so renaming one breaks saved models.

    Attributes
    ----------
    name : str
        The ``TwoTowerConfig.user_tower`` value that selects the tower.
    default_freeze : tuple of str
        Parameter names or dotted prefixes, relative to the tower, that the
        ``freeze`` transfer strategy keeps fixed by default (the layers that
        map a user to a vector, not the tables of items the source never saw).

    Parameters
    ----------
    config : TwoTowerConfig
        Sizes: ``n_users``, ``n_items`` (history rows are item rows, padded
        with ``n_items``), ``embedding_dim``, ``dim``, ``hidden_dims``,
        ``dropout``, ``max_history``, ``use_user_id``.
    """

    name: ClassVar[str] = ""
    default_freeze: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: TwoTowerConfig) -> None:
        super().__init__()

    def forward(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """User embeddings.

        Parameters
        ----------
        users : torch.LongTensor, shape (B,)
            User rows.
        history : torch.LongTensor, shape (B, L)
            Item rows of each user's history, oldest first, padded with
            ``n_items``; an all-padding row is a user without history.

        Returns
        -------
        torch.Tensor, shape (B, dim), unit rows
        """
        raise NotImplementedError

    def id_tables(self) -> dict[str, IdTable]:
        """Parameters (names relative to the tower) whose rows are users or items.

        Returns
        -------
        dict of str to IdTable
            E.g. ``{"user_id.weight": IdTable("user")}``; every other
            parameter is copied unchanged when the model grows.
        """
        raise NotImplementedError

    def reset_parameters(self) -> None:
        """Re-draw every parameter."""
        raise NotImplementedError


#: Registered user towers by name (``TwoTowerConfig.user_tower``).
TOWERS: dict[str, type[UserEncoder]] = {}

_Tower = TypeVar("_Tower", bound=type[UserEncoder])


def register_tower(cls: _Tower) -> _Tower:
    """Class decorator: make a :class:`UserEncoder` available under its ``name``.

    Returns
    -------
    type
        ``cls`` unchanged.

    Raises
    ------
    ValueError
        If ``cls`` is not a UserEncoder subclass, has no ``name``, or another
        class is registered under that name.
    """
    if not (isinstance(cls, type) and issubclass(cls, UserEncoder)):
        raise ValueError(f"register_tower: expected a UserEncoder subclass, got {cls!r}")
    name = cls.name
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_tower: {cls.__name__} has no name")
    other = TOWERS.get(name)
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise ValueError(f"register_tower: {name!r} is already {other.__qualname__}")
    TOWERS[name] = cls  # a module run again (reload) replaces its own class
    return cls


def tower_names() -> list[str]:
    """Names of the registered towers and of the tower modules shipped with xcat, sorted."""
    from xcat.models import towers

    shipped = {m.name for m in pkgutil.iter_modules(towers.__path__) if m.name != "base"}
    return sorted(set(TOWERS) | shipped)


def get_tower(name: str) -> type[UserEncoder]:
    """Return the user tower class called ``name``.

    A name not registered yet is looked for in ``xcat.models.towers.<name>``
    (imported, which registers it).

    Raises
    ------
    ValueError
        If no tower has that name (the known names are listed).
    """
    if name not in TOWERS and name.isidentifier():
        try:
            importlib.import_module(f"xcat.models.towers.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"xcat.models.towers.{name}":
                raise  # the tower module exists but something it imports does not
    try:
        return TOWERS[name]
    except KeyError:
        raise ValueError(
            f"user_tower: unknown tower {name!r}; expected one of {tower_names()}"
        ) from None
