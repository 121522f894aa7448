"""A synthetic cross-category shop: the built-in default data of ``xcat quickstart``.

Each user has a latent taste vector that is shared across categories; the
target category sees a shifted version of it (``category_shift``), so what a
user bought in the source category says something, but not everything, about
what they will buy in the target category. Items have latent vectors, a
brand (a cluster of nearby items, usable as an item feature) and a Zipf-like
popularity. Users pick items by sampling without replacement from a softmax
over ``taste_strength * <taste, item> + popularity bias`` (the Gumbel top-k
trick). The source category is rich and the target thin (imbalance), and a
share of users is active in both, which is what transfer learns from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from xcat.data.domains import CrossDomainData
from xcat.data.interactions import Interactions

__all__ = ["SyntheticConfig", "make_cross_category"]


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of :func:`make_cross_category` (defaults: a 2-minute quickstart).

    Attributes
    ----------
    n_users : int, default 4000
        Users in total.
    n_source_items, n_target_items : int, default 1500 and 800
        Catalogue sizes of the source and target categories.
    overlap : float, default 0.5
        Share of users active in both categories.
    target_only : float, default 0.1
        Share of users active in the target category only (the rest of the
        non-overlapping users shop in the source category only).
    source_mean, target_mean : float, default 20.0 and 5.0
        Mean interactions per active user in each category (imbalance).
    min_per_user : int, default 3
        Fewest interactions an active user has in a category, so
        leave-last-out splits keep training history.
    dim : int, default 16
        Dimension of tastes and item vectors.
    category_shift : float, default 0.4
        0 = identical tastes in both categories, 1 = unrelated.
    taste_strength : float, default 16.0
        How much taste (vs. popularity) drives choices.
    popularity_skew : float, default 0.8
        Exponent of the Zipf-like item popularity.
    n_brands : int, default 40
        Brands per category (clusters of item vectors).
    source_name, target_name : str, default "electronics" and "clothing"
        Category names.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; the data are a pure
        function of the config.
    """

    n_users: int = 4000
    n_source_items: int = 1500
    n_target_items: int = 800
    overlap: float = 0.5
    target_only: float = 0.1
    source_mean: float = 20.0
    target_mean: float = 5.0
    min_per_user: int = 3
    dim: int = 16
    category_shift: float = 0.4
    taste_strength: float = 16.0
    popularity_skew: float = 0.8
    n_brands: int = 40
    source_name: str = "electronics"
    target_name: str = "clothing"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_users", "n_source_items", "n_target_items", "dim", "n_brands"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if not 0 < self.overlap <= 1 or not 0 <= self.target_only <= 1 - self.overlap:
            raise ValueError(
                "overlap must be in (0, 1] and target_only in [0, 1 - overlap], "
                f"got overlap={self.overlap}, target_only={self.target_only}"
            )
        if not 0 <= self.category_shift <= 1:
            raise ValueError(f"category_shift: must be in [0, 1], got {self.category_shift}")
        if self.min_per_user < 1:
            raise ValueError(f"min_per_user: must be at least 1, got {self.min_per_user}")
        most = min(self.n_source_items, self.n_target_items)
        if self.min_per_user > most:
            raise ValueError(f"min_per_user: {self.min_per_user} exceeds a catalogue of {most}")


def _catalogue(rng, n_items, cfg, prefix):
    vectors = rng.standard_normal((n_items, cfg.dim)) / np.sqrt(cfg.dim)
    centres = rng.standard_normal((cfg.n_brands, cfg.dim)) / np.sqrt(cfg.dim)
    dist = ((vectors[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    brands = np.array([f"{prefix}-brand-{b:02d}" for b in dist.argmin(axis=1)], dtype=object)
    bias = -cfg.popularity_skew * np.log1p(rng.permutation(n_items))
    ids = np.array([f"{prefix}-{i:05d}" for i in range(n_items)], dtype=object)
    return ids, vectors, bias, brands


def _choose(rng, tastes, vectors, bias, counts, strength):
    """Each user's items: Gumbel top-k sampling without replacement, in pick order."""
    logits = strength * tastes @ vectors.T + bias
    keys = logits + rng.gumbel(size=logits.shape)
    order = np.argsort(-keys, axis=1)
    return [order[u, : counts[u]] for u in range(len(counts))]


def _counts(rng, n, mean, cfg, n_items):
    extra = rng.poisson(max(mean - cfg.min_per_user, 0.0), size=n)
    return np.minimum(cfg.min_per_user + extra, n_items)


def make_cross_category(config: SyntheticConfig | None = None, **overrides) -> CrossDomainData:
    """Generate a source and a target category with shared users.

    Parameters
    ----------
    config : SyntheticConfig, optional
        Default: ``SyntheticConfig()``.
    **overrides
        Fields of :class:`SyntheticConfig` to change, e.g. ``n_users=500``.

    Returns
    -------
    CrossDomainData
        Source and target :class:`~xcat.data.Interactions` with columns
        ``user``, ``item``, ``category``, ``timestamp`` (each user's events in
        time order, interleaved across categories) and an item table with
        ``brand``. ``description`` records the config.

    Raises
    ------
    ValueError
        For out-of-range parameters (naming the field).
    """
    cfg = SyntheticConfig(**{**asdict(config or SyntheticConfig()), **overrides})
    rng = np.random.default_rng(cfg.seed)
    users = np.array([f"user-{u:06d}" for u in range(cfg.n_users)], dtype=object)
    role = rng.random(cfg.n_users)
    in_target = role < cfg.overlap + cfg.target_only
    in_source = (role < cfg.overlap) | (role >= cfg.overlap + cfg.target_only)
    taste = rng.standard_normal((cfg.n_users, cfg.dim))
    taste /= np.linalg.norm(taste, axis=1, keepdims=True)
    noise = rng.standard_normal((cfg.n_users, cfg.dim))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    shift = cfg.category_shift
    target_taste = np.sqrt(1 - shift**2) * taste + shift * noise

    start = pd.Timestamp("2024-01-01")
    frames = []
    item_tables = []
    for name, prefix, n_items, mean, tastes, active in (
        (cfg.source_name, "src", cfg.n_source_items, cfg.source_mean, taste, in_source),
        (cfg.target_name, "tgt", cfg.n_target_items, cfg.target_mean, target_taste, in_target),
    ):
        ids, vectors, bias, brands = _catalogue(rng, n_items, cfg, prefix)
        rows = np.flatnonzero(active)
        counts = _counts(rng, len(rows), mean, cfg, n_items)
        picks = _choose(rng, tastes[rows], vectors, bias, counts, cfg.taste_strength)
        user_col = np.repeat(users[rows], counts)
        item_col = ids[np.concatenate(picks)] if picks else ids[:0]
        # Event times: uniform over a year, independent of preference order.
        hours = rng.uniform(0, 365 * 24, size=int(counts.sum()))
        frames.append(
            pd.DataFrame(
                {
                    "user": user_col,
                    "item": item_col,
                    "category": name,
                    "timestamp": start + pd.to_timedelta(hours, unit="h"),
                }
            )
        )
        item_tables.append(pd.DataFrame({"brand": brands}, index=pd.Index(ids, name="item")))

    def domain(i):
        df = frames[i].sort_values(["user", "timestamp"], kind="stable").reset_index(drop=True)
        return Interactions(df, items=item_tables[i], copy=False)

    return CrossDomainData(
        source=domain(0),
        target=domain(1),
        name=f"synthetic/{cfg.source_name}_{cfg.target_name}",
        description=f"xcat synthetic cross-category data, {cfg}",
    )
