"""The self-attentive sequential user tower (``user_tower="sasrec"``).

SASRec (Kang & McAuley, *Self-Attentive Sequential Recommendation*, ICDM
2018): the user's time-ordered history (items of every category, so a
cold-start user of the target is encoded from its source-domain sequence)
is embedded as item + position (+ category) vectors and passed through
causal self-attention blocks (pre-LayerNorm Transformer encoder layers); the
output at the last item, projected and L2-normalised, is the user vector.
The output at position ``t`` sees only items ``0..t``, so one pass over a
sequence gives a training example per prefix (:meth:`encode_positions`).

The user id is not used (the tower is inductive: any history can be
encoded, also of users added later).

Parameters (state-dict keys under ``user_tower.``):

======================  ==============================================
``history.weight``      input item embedding ``(n_items + 1, e)``, row
                        ``n_items`` the (zero) padding row
``position.weight``     position embedding ``(max_history, e)``
``domain.weight``       category embedding ``(n_domains + 1, e)``
                        (``n_domains > 0``; last row: padding)
``next_domain.weight``  next-category (query) embedding, same shape
``encoder.*``           ``n_layers`` Transformer encoder layers
``norm.*``              final LayerNorm
``head.*``              ``e -> dim`` projection
======================  ==============================================

Buffer ``item_domain`` ``(n_items + 1,)``: each item's category row (set
from the vocabulary by :class:`~xcat.models.TwoTower`; see
:class:`~xcat.models.towers.base.SequenceTower`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from xcat.models.config import TwoTowerConfig
from xcat.models.towers.base import SequenceTower, register_tower

__all__ = ["SASRecTower"]


@register_tower
class SASRecTower(SequenceTower):
    """``f_u``: causal self-attention over the time-ordered history -> unit vector.

    Parameters
    ----------
    config : TwoTowerConfig
        Uses ``n_items``, ``embedding_dim`` (model width ``e``), ``dim``,
        ``max_history`` (the longest sequence; positions beyond it do not
        exist), ``n_layers``, ``n_heads``, ``dropout`` (embedding, attention
        and feed-forward dropout) and ``n_domains`` (category embedding).
        The feed-forward width is ``4 e``.

    Raises
    ------
    ValueError
        If ``n_heads`` does not divide ``embedding_dim`` (from the config).
    """

    name = "sasrec"
    #: The layers that map a sequence to a vector; the item table stays
    #: trainable, because it holds rows for target items the source never saw.
    default_freeze = ("position", "domain", "next_domain", "encoder", "norm", "head")

    def __init__(self, config: TwoTowerConfig):
        super().__init__(config)
        e = config.embedding_dim
        self.init_item_tables(config)
        self.max_len = config.max_history
        self.position = nn.Embedding(config.max_history, e)
        self.dropout = nn.Dropout(config.dropout)
        layer = nn.TransformerEncoderLayer(
            d_model=e,
            nhead=config.n_heads,
            dim_feedforward=4 * e,
            dropout=config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers=config.n_layers, enable_nested_tensor=False
        )
        self.norm = nn.LayerNorm(e)
        self.head = nn.Linear(e, config.dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw every parameter (embeddings N(0, 0.05^2), other layers as PyTorch)."""
        self.init_embeddings(self.history, self.position, self.domain, self.next_domain)
        for layer in self.encoder.layers:
            layer.self_attn._reset_parameters()
            for m in (layer.linear1, layer.linear2, layer.norm1, layer.norm2):
                m.reset_parameters()
        self.norm.reset_parameters()
        self.head.reset_parameters()

    def encode_positions(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """One unit vector per prefix, ``(B, L) -> (B, L, dim)``; see :class:`UserEncoder`.

        Raises
        ------
        ValueError
            If ``L > max_history`` (no position embedding for it).
        """
        length = history.shape[1]
        if length > self.max_len:
            raise ValueError(
                f"history: {length} positions, but the tower has {self.max_len} (max_history)"
            )
        pos = self.position(torch.arange(length, device=history.device))
        x = self.dropout(self.embed(history) + pos[None])
        # causal: position t attends to 0..t only; with left-aligned histories
        # padding only ever follows the items, so no item attends to padding
        mask = nn.Transformer.generate_square_subsequent_mask(length, device=history.device)
        x = self.encoder(x, mask=mask, is_causal=True)
        return F.normalize(self.head(self.norm(x)), dim=-1)
