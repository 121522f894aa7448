"""The two-tower retrieval model (Covington et al., RecSys 2016; Yi et al., RecSys 2019).

Item tower ``c = f_c(x_c)``: item-id embedding plus the mean-pooled item
feature tokens -> MLP -> L2-normalised ``d``-dim vector.  User tower
``u = f_u(x_u, c_u)``: user-id embedding plus the mean-pooled embeddings of
the user's history items (items of every category the user touched, so a
user with only source-domain history still gets a representation) -> MLP
-> L2-normalised.  The score is the cosine similarity ``u . c``.

Parameter names (state-dict keys), used by :mod:`xcat.transfer`:

====================================  ===========================================
``user_tower.user_id.weight``          user-id embedding ``(n_users, e)``
``user_tower.history.weight``          history item embedding ``(n_items + 1, e)``
``user_tower.mlp.*``                   user MLP
``item_tower.item_id.weight``          item-id embedding ``(n_items, e)``
``item_tower.features.weight``         feature embedding ``(n_features + 1, e)``
``item_tower.mlp.*``                   item MLP
====================================  ===========================================

Buffers (saved, never trained): ``user_history`` ``(n_users, max_history)``
and ``item_tower.item_features`` ``(n_items, max_item_features)``, int64,
padded with the padding row of their table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xcat.models.config import TwoTowerConfig

__all__ = ["ItemTower", "TwoTower", "UserTower"]


def _mlp(in_dim: int, hidden: Sequence[int], out_dim: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class ItemTower(nn.Module):
    """``f_c``: item id (+ mean-pooled feature tokens) -> MLP -> unit vector.

    Parameters
    ----------
    config : TwoTowerConfig
    """

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
        self.mlp = _mlp(in_dim, config.hidden_dims, config.dim, config.dropout)
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


class UserTower(nn.Module):
    """``f_u``: user id + mean-pooled history items -> MLP -> unit vector.

    Parameters
    ----------
    config : TwoTowerConfig
    """

    def __init__(self, config: TwoTowerConfig):
        super().__init__()
        e = config.embedding_dim
        self.pad = config.n_items
        self.user_id: nn.Embedding | None = (
            nn.Embedding(config.n_users, e) if config.use_user_id else None
        )
        self.history = nn.EmbeddingBag(
            config.n_items + 1, e, mode="mean", padding_idx=config.n_items
        )
        in_dim = e * (2 if config.use_user_id else 1)
        self.mlp = _mlp(in_dim, config.hidden_dims, config.dim, config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw every parameter (embeddings N(0, 0.05^2), linear layers as PyTorch)."""
        if self.user_id is not None:
            nn.init.normal_(self.user_id.weight, std=0.05)
        nn.init.normal_(self.history.weight, std=0.05)
        with torch.no_grad():
            self.history.weight[-1].zero_()
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def forward(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """User embeddings.

        Parameters
        ----------
        users : torch.LongTensor, shape (B,)
        history : torch.LongTensor, shape (B, L)
            Item rows, padded with ``n_items``. An all-padding row pools to
            zeros (a user with no history).

        Returns
        -------
        torch.Tensor, shape (B, dim), unit rows
        """
        h = self.history(history)
        x = torch.cat([self.user_id(users), h], dim=-1) if self.user_id is not None else h
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
    vocab : xcat.models.Vocab, optional
        Id maps and item features. When given, its item features are loaded
        into the item tower; it is saved with the model.

    Raises
    ------
    ValueError
        If ``vocab`` does not match the config sizes.

    Examples
    --------
    >>> vocab = Vocab.from_interactions(data.source, data.target)      # doctest: +SKIP
    >>> model = TwoTower(vocab.model_config(dim=32), vocab)             # doctest: +SKIP
    >>> xcat.topn(model.user_embeddings(users), model.item_embeddings(), 10)  # doctest: +SKIP
    """

    def __init__(self, config: TwoTowerConfig, vocab: Any = None):
        super().__init__()
        self.config = config
        self.vocab = vocab
        #: Parameters kept fixed when this model was trained on the target
        #: (set by :func:`xcat.transfer.transfer`); :meth:`update` keeps them fixed too.
        self.frozen: tuple[str, ...] = ()
        #: Latest timestamp of the training data (ISO 8601, UTC), if it had
        #: timestamps; :meth:`update` reports older events.
        self.trained_until: str | None = None
        self.user_tower = UserTower(config)
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

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return self.item_tower.item_id.weight.device

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
        """Set the interaction history the user tower pools.

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

    def has_history(self) -> np.ndarray:
        """Bool mask ``(n_users,)``: whether each user has any history item."""
        return (self.user_history != self.config.n_items).any(dim=1).cpu().numpy()

    # ---------------------------------------------------------------- towers

    def encode_users(
        self, users: torch.Tensor, *, drop_items: torch.Tensor | None = None
    ) -> torch.Tensor:
        """User tower on stored histories.

        Parameters
        ----------
        users : torch.LongTensor, shape (B,)
        drop_items : torch.LongTensor, shape (B,), optional
            For training: remove this item from each user's history (the
            positive being predicted), so the tower cannot copy its label.

        Returns
        -------
        torch.Tensor, shape (B, dim), unit rows
        """
        hist = self.user_history[users]
        if drop_items is not None:
            hist = hist.masked_fill(hist == drop_items[:, None], self.config.n_items)
        return self.user_tower(users, hist)

    def encode_items(self, items: torch.Tensor) -> torch.Tensor:
        """Item tower, shape (B,) -> (B, dim), unit rows."""
        return self.item_tower(items)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Cosine scores of (user, item) pairs, shape (B,) -> (B,)."""
        return (self.encode_users(users) * self.encode_items(items)).sum(-1)

    # ---------------------------------------------------------------- feedback
    def update(self, new_interactions: Any, *, steps: int = 100, **options: Any) -> Any:
        """Apply new interactions in place: grow id maps and tables, fine-tune ``steps`` steps.

        See :func:`xcat.train.update.update` for the parameters (``replay``,
        ``train_config``, ``invalid``), the initialisation of new rows and
        the validation of the events.

        Returns
        -------
        xcat.train.update.UpdateReport
        """
        from xcat.train.update import update

        return update(self, new_interactions, steps=steps, **options)

    # ---------------------------------------------------------------- export

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
        return self._export(self.encode_users, users, self.config.n_users, "users", batch_size)

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
