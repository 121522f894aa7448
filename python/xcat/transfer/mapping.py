"""EMCDR embedding mapping (Man et al., IJCAI 2017).

*Cross-Domain Recommendation: An Embedding and Mapping Approach*.

Two models are trained separately, one per domain. A small MLP ``f`` is then
fitted on the overlapping users so that ``f(u_source) ~ u_target``; a
cold-start user of the target domain is represented by ``f(u_source)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EmcdrMapper", "MappedModel", "fit_mapper"]


class EmcdrMapper(nn.Module):
    """The EMCDR MLP mapping: ``d_s -> hidden (tanh) -> d_t``.

    Parameters
    ----------
    source_dim, target_dim : int
    hidden_dim : int, optional
        Default ``2 * source_dim`` (the paper's MLP setting).
    """

    def __init__(self, source_dim: int, target_dim: int, hidden_dim: int | None = None):
        super().__init__()
        h = hidden_dim or 2 * source_dim
        self.net = nn.Sequential(nn.Linear(source_dim, h), nn.Tanh(), nn.Linear(h, target_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map source user vectors (B, d_s) to target user vectors (B, d_t)."""
        return self.net(x)


def fit_mapper(
    source_vectors: np.ndarray,
    target_vectors: np.ndarray,
    *,
    hidden_dim: int | None = None,
    epochs: int = 200,
    lr: float = 1e-3,
    batch_size: int = 256,
    seed: int = 0,
) -> EmcdrMapper:
    r"""Fit the mapping on overlapping users by mean squared error.

    .. math:: \min_f \sum_{u \in \mathcal{U}_s \cap \mathcal{U}_t} \| f(u_s) - u_t \|^2

    Parameters
    ----------
    source_vectors : numpy.ndarray of float32, shape (N, d_s)
        Source-model embeddings of the overlapping users.
    target_vectors : numpy.ndarray of float32, shape (N, d_t)
        Target-model embeddings of the same users, same row order.
    hidden_dim : int, optional
    epochs : int, default 200
    lr : float, default 1e-3
    batch_size : int, default 256
    seed : int, default 0

    Returns
    -------
    EmcdrMapper
        In eval mode, on CPU.

    Raises
    ------
    ValueError
        If the arrays are not 2-D with the same number of rows (at least 2).
    """
    xs = np.asarray(source_vectors, dtype=np.float32)
    ys = np.asarray(target_vectors, dtype=np.float32)
    if xs.ndim != 2 or ys.ndim != 2 or len(xs) != len(ys):
        raise ValueError(
            f"source_vectors/target_vectors: expected 2-D arrays with equal rows, "
            f"got {xs.shape} and {ys.shape}"
        )
    if len(xs) < 2:
        raise ValueError(f"source_vectors: need at least 2 overlapping users, got {len(xs)}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    mapper = EmcdrMapper(xs.shape[1], ys.shape[1], hidden_dim)
    opt = torch.optim.Adam(mapper.parameters(), lr=lr)
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for s in range(0, len(x), batch_size):
            idx = perm[s : s + batch_size]
            loss = ((mapper(x[idx]) - y[idx]) ** 2).sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return mapper.eval()


@dataclass
class MappedModel:
    """Target model whose cold-start users come through an EMCDR mapping.

    Saved and loaded like a two-tower model, by :func:`xcat.models.save` and
    :func:`xcat.models.load`.

    Attributes
    ----------
    source_model, target_model : TwoTower
        Trained on the source and on the target domain, same vocabulary.
    mapper : EmcdrMapper
    cold : numpy.ndarray of bool, shape (n_users,)
        Users scored through the mapping (no target history); the others use
        the target model's own user vectors.
    metadata : dict
        ``config.json`` of the directory it was loaded from (empty for a
        model that was not loaded).
    """

    source_model: Any
    target_model: Any
    mapper: EmcdrMapper
    cold: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        s = self.mapper_sizes
        return (
            f"MappedModel({len(self.cold):,} users, {int(np.sum(self.cold)):,} cold through the "
            f"mapping {s['source_dim']} -> {s['hidden_dim']} -> {s['target_dim']})"
        )

    @property
    def vocab(self) -> Any:
        """The target model's vocabulary."""
        return self.target_model.vocab

    @property
    def mapper_sizes(self) -> dict[str, int]:
        """``source_dim``, ``hidden_dim`` and ``target_dim`` of the mapping MLP."""
        first, last = self.mapper.net[0], self.mapper.net[-1]
        return {
            "source_dim": int(first.in_features),
            "hidden_dim": int(first.out_features),
            "target_dim": int(last.out_features),
        }

    def to(self, device: str | torch.device) -> MappedModel:
        """Move the two models and the mapping to ``device``; returns ``self``."""
        self.source_model.to(device)
        self.target_model.to(device)
        self.mapper.to(device)
        return self

    def eval(self) -> MappedModel:
        """Put the two models and the mapping in eval mode; returns ``self``."""
        self.source_model.eval()
        self.target_model.eval()
        self.mapper.eval()
        return self

    def user_embeddings(self, users: Any = None) -> np.ndarray:
        """User vectors, float32 ``(U, dim)``, unit rows (see :meth:`TwoTower.user_embeddings`)."""
        users = np.arange(len(self.cold)) if users is None else np.asarray(users, dtype=np.int64)
        out = self.target_model.user_embeddings(users)
        mask = self.cold[users]
        if mask.any():
            device = next(self.mapper.parameters()).device
            with torch.no_grad():
                src = torch.from_numpy(self.source_model.user_embeddings(users[mask]))
                mapped = F.normalize(self.mapper(src.to(device)), dim=-1)
                out[mask] = mapped.float().cpu().numpy()
        return np.ascontiguousarray(out, dtype=np.float32)

    def item_embeddings(self, items: Any = None) -> np.ndarray:
        """Item vectors of the target model, float32 ``(I, dim)``."""
        return self.target_model.item_embeddings(items)
