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

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from xcat.models.config import TwoTowerConfig

__all__ = [
    "TOWERS",
    "IdTable",
    "SequenceTower",
    "UserEncoder",
    "get_tower",
    "last_positions",
    "left_align",
    "register_tower",
    "tower_names",
]


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
    sequential : bool
        Whether the tower reads the history as a time-ordered sequence and
        implements :meth:`encode_positions` (one output per prefix); the
        trainer then learns from every (prefix -> next item) pair of a user
        at once.

    Parameters
    ----------
    config : TwoTowerConfig
        Sizes: ``n_users``, ``n_items`` (history rows are item rows, padded
        with ``n_items``), ``embedding_dim``, ``dim``, ``hidden_dims``,
        ``dropout``, ``max_history``, ``use_user_id``.
    """

    name: ClassVar[str] = ""
    default_freeze: ClassVar[tuple[str, ...]] = ()
    sequential: ClassVar[bool] = False

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

    def encode_positions(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """One user vector per prefix of the history (sequential towers only).

        Parameters
        ----------
        users : torch.LongTensor, shape (B,)
        history : torch.LongTensor, shape (B, L)
            Item rows, oldest first, left-aligned (no padding before an item),
            padded with ``n_items``.

        Returns
        -------
        torch.Tensor, shape (B, L, dim), unit rows
            Row ``[b, t]`` depends only on ``history[b, : t + 1]``; rows at
            padding positions are not meaningful.

        Raises
        ------
        NotImplementedError
            For towers that are not :attr:`sequential`.
        """
        raise NotImplementedError(f"the {self.name!r} tower is not sequential")

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


def left_align(history: torch.Tensor, pad: int) -> torch.Tensor:
    """Move each row's items to the front, in their order, padding after them.

    Parameters
    ----------
    history : torch.LongTensor, shape (B, L)
        Item rows with ``pad`` anywhere (e.g. where an item was removed).
    pad : int

    Returns
    -------
    torch.LongTensor, shape (B, L)
    """
    # a stable sort on "is padding" keeps the items' order
    order = torch.sort((history == pad).to(torch.int8), dim=1, stable=True).indices
    return torch.gather(history, 1, order)


def last_positions(history: torch.Tensor, pad: int) -> torch.Tensor:
    """Index of each left-aligned row's last item (0 for a row of padding only).

    Parameters
    ----------
    history : torch.LongTensor, shape (B, L)
    pad : int

    Returns
    -------
    torch.LongTensor, shape (B,)
    """
    return ((history != pad).sum(dim=1) - 1).clamp_min(0)


class SequenceTower(UserEncoder):
    """Base of the sequence towers: item (+ category) inputs and the last-position output.

    Subclasses build their layers after :meth:`init_item_tables` and
    implement :meth:`encode_positions`; :meth:`forward` returns the output
    at each history's last item. They own ``history.weight`` (the input item
    table, ``(n_items + 1, e)``, padding row last), ``domain.weight`` (the
    category table, ``(n_domains + 1, e)``, with ``n_domains > 0``), and
    with ``n_domains > 0`` ``next_domain.weight`` (the *next-category*
    table) and the buffers ``item_domain`` ``(n_items + 1,)`` (each item's
    category row, loaded by :meth:`set_item_domains`) and ``query_domain``
    (a scalar: the category the user vector is for, :meth:`set_query_domain`).

    Mixed-category sequences with a next-category query: the token at
    position ``t`` also carries the category of item ``t + 1`` (known once
    that item is seen: no later item is leaked to position ``t``), and the
    last token carries :attr:`query_domain`. Trained on sequences where a
    source item is followed by a target item, the encoder learns what a
    source history says about the *target* purchase, and the user vector of a
    cold-start user (source history only) is asked for the target category.
    This follows the mixed-domain sequence encoders with domain-specific
    prediction of pi-Net (Ma et al., SIGIR 2019) and C2DSR (Cao et al.,
    CIKM 2022), with a query token in place of per-domain output towers.
    """

    sequential = True
    pad: int
    history: nn.Embedding
    domain: nn.Embedding | None
    next_domain: nn.Embedding | None
    item_domain: torch.Tensor
    query_domain: torch.Tensor

    def init_item_tables(self, config: TwoTowerConfig) -> None:
        """Create the input item table, the category table and the ``item_domain`` buffer."""
        e = config.embedding_dim
        self.pad = config.n_items
        self.history = nn.Embedding(config.n_items + 1, e, padding_idx=config.n_items)
        self.domain = (
            nn.Embedding(config.n_domains + 1, e, padding_idx=config.n_domains)
            if config.n_domains
            else None
        )
        self.next_domain = (
            nn.Embedding(config.n_domains + 1, e, padding_idx=config.n_domains)
            if config.n_domains
            else None
        )
        self.register_buffer(
            "item_domain",
            torch.full((config.n_items + 1,), config.n_domains, dtype=torch.long),
        )
        # n_domains (the padding row): no query, until the trainer sets the target category
        self.register_buffer("query_domain", torch.tensor(config.n_domains, dtype=torch.long))

    @staticmethod
    def init_embeddings(*tables: nn.Embedding | None) -> None:
        """Draw each table N(0, 0.05^2), in the order given, its padding row (if any) zero."""
        for table in tables:
            if table is None:
                continue
            nn.init.normal_(table.weight, std=0.05)
            if table.padding_idx is not None:
                with torch.no_grad():
                    table.weight[table.padding_idx].zero_()

    def set_query_domain(self, domain: int | None) -> None:
        """Set the category the user vector is asked for (its row in the vocabulary's domains).

        Parameters
        ----------
        domain : int or None
            Row in ``0..n_domains-1``; None: no query (the padding row).

        Raises
        ------
        ValueError
            If the row is out of range (or the tower has no categories).
        """
        n_domains = self.domain.num_embeddings - 1 if self.domain is not None else 0
        if domain is None:
            domain = n_domains
        elif not 0 <= int(domain) < n_domains:
            raise ValueError(
                f"domain: expected a row in 0..{n_domains - 1} (n_domains={n_domains}), "
                f"got {domain!r}"
            )
        self.query_domain.fill_(int(domain))

    def set_item_domains(self, item_domains: np.ndarray) -> None:
        """Load each item's category row, shape (n_items,), values in ``0..n_domains-1``.

        Raises
        ------
        ValueError
            If the shape or a value is out of range.
        """
        d = np.asarray(item_domains, dtype=np.int64)
        n = len(self.item_domain) - 1
        if d.shape != (n,):
            raise ValueError(f"item_domains: expected shape ({n},), got {d.shape}")
        if self.domain is None:
            return
        n_domains = self.domain.num_embeddings - 1
        if d.size and (d.min() < 0 or d.max() >= n_domains):
            raise ValueError(
                f"item_domains: values must be in 0..{n_domains - 1} (n_domains), "
                f"got {int(d.min())}..{int(d.max())}"
            )
        self.item_domain[:n].copy_(torch.from_numpy(d))

    def embed(self, history: torch.Tensor) -> torch.Tensor:
        """Input tokens ``(B, L) -> (B, L, e)`` of a left-aligned history.

        Item embedding, plus with categories the item's category embedding and
        the next-category embedding: of item ``t + 1`` at position ``t``, of
        :attr:`query_domain` at the last item.
        """
        x = self.history(history)
        if self.domain is None or self.next_domain is None:
            return x
        dom = self.item_domain[history]
        nxt = torch.cat([dom[:, 1:], dom[:, :1]], dim=1)
        last = last_positions(history, self.pad)
        rows = torch.arange(len(history), device=history.device)
        nxt[rows, last] = self.query_domain
        return x + self.domain(dom) + self.next_domain(nxt)

    def id_tables(self) -> dict[str, IdTable]:
        """Return the input item table (padding row last); no user table."""
        return {"history.weight": IdTable("item", padding=True)}

    def forward(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """User vectors: the output at each history's last item.

        Parameters
        ----------
        users : torch.LongTensor, shape (B,)
            Not used (the tower is inductive).
        history : torch.LongTensor, shape (B, L)
            Item rows, oldest first, padded with ``n_items`` anywhere
            (padding inside a row is skipped: the items are left-aligned
            first). An all-padding row gets the tower's "no history" vector.

        Returns
        -------
        torch.Tensor, shape (B, dim), unit rows
        """
        history = left_align(history, self.pad)
        out = self.encode_positions(users, history)
        last = last_positions(history, self.pad)
        return out[torch.arange(len(history), device=history.device), last]


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
