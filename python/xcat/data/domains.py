"""Source and target domains for cross-category transfer.

A :class:`CrossDomainData` pairs a *source* domain (one or several product
categories the model is pretrained on) with a *target* domain (the category
it is transferred to).  Users are identified by their raw id in both, so a
user id present in both domains is an *overlapping* (shared) user; item ids
belong to their own domain.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xcat.data.interactions import Interactions
from xcat.data.messages import fmt_count
from xcat.data.report import RemovalReport
from xcat.data.schema import USER, as_list


def _domain_name(categories: Sequence[Hashable]) -> str:
    return "+".join(map(str, categories))


@dataclass(frozen=True)
class CrossDomainData:
    """A source domain and a target domain with shared users.

    Attributes
    ----------
    source : Interactions
        Interactions of the source domain (one or several categories).
    target : Interactions
        Interactions of the target domain.
    name : str
        Dataset name, e.g. ``"disencdr_amazon/sport_cloth"``.
    description : str
        How the data were built, the split they ship with and how to evaluate
        (for loaders of published benchmarks).

    Raises
    ------
    ValueError
        If a domain has no rows, or no user appears in both domains.  The
        message names the domain.
    """

    source: Interactions
    target: Interactions
    name: str = ""
    description: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        for role, dom in (("source", self.source), ("target", self.target)):
            if not isinstance(dom, Interactions):
                raise ValueError(f"{role} must be an Interactions table, got {type(dom).__name__}")
            if len(dom) == 0:
                raise ValueError(f"the {role} domain ({self._label(role)}) has no interactions")
        if len(self.overlap_users()) == 0:
            raise ValueError(
                f"no user appears in both the source domain ({self._label('source')}, "
                f"{fmt_count(self.source.n_users)} users) and the target domain "
                f"({self._label('target')}, {fmt_count(self.target.n_users)} users); "
                "cross-domain transfer needs overlapping users with the same raw user id"
            )

    def _label(self, role: str) -> str:
        dom = self.source if role == "source" else self.target
        return _domain_name(dom.categories) if len(dom) else "empty"

    @property
    def source_categories(self) -> list[Hashable]:
        """Categories of the source domain."""
        return self.source.categories

    @property
    def target_categories(self) -> list[Hashable]:
        """Categories of the target domain."""
        return self.target.categories

    def overlap_users(self) -> np.ndarray:
        """Raw ids of users with interactions in both domains.

        Returns
        -------
        numpy.ndarray of shape (n_overlap,)
            In order of first appearance in the target domain.
        """
        src = pd.Index(pd.unique(self.source.data[USER]))
        tgt = pd.unique(self.target.data[USER])
        return tgt[src.get_indexer(tgt) >= 0] if len(src) else tgt[:0]

    @property
    def report(self) -> RemovalReport:
        """Removal reports of the source and target domains, one after the other."""
        return (
            RemovalReport()
            .extend(self.source.report, "source: ")
            .extend(self.target.report, "target: ")
        )

    def stats(self) -> pd.DataFrame:
        """Users, items, interactions and density per domain, and the user overlap.

        Returns
        -------
        pandas.DataFrame
            See :func:`xcat.data.stats.cross_domain_stats`.
        """
        from xcat.data.stats import cross_domain_stats

        return cross_domain_stats(self)

    def __repr__(self) -> str:
        return (
            f"CrossDomainData({self.name!r}: source {self._label('source')} "
            f"({len(self.source):,} rows, {self.source.n_users:,} users), target "
            f"{self._label('target')} ({len(self.target):,} rows, {self.target.n_users:,} users), "
            f"{len(self.overlap_users()):,} overlapping users)"
        )


def select_domains(
    interactions: Interactions,
    source: Hashable | Sequence[Hashable],
    target: Hashable | Sequence[Hashable],
    *,
    overlap_only: bool = False,
    name: str = "",
) -> CrossDomainData:
    """Split one interaction table into a source and a target domain by category value.

    Parameters
    ----------
    interactions : Interactions
        Table with several categories.
    source : hashable or sequence of hashable
        Category value(s) of the source domain, e.g. ``"Beauty"`` or
        ``["Beauty", "Toys_and_Games"]``.
    target : hashable or sequence of hashable
        Category value(s) of the target domain, disjoint from ``source``.
    overlap_only : bool, default False
        Keep only users who appear in both domains (a removal, recorded in
        each domain's report).
    name : str, default ""
        Name of the resulting dataset.

    Returns
    -------
    CrossDomainData

    Raises
    ------
    ValueError
        If a category is missing from the data, a category is both source and
        target, a domain is empty or no user appears in both domains.

    Notes
    -----
    Item ids are kept as they are; if one item id occurs in both domains
    (rare on Amazon, where a product has one category), it is the same item.
    """
    src = as_list(source)
    tgt = as_list(target)
    if not src:
        raise ValueError("source: give at least one category")
    if not tgt:
        raise ValueError("target: give at least one category")
    both = [c for c in src if c in tgt]
    if both:
        raise ValueError(f"categories {both} are given as both source and target")
    s = interactions.select(src, role="source")
    t = interactions.select(tgt, role="target")
    if overlap_only:
        shared = set(s.data[USER]).intersection(t.data[USER])
        out = []
        for dom in (s, t):
            mask = dom.data[USER].isin(shared).to_numpy()
            rep = dom.report.add(
                "keep overlapping users",
                len(dom),
                int(mask.sum()),
                f"users with interactions in both domains ({fmt_count(len(shared))} users)",
            )
            out.append(dom._derive(dom.data.loc[mask].reset_index(drop=True), rep))
        s, t = out
    return CrossDomainData(
        source=s,
        target=t,
        name=name or f"{_domain_name(src)} -> {_domain_name(tgt)}",
    )


__all__ = ["CrossDomainData", "select_domains"]


def sample_users(data: CrossDomainData, n_other: int, *, seed: int = 0) -> CrossDomainData:
    """Keep every overlapping user plus ``n_other`` others per domain.

    For quick experiments and tests on large data. Overlapping users (the
    ones transfer learns from and is evaluated on) are all kept, with all
    their rows; of the users active in one domain only, ``n_other`` per
    domain are drawn at random.

    Parameters
    ----------
    data : CrossDomainData
    n_other : int
        Non-overlapping users kept per domain (fewer if the domain has fewer).
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; users are drawn from their
        sorted ids, so the result does not depend on row order.

    Returns
    -------
    CrossDomainData
        ``name`` gets a ``"(sample)"`` suffix; ``description`` says what was kept.

    Raises
    ------
    ValueError
        If ``n_other`` is negative.
    """
    if n_other < 0:
        raise ValueError(f"n_other: expected a non-negative integer, got {n_other}")
    rng = np.random.default_rng(seed)
    overlap = set(data.overlap_users().tolist())
    parts = []
    for dom in (data.source, data.target):
        users = pd.unique(dom.data[USER])
        others = np.array(sorted(u for u in users if u not in overlap), dtype=object)
        chosen = others[rng.permutation(len(others))[:n_other]] if len(others) else others
        keep = overlap | set(chosen.tolist())
        parts.append(dom.take(dom.data[USER].isin(keep).to_numpy()))
    return CrossDomainData(
        source=parts[0],
        target=parts[1],
        name=f"{data.name} (sample)",
        description=(
            f"{data.description}\nSampled: all {len(overlap):,} overlapping users and up to "
            f"{n_other:,} other users per domain (seed {seed})."
        ),
    )
