"""The recurrent sequential user tower (``user_tower="gru"``).

GRU4Rec (Hidasi et al., *Session-based Recommendations with Recurrent
Neural Networks*, ICLR 2016), as a user tower: the time-ordered history
(items of every category) is embedded as item (+ category) vectors and read
by a unidirectional GRU; the hidden state after the last item, projected and
L2-normalised, is the user vector. The state after item ``t`` depends only
on items ``0..t``, so one pass gives a training example per prefix.

The user id is not used (the tower is inductive).

Parameters (state-dict keys under ``user_tower.``): ``history.weight``
(input item embedding ``(n_items + 1, e)``, padding row last),
``domain.weight`` and ``next_domain.weight`` (category and next-category
embeddings, with ``n_domains > 0``), ``gru.*``
(``n_layers`` layers of width ``e``), ``head.*`` (``e -> dim``); buffer
``item_domain`` (see :class:`~xcat.models.towers.base.SequenceTower`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from xcat.models.config import TwoTowerConfig
from xcat.models.towers.base import SequenceTower, register_tower

__all__ = ["GRUTower"]


@register_tower
class GRUTower(SequenceTower):
    """``f_u``: a GRU over the time-ordered history -> unit vector.

    Parameters
    ----------
    config : TwoTowerConfig
        Uses ``n_items``, ``embedding_dim`` (GRU width ``e``), ``dim``,
        ``n_layers``, ``dropout`` (on the embeddings and between GRU layers)
        and ``n_domains``.
    """

    name = "gru"
    #: The recurrent layers; the item table stays trainable (new target items).
    default_freeze = ("domain", "next_domain", "gru", "head")

    def __init__(self, config: TwoTowerConfig):
        super().__init__(config)
        e = config.embedding_dim
        self.init_item_tables(config)
        self.dropout = nn.Dropout(config.dropout)
        self.gru = nn.GRU(
            e,
            e,
            num_layers=config.n_layers,
            batch_first=True,
            dropout=config.dropout if config.n_layers > 1 else 0.0,
        )
        self.head = nn.Linear(e, config.dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw every parameter (embeddings N(0, 0.05^2), GRU and head as PyTorch)."""
        self.init_embeddings(self.history, self.domain, self.next_domain)
        self.gru.reset_parameters()
        self.head.reset_parameters()

    def encode_positions(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """One unit vector per prefix, ``(B, L) -> (B, L, dim)``; see :class:`UserEncoder`."""
        out, _ = self.gru(self.dropout(self.embed(history)))
        return F.normalize(self.head(out), dim=-1)
