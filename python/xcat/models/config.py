"""Configuration of the two-tower model: a frozen dataclass saved as JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_USER_TOWER", "TwoTowerConfig"]

#: Fields of the sequence towers, left out of the saved config when they hold
#: their default (so a mean-tower model is saved exactly as before they existed).
_OPTIONAL_FIELDS = {"n_domains": 0, "n_layers": 2, "n_heads": 1}

#: The user tower of a config that names none (and of every model saved before
#: the field existed): mean pooling, :class:`xcat.models.towers.MeanPoolTower`.
DEFAULT_USER_TOWER = "mean"


def _positive_int(name: str, value: Any, *, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")


@dataclass(frozen=True)
class TwoTowerConfig:
    """Shape of a :class:`~xcat.models.TwoTower` model.

    Sizes (``n_users``, ``n_items``, ``n_features``, ``max_item_features``)
    normally come from :meth:`xcat.models.Vocab.model_config`, so they match
    the vocabulary the model is trained with.

    Attributes
    ----------
    n_users : int
        Rows of the user-id embedding (users of every domain).
    n_items : int
        Rows of the item-id embedding (items of every domain, so a user's
        history can hold items of any category).
    n_features : int, default 0
        Size of the item feature vocabulary (category, brand, attribute ids,
        price buckets...); 0 means the item tower has no feature input.
    max_item_features : int, default 0
        Feature slots per item (items with fewer are padded).
    embedding_dim : int, default 64
        Width of every embedding table.
    dim : int, default 64
        Output dimension ``d`` of both towers (L2-normalised).
    hidden_dims : tuple of int, default (128,)
        Hidden layer widths of each tower's MLP (ReLU); ``()`` is one linear
        layer.
    dropout : float, default 0.0
        Dropout before each hidden layer, in ``[0, 1)``.
    max_history : int, default 50
        Most recent history items pooled by the user tower.
    use_user_id : bool, default True
        Whether the user tower has a user-id embedding. Without it the user
        representation depends only on the history (fully inductive).
    user_tower : str, default "mean"
        Which user tower encodes a user and their history (a name of
        :func:`xcat.models.towers.get_tower`; checked when the model is built):
        ``"mean"`` (pooled history), ``"sasrec"`` (causal self-attention) or
        ``"gru"`` (GRU4Rec).
    n_domains : int, default 0
        Number of domains (categories) of the vocabulary, for the sequence
        towers' category embedding (``len(vocab.domains)``); 0: none.
    n_layers : int, default 2
        Self-attention blocks (``"sasrec"``) or GRU layers (``"gru"``).
    n_heads : int, default 1
        Attention heads of ``"sasrec"``; must divide ``embedding_dim``.

    Raises
    ------
    ValueError
        Naming the field, if a size is not a positive integer or dropout is
        out of range.
    """

    n_users: int
    n_items: int
    n_features: int = 0
    max_item_features: int = 0
    embedding_dim: int = 64
    dim: int = 64
    hidden_dims: tuple[int, ...] = (128,)
    dropout: float = 0.0
    max_history: int = 50
    use_user_id: bool = True
    user_tower: str = DEFAULT_USER_TOWER
    n_domains: int = 0
    n_layers: int = 2
    n_heads: int = 1

    def __post_init__(self) -> None:
        _positive_int("n_users", self.n_users)
        _positive_int("n_items", self.n_items)
        _positive_int("n_features", self.n_features, allow_zero=True)
        _positive_int("max_item_features", self.max_item_features, allow_zero=True)
        _positive_int("embedding_dim", self.embedding_dim)
        _positive_int("dim", self.dim)
        _positive_int("max_history", self.max_history)
        _positive_int("n_domains", self.n_domains, allow_zero=True)
        _positive_int("n_layers", self.n_layers)
        _positive_int("n_heads", self.n_heads)
        if self.embedding_dim % self.n_heads:
            raise ValueError(
                f"n_heads: must divide embedding_dim={self.embedding_dim}, got {self.n_heads}"
            )
        if not isinstance(self.user_tower, str) or not self.user_tower:
            raise ValueError(f"user_tower: expected a tower name, got {self.user_tower!r}")
        object.__setattr__(self, "hidden_dims", tuple(self.hidden_dims))
        for h in self.hidden_dims:
            _positive_int("hidden_dims", h)
        if not (0.0 <= float(self.dropout) < 1.0):
            raise ValueError(f"dropout: expected a value in [0, 1), got {self.dropout!r}")
        if (self.n_features == 0) != (self.max_item_features == 0):
            raise ValueError(
                "n_features and max_item_features must both be 0 (no item features) or both "
                f"positive, got n_features={self.n_features}, "
                f"max_item_features={self.max_item_features}"
            )

    def replace(self, **changes: Any) -> TwoTowerConfig:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, read back by :meth:`from_dict`.

        ``user_tower`` and the sequence-tower fields (``n_domains``,
        ``n_layers``, ``n_heads``) are left out when they hold their default,
        so a default model is saved exactly as before the fields existed (and
        earlier xcat versions still read it); :meth:`from_dict` fills them
        back in.
        """
        d = dataclasses.asdict(self)
        d["hidden_dims"] = list(self.hidden_dims)
        if d["user_tower"] == DEFAULT_USER_TOWER:
            del d["user_tower"]
        for name, default in _OPTIONAL_FIELDS.items():
            if d[name] == default:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TwoTowerConfig:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        ValueError
            If ``d`` has unknown or missing fields.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"TwoTowerConfig: unknown fields {unknown}")
        try:
            return cls(**{**d, "hidden_dims": tuple(d.get("hidden_dims", (128,)))})
        except TypeError as e:  # missing required field
            raise ValueError(f"TwoTowerConfig: {e}") from None

    def to_json(self) -> str:
        """Return the config as a JSON string."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)
