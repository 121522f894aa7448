"""The mean-pooling user tower (``user_tower="mean"``, the default).

``f_u(x_u, c_u)``: the user-id embedding next to the mean of the embeddings
of the user's history items (items of every category the user touched, so a
user with only source-domain history still gets a representation) -> MLP ->
L2-normalised (Covington et al., RecSys 2016; Yi et al., RecSys 2019).

Parameters (state-dict keys under ``user_tower.``):

======================  ==============================================
``user_id.weight``      user-id embedding ``(n_users, e)`` (``use_user_id``)
``history.weight``      history item embedding ``(n_items + 1, e)``, row
                        ``n_items`` the (zero) padding row
``mlp.*``               the MLP
======================  ==============================================
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from xcat.models.config import TwoTowerConfig
from xcat.models.layers import mlp
from xcat.models.towers.base import IdTable, UserEncoder, register_tower

__all__ = ["MeanPoolTower"]


@register_tower
class MeanPoolTower(UserEncoder):
    """``f_u``: user id + mean-pooled history items -> MLP -> unit vector.

    Parameters
    ----------
    config : TwoTowerConfig
    """

    name = "mean"
    #: The layers that map a user to a vector; the history item table stays
    #: trainable, because it holds rows for target items the source never saw.
    default_freeze = ("user_id", "mlp")

    def __init__(self, config: TwoTowerConfig):
        super().__init__(config)
        e = config.embedding_dim
        self.pad = config.n_items
        self.user_id: nn.Embedding | None = (
            nn.Embedding(config.n_users, e) if config.use_user_id else None
        )
        self.history = nn.EmbeddingBag(
            config.n_items + 1, e, mode="mean", padding_idx=config.n_items
        )
        in_dim = e * (2 if config.use_user_id else 1)
        self.mlp = mlp(in_dim, config.hidden_dims, config.dim, config.dropout)
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

    def id_tables(self) -> dict[str, IdTable]:
        """Return the user-id table (if used) and the history item table (with a padding row)."""
        tables = {"history.weight": IdTable("item", padding=True)}
        if self.user_id is not None:
            tables = {"user_id.weight": IdTable("user"), **tables}
        return tables

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
