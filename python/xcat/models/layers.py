"""Building blocks shared by the towers."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

__all__ = ["mlp"]


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, dropout: float) -> nn.Sequential:
    """Build a ReLU multi-layer perceptron ``in_dim -> *hidden -> out_dim``.

    Parameters
    ----------
    in_dim : int
        Input width.
    hidden : sequence of int
        Hidden layer widths; ``()`` is one linear layer.
    out_dim : int
        Output width (no activation after the last layer).
    dropout : float
        Dropout before each hidden layer (none when 0).

    Returns
    -------
    torch.nn.Sequential
        Layers are numbered as in the saved parameter names (``mlp.0.weight``...).
    """
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)
