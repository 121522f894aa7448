"""The two-tower retrieval model (Covington et al., RecSys 2016; Yi et al., RecSys 2019).

Item tower ``c = f_c(x_c)``: item-id embedding plus the mean-pooled item
feature tokens -> MLP -> L2-normalised ``d``-dim vector. User tower
``u = f_u(x_u, c_u)``: chosen by ``TwoTowerConfig.user_tower`` among the
towers of :mod:`xcat.models.towers` (default: user-id embedding plus the
mean-pooled embeddings of the user's history items -> MLP -> L2-normalised).
The score is the cosine similarity ``u . c``.

Parameter names (state-dict keys) are ``user_tower.<the tower's names>``
(for the default tower ``user_tower.user_id.weight``,
``user_tower.history.weight``, ``user_tower.mlp.*``) and:

====================================  ===========================================
``item_tower.item_id.weight``          item-id embedding ``(n_items, e)``
``item_tower.features.weight``         feature embedding ``(n_features + 1, e)``
``item_tower.mlp.*``                   item MLP
====================================  ===========================================

Code that moves weights asks the model which tables are indexed by users,
items or feature tokens (:meth:`TwoTower.id_tables`) and what is frozen or re-drawn by default
(:meth:`TwoTower.default_freeze`, :meth:`TwoTower.default_reinit`) instead
of naming keys.

Buffers (saved, never trained; :attr:`TwoTower.input_buffers`):
``user_history`` ``(n_users, max_history)``, the users' stored histories, and
``item_tower.item_features`` ``(n_items, max_item_features)``, int64, padded
with the padding row of their table, and for the sequence towers
``user_tower.item_domain`` ``(n_items + 1,)``, each item's category row.
The towers never read the stored histories: the trainer passes each
batch's histories in, and only the exports (:meth:`TwoTower.user_embeddings`) pool the stored ones.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xcat.models.config import DEFAULT_USER_TOWER, TwoTowerConfig
from xcat.models.layers import mlp
from xcat.models.towers import IdTable, MeanPoolTower, SequenceTower, UserEncoder, get_tower

__all__ = [
    "ItemTower",
    "TwoTower",
    "UserTower",
    "default_freeze_names",
    "default_reinit_names",
]

#: The default user tower under its former name.
UserTower = MeanPoolTower

#: Attribute names of the towers in :class:`TwoTower`: the first component of
#: their state-dict keys.
_USER, _ITEM = "user_tower", "item_tower"


def default_freeze_names(user_tower: str = DEFAULT_USER_TOWER) -> tuple[str, ...]:
    """Parameter prefixes the ``freeze`` strategy keeps fixed by default.

    Parameters
    ----------
    user_tower : str, default "mean"
        The model's ``TwoTowerConfig.user_tower``.

    Returns
    -------
    tuple of str
        The user tower's ``default_freeze``, as model parameter prefixes
        (``("user_tower.user_id", "user_tower.mlp")`` for the default tower).

    Raises
    ------
    ValueError
        If no tower has that name.
    """
    return tuple(f"{_USER}.{n}" for n in get_tower(user_tower).default_freeze)


def default_reinit_names(user_tower: str = DEFAULT_USER_TOWER) -> tuple[str, ...]:
    """Parameter prefixes the ``reinit`` strategy re-draws by default: the item tower.

    Parameters
    ----------
    user_tower : str, default "mean"
        The model's user tower (the default does not depend on it).

    Returns
    -------
    tuple of str
    """
    return (_ITEM,)


class ItemTower(nn.Module):
    """``f_c``: item id (+ mean-pooled feature tokens) -> MLP -> unit vector.

    Parameters
    ----------
    config : TwoTowerConfig
    """

    item_features: torch.Tensor

    def __init__(self, config: TwoTowerConfig):
        super().__init__()
        e = config.embedding_dim
        self.item_id = nn.Embedding(config.n_items, e)
        in_dim = e
        if config.n_features:
            self.features: nn.EmbeddingBag | None = nn.EmbeddingBag(
                config.n_features + 1, e, mode="mean", padding_idx=config.n_features
            )
            in_dim += e
        else:
            self.features = None
        self.register_buffer(
            "item_features",
            torch.full(
                (config.n_items, config.max_item_features), config.n_features, dtype=torch.long
            ),
        )
        self.mlp = mlp(in_dim, config.hidden_dims, config.dim, config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw every parameter (embeddings N(0, 0.05^2), linear layers as PyTorch)."""
        nn.init.normal_(self.item_id.weight, std=0.05)
        if self.features is not None:
            nn.init.normal_(self.features.weight, std=0.05)
            with torch.no_grad():
                self.features.weight[-1].zero_()
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def id_tables(self) -> dict[str, IdTable]:
        """Return the item-id table and, with item features, the feature table (padding last)."""
        tables = {"item_id.weight": IdTable("item")}
        if self.features is not None:
            tables["features.weight"] = IdTable("feature", padding=True)
        return tables

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """Item embeddings.

        Parameters
        ----------
        items : torch.LongTensor, shape (B,)

        Returns
        -------
        torch.Tensor, shape (B, dim), unit rows
        """
        x = self.item_id(items)
        if self.features is not None:
            x = torch.cat([x, self.features(self.item_features[items])], dim=-1)
        return F.normalize(self.mlp(x), dim=-1)


