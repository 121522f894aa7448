"""EMCDR mapped models (Man et al., IJCAI 2017): the model types.

*Cross-Domain Recommendation: An Embedding and Mapping Approach*. Two
two-tower models are trained separately, one per domain, and a small MLP
``f`` maps source user vectors to target user vectors; a cold-start user
of the target domain is represented by ``f(u_source)``.

Fitting the mapping belongs to the transfer layer (``fit_mapper``); saving and loading
are :func:`xcat.models.save` and :func:`xcat.models.load` (format
``"xcat.MappedModel"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from xcat.models.two_tower import TwoTower

__all__ = ["EmcdrMapper", "MappedModel"]


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

    source_model: TwoTower
    target_model: TwoTower
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
        assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
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
