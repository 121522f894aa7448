"""xcat: cross-category product recommendation by transfer learning.

``import xcat`` is light (NumPy only), so a serving process can call
:func:`xcat.topn` without PyTorch; :func:`xcat.load` imports the model
layer (and PyTorch) on first use.
"""

from typing import Any

from xcat._xcat import __version__
from xcat.kernels import TopN, cosine_similarity, default_threads, topn

__all__ = ["TopN", "__version__", "cosine_similarity", "default_threads", "load", "topn"]


def load(path: Any, **kwargs: Any) -> Any:
    """Load a model saved with :func:`xcat.models.save`.

    Parameters
    ----------
    path : str or pathlib.Path
        The model directory: a two-tower model (``model.safetensors``,
        ``config.json``, ``vocab.json``) or an EMCDR mapped model
        (``source/``, ``target/``, ``mapper.safetensors``, ``config.json``).
    **kwargs
        Passed to :func:`xcat.models.load` (e.g. ``device="cuda"``).

    Returns
    -------
    xcat.models.TwoTower or xcat.transfer.MappedModel
        As the directory's ``config.json`` says; both have
        ``user_embeddings()``, ``item_embeddings()`` and ``vocab``.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`xcat.models.load`: missing files, incompatible versions.
    ImportError
        (:class:`xcat._extras.MissingExtraError`, a ``ModuleNotFoundError``)
        If PyTorch or safetensors is not installed; the message names the
        extra to install, ``pip install "xcat[train]"``.
    """
    from xcat._extras import requires_extra

    with requires_extra("xcat.load"):
        from xcat.models import load as load_model

        return load_model(path, **kwargs)
