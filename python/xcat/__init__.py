"""xcat: cross-category product recommendation by transfer learning.

``import xcat`` is light (NumPy only), so a serving process can call
:func:`xcat.topn` without PyTorch.
"""

from xcat._xcat import __version__
from xcat.kernels import TopN, cosine_similarity, default_threads, topn

__all__ = ["TopN", "__version__", "cosine_similarity", "default_threads", "topn"]
