"""Serving top-N lists: :class:`Recommender` over exported embeddings."""

from xcat.recommend.recommender import Recommender

__all__ = ["Recommender"]
