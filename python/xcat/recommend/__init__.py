"""Serving top-N lists: :class:`Recommender` over exported embeddings.

:meth:`Recommender.save` / :meth:`Recommender.load` keep one in a directory
of ``.npy`` and JSON files (:mod:`xcat.recommend.io`), loaded without PyTorch.
"""

from xcat.recommend.recommender import Recommender

__all__ = ["Recommender"]