def _index_tensor(x: Any, name: str, n: int, device: torch.device) -> torch.Tensor:
    arr = np.asarray(x)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(
            f"{name}: expected a 1-D integer array, got dtype {arr.dtype} and shape {arr.shape}"
        )
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(
            f"{name}: row numbers must be in 0..{n - 1}, got min {arr.min()}, max {arr.max()}"
        )
    return torch.from_numpy(np.ascontiguousarray(arr)).to(device)


class TwoTower(nn.Module):
    """Two-tower model: embeddings of users and items scored by cosine.

    Parameters
    ----------
    config : TwoTowerConfig
        Sizes, and the user tower (``config.user_tower``).
    vocab : xcat.models.Vocab, optional
        Id maps and item features. When given, its item features are loaded
        into the item tower; it is saved with the model.

    Raises
    ------
    ValueError
        If ``vocab`` does not match the config sizes, or no user tower has
        the config's name.

    Examples
    --------
    >>> vocab = Vocab.from_interactions(data.source, data.target)      # doctest: +SKIP
    >>> model = TwoTower(vocab.model_config(dim=32), vocab)             # doctest: +SKIP
    >>> xcat.topn(model.user_embeddings(users), model.item_embeddings(), 10)  # doctest: +SKIP
    """

    @property
    def input_buffers(self) -> tuple[str, ...]:
        """Buffers holding inputs rather than learned values, rebuilt (not copied) on growth.

        The stored histories and the item feature rows (set from data by
        :meth:`set_history` and :meth:`set_item_features`), and for a
        sequence tower each item's category row (from the vocabulary).
        """
        names: tuple[str, ...] = ("user_history", "item_tower.item_features")
        if isinstance(self.user_tower, SequenceTower):
            names += ("user_tower.item_domain",)
        return names

    user_tower: UserEncoder
    item_tower: ItemTower
    user_history: torch.Tensor
    #: ``config.json`` of the directory a loaded model was read from (only on loaded models).
    metadata: dict[str, Any]

    def __init__(self, config: TwoTowerConfig, vocab: Any = None):
        super().__init__()
        self.config = config
        self.vocab = vocab
        #: Parameters kept fixed when this model was trained on the target
        #: (set by the transfer layer); a feedback update keeps them fixed too.
        self.frozen: tuple[str, ...] = ()
        #: Latest timestamp of the training data (ISO 8601, UTC), if it had
        #: timestamps; a feedback update reports older events.
        self.trained_until: str | None = None
        self.user_tower = get_tower(config.user_tower)(config)
        self.item_tower = ItemTower(config)
        self.register_buffer(
            "user_history",
            torch.full((config.n_users, config.max_history), config.n_items, dtype=torch.long),
        )
        if vocab is not None:
            if vocab.n_users != config.n_users or vocab.n_items != config.n_items:
                raise ValueError(
                    f"vocab: has {vocab.n_users} users and {vocab.n_items} items, the config "
                    f"{config.n_users} and {config.n_items}"
                )
            self.set_item_features(vocab.item_features)
            if isinstance(self.user_tower, SequenceTower):
                self.user_tower.set_item_domains(vocab.item_domains)

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return self.item_tower.item_id.weight.device

    def clone(self) -> TwoTower:
        """Return an independent copy: copied tensors and attributes, the same ``vocab`` object.

        Training or updating the copy leaves this model untouched (an
        update replaces the copy's vocabulary rather than changing it).

        Returns
        -------
        TwoTower
            Same device and train/eval mode.
        """
        vocab = self.vocab
        self.vocab = None
        try:
            out = copy.deepcopy(self)
        finally:
            self.vocab = vocab
        out.vocab = vocab
        return out

    # ---------------------------------------------------------------- parameter groups

    def id_tables(self) -> dict[str, IdTable]:
        """Parameters (state-dict keys) whose rows are users, items or feature tokens.

        What :func:`xcat.models.remap` moves row by row, following raw ids,
        when the model is grown or transferred to another vocabulary.

        Returns
        -------
        dict of str to IdTable
            The user tower's tables (``user_tower.*``), the item-id table and,
            when items have features, the feature table.
        """
        out = {f"{_USER}.{k}": t for k, t in self.user_tower.id_tables().items()}
        out.update({f"{_ITEM}.{k}": t for k, t in self.item_tower.id_tables().items()})
        return out

    def default_freeze(self) -> tuple[str, ...]:
        """Parameter prefixes the ``freeze`` strategy keeps fixed by default (the user tower's)."""
        return tuple(f"{_USER}.{n}" for n in self.user_tower.default_freeze)

    def default_reinit(self) -> tuple[str, ...]:
        """Parameter prefixes the ``reinit`` strategy re-draws by default (the item tower)."""
        return default_reinit_names(self.config.user_tower)

    # ---------------------------------------------------------------- inputs

    def set_item_features(self, codes: np.ndarray) -> None:
        """Load item feature rows, shape (n_items, max_item_features), ``-1`` = none."""
        c = self.config
        codes = np.asarray(codes, dtype=np.int64)
        if codes.shape != (c.n_items, c.max_item_features):
            raise ValueError(
                f"codes: expected shape ({c.n_items}, {c.max_item_features}), got {codes.shape}"
            )
        if codes.size and codes.max() >= c.n_features:
            raise ValueError(f"codes: feature rows must be below n_features={c.n_features}")
        t = torch.from_numpy(np.where(codes < 0, c.n_features, codes))
        self.item_tower.item_features.copy_(t)

    def set_history(self, history: np.ndarray) -> None:
        """Store the users' histories, which :meth:`user_embeddings` encodes.

        The trainer stores the histories it trains with, and a feedback
        update appends new events; the towers themselves take histories as
        input.

        Parameters
        ----------
        history : numpy.ndarray of int, shape (n_users, L)
            Item rows, ``-1`` for padding (see
            :meth:`xcat.models.Vocab.histories`); columns beyond
            ``max_history`` are cut from the left (the oldest).

        Raises
        ------
        ValueError
            If the shape or an item row is wrong.
        """
        c = self.config
        h = np.asarray(history)
        if h.ndim != 2 or h.shape[0] != c.n_users or (h.size and h.dtype.kind not in "iu"):
            raise ValueError(
                f"history: expected an integer array of shape ({c.n_users}, L), "
                f"got {h.dtype} {h.shape}"
            )
        h = h.astype(np.int64)
        if h.size and h.max() >= c.n_items:
            raise ValueError(f"history: item rows must be below n_items={c.n_items}")
        out = np.full((c.n_users, c.max_history), c.n_items, dtype=np.int64)
        if h.shape[1] > c.max_history:
            # keep the most recent: the last non-padding entries of each row
            for u in range(c.n_users):
                row = h[u][h[u] >= 0][-c.max_history :]
                out[u, : len(row)] = row
        else:
            out[:, : h.shape[1]] = np.where(h < 0, c.n_items, h)
        self.user_history.copy_(torch.from_numpy(out))

    def stored_history(self) -> np.ndarray:
        """Return the stored histories in the form :meth:`set_history` takes.

        Returns
        -------
        numpy.ndarray of int64, shape (n_users, max_history)
            Item rows, oldest first, ``-1`` for padding; a copy.
        """
        h = self.user_history.cpu().numpy()
        return np.where(h == self.config.n_items, -1, h)

    def has_history(self) -> np.ndarray:
        """Bool mask ``(n_users,)``: whether each user has any history item."""
        return (self.user_history != self.config.n_items).any(dim=1).cpu().numpy()

    # ---------------------------------------------------------------- towers

    def encode_users(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """User tower: a pure function of the users and their histories.

        Parameters
        ----------
        users : torch.LongTensor, shape (B,)
        history : torch.LongTensor, shape (B, L)
            Item rows, padded with ``n_items`` (in training, the batch's
            positives already removed).

        Returns
        -------
        torch.Tensor, shape (B, dim), unit rows
        """
        return self.user_tower(users, history)

    def encode_items(self, items: torch.Tensor) -> torch.Tensor:
        """Item tower, shape (B,) -> (B, dim), unit rows."""
        return self.item_tower(items)

    def forward(
        self, users: torch.Tensor, history: torch.Tensor, items: torch.Tensor
    ) -> torch.Tensor:
        """Cosine scores of (user, item) pairs, shapes (B,), (B, L), (B,) -> (B,)."""
        return (self.encode_users(users, history) * self.encode_items(items)).sum(-1)

    # ---------------------------------------------------------------- export

    def _encode_stored(self, users: torch.Tensor) -> torch.Tensor:
        return self.encode_users(users, self.user_history[users])

    @torch.no_grad()
    def _export(self, fn: Any, rows: Any, n: int, name: str, batch_size: int) -> np.ndarray:
        idx = _index_tensor(np.arange(n) if rows is None else rows, name, n, self.device)
        was_training = self.training
        self.eval()
        try:
            out = [
                fn(idx[s : s + batch_size]).float().cpu() for s in range(0, len(idx), batch_size)
            ]
        finally:
            self.train(was_training)
        if not out:
            return np.zeros((0, self.config.dim), dtype=np.float32)
        return np.ascontiguousarray(torch.cat(out).numpy(), dtype=np.float32)

    def user_embeddings(self, users: Any = None, *, batch_size: int = 8192) -> np.ndarray:
        """User vectors ready for :func:`xcat.topn`.

        Parameters
        ----------
        users : array_like of int, shape (U,), optional
            User row numbers (``vocab.users.encode(raw_ids)``); default all.
        batch_size : int, default 8192

        Returns
        -------
        numpy.ndarray of float32, shape (U, dim), C-contiguous, unit rows
            Computed in eval mode (no dropout) from the stored histories; a
            cold-start user of the target domain is encoded from the history
            of the other domains.

        Raises
        ------
        ValueError
            If ``users`` is not 1-D integers in ``0..n_users-1``.
        """
        return self._export(self._encode_stored, users, self.config.n_users, "users", batch_size)

    def item_embeddings(self, items: Any = None, *, batch_size: int = 8192) -> np.ndarray:
        """Item vectors ready for :func:`xcat.topn`.

        Parameters
        ----------
        items : array_like of int, shape (I,), optional
            Item row numbers; default all (so ``topn`` indices are item rows).
        batch_size : int, default 8192

        Returns
        -------
        numpy.ndarray of float32, shape (I, dim), C-contiguous, unit rows

        Raises
        ------
        ValueError
            If ``items`` is not 1-D integers in ``0..n_items-1``.
        """
        return self._export(self.encode_items, items, self.config.n_items, "items", batch_size)
