"""Vocabularies that turn interaction tables into the integer inputs of a model.

A :class:`Vocab` fixes, for one model, the row number of every user, every
item (of every domain, so histories can mix categories), the domain of each
item and the item feature tokens.  It is saved with the model so new data is
encoded the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xcat.data.idmap import IdMap
from xcat.data.interactions import Interactions
from xcat.data.schema import CATEGORY, ITEM, RATING, TIMESTAMP, USER
from xcat.models.config import TwoTowerConfig

__all__ = ["EncodedInteractions", "Vocab"]

_FORMAT = "xcat.Vocab"
_VERSION = 1


@dataclass(frozen=True)
class EncodedInteractions:
    """Interactions as row numbers of a :class:`Vocab`.

    Attributes
    ----------
    users, items, domains : numpy.ndarray of int64, shape (n,)
        Row numbers of the user, the item and the item's domain.
    ratings : numpy.ndarray of float32, shape (n,), or None
        Explicit ratings when the table has a ``rating`` column.
    """

    users: np.ndarray
    items: np.ndarray
    domains: np.ndarray
    ratings: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.users)

    def csr(self, n_users: int, n_items: int) -> Any:
        """Return which (user, item) pairs occur, as a binary CSR matrix.

        Parameters
        ----------
        n_users, n_items : int
            Shape of the matrix (e.g. ``vocab.n_users``, ``vocab.n_items``).

        Returns
        -------
        scipy.sparse.csr_matrix of float32, shape (n_users, n_items)
            1.0 where the user interacted with the item, however many times
            (a repeated interaction is still 1.0); canonical (sorted indices,
            no duplicate entries, no explicit zeros).

        Raises
        ------
        ValueError
            If a row number is outside the shape (from SciPy).
        """
        import scipy.sparse as sp

        m = sp.csr_matrix(
            (np.ones(len(self.users), dtype=np.float32), (self.users, self.items)),
            shape=(n_users, n_items),
        )
        m.sum_duplicates()
        # summing merged the repeats into counts; binary means one per pair
        m.data[:] = 1.0
        return m


def _tokens(value: Any, column: str) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [f"{column}={v}" for v in value]
    return [f"{column}={value}"]


def _item_keys(df: pd.DataFrame, scoped: bool) -> pd.Series:
    """Item keys of a table's rows: the raw id, or ``"<category>:<id>"`` when scoped."""
    if not scoped:
        return df[ITEM]
    return df[CATEGORY].astype(str) + ":" + df[ITEM].astype(str)


@dataclass(frozen=True, eq=False)
class Vocab:
    """Row numbers of users, items, domains and item feature tokens.

    Build it with :meth:`from_interactions`.

    Attributes
    ----------
    users : IdMap
        Raw user id -> row number.
    items : IdMap
        Raw item id -> row number, items of every domain.
    domains : tuple of str
        Domain (category) names; ``item_domains`` indexes into it.
    item_domains : numpy.ndarray of int64, shape (n_items,)
        Domain of each item.
    features : IdMap or None
        Feature token (``"category=Beauty"``, ``"attributes=beauty:173"``,
        ``"price=q3"``) -> row number; None when items have no features.
    item_features : numpy.ndarray of int64, shape (n_items, max_item_features)
        Feature rows of each item, padded with ``-1``.
    scoped_items : bool
        Items are keyed ``"<category>:<item>"`` (see the field comment).
    """

    users: IdMap
    items: IdMap
    domains: tuple[str, ...]
    item_domains: np.ndarray
    features: IdMap | None
    item_features: np.ndarray
    #: Whether item keys are ``"<category>:<item>"``: set when some raw item
    #: id occurs in several categories, as with datasets whose item ids are
    #: numbered per domain (DisenCDR, CDRIB, Douban), so that item 0 of one
    #: category is never merged with item 0 of another.
    scoped_items: bool = False

    @property
    def n_users(self) -> int:
        """Number of users."""
        return len(self.users)

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.items)

    # ---------------------------------------------------------------- building

    @classmethod
    def from_interactions(
        cls,
        *parts: Interactions,
        feature_columns: Sequence[str] | None = None,
        category_feature: bool = True,
        price_buckets: int = 10,
    ) -> Vocab:
        """Vocabulary of all users, items and item features of some tables.

        Parameters
        ----------
        *parts : Interactions
            E.g. ``data.source, data.target``. Users and items get row numbers
            in order of first appearance over the parts in the given order.
        feature_columns : sequence of str, optional
            Columns of the tables' ``items`` tables to use as item features.
            Default: every column. A list-valued column (Amazon 5-core
            ``attributes``) gives one token per element; a float column is
            bucketed into ``price_buckets`` quantiles; any other value is one
            token. Missing values give no token: absent features are simply
            absent.
        category_feature : bool, default True
            Add the item's category (domain) as a feature token.
        price_buckets : int, default 10
            Quantile buckets for float columns.

        Returns
        -------
        Vocab

        Raises
        ------
        ValueError
            If no table is given, a table is empty, or ``feature_columns``
            names a column no items table has. An item id found in several
            categories is not an error: items are then keyed per category
            (``scoped_items``).
        """
        if not parts:
            raise ValueError("parts: give at least one Interactions table")
        for i, p in enumerate(parts):
            if not isinstance(p, Interactions):
                raise ValueError(f"parts[{i}]: expected Interactions, got {type(p).__name__}")
        data = pd.concat([p.data[[USER, ITEM, CATEGORY]] for p in parts], ignore_index=True)
        if data.empty:
            raise ValueError("parts: the tables have no interactions")
        users = IdMap.from_values(data[USER], name="user")
        per_category = data.drop_duplicates([ITEM, CATEGORY])
        scoped = bool(per_category[ITEM].duplicated().any())
        first = per_category.assign(key=_item_keys(per_category, scoped)).drop_duplicates("key")
        items = IdMap(first["key"].to_numpy(), name="item")
        domains = tuple(str(c) for c in pd.unique(data[CATEGORY]))
        dom_of = {c: i for i, c in enumerate(domains)}
        item_domains = first[CATEGORY].astype(str).map(dom_of).to_numpy(dtype=np.int64)

        tables = [p.items for p in parts if p.items is not None]
        item_table = pd.concat(tables) if tables else None
        if item_table is not None:
            item_table = item_table[~item_table.index.duplicated(keep="first")]
        columns = list(item_table.columns) if item_table is not None else []
        if feature_columns is not None:
            missing = [c for c in feature_columns if c not in columns]
            if missing:
                raise ValueError(
                    f"feature_columns: {missing} are not columns of the items tables "
                    f"(columns: {columns})"
                )
            columns = list(feature_columns)
        per_item: list[list[str]] = [[] for _ in range(len(items))]
        if category_feature:
            for row, d in enumerate(item_domains):
                per_item[row].append(f"category={domains[d]}")
        if item_table is not None and columns:
            aligned = item_table.reindex(pd.Index(first[ITEM].to_numpy()))
            for col in columns:
                values = aligned[col]
                if pd.api.types.is_float_dtype(values) and price_buckets > 0:
                    codes = pd.qcut(values, price_buckets, labels=False, duplicates="drop")
                    values = codes.map(lambda q: None if pd.isna(q) else f"q{int(q)}")
                for row, v in enumerate(values.tolist()):
                    per_item[row].extend(_tokens(v, str(col)))
        width = max((len(t) for t in per_item), default=0)
        if width == 0:
            return cls(
                users,
                items,
                domains,
                item_domains,
                None,
                np.zeros((len(items), 0), np.int64),
                scoped,
            )
        features = IdMap.from_values([t for ts in per_item for t in ts], name="feature")
        codes = np.full((len(items), width), -1, dtype=np.int64)
        for row, ts in enumerate(per_item):
            if ts:
                codes[row, : len(ts)] = features.encode(ts)
        return cls(users, items, domains, item_domains, features, codes, scoped)

    def item_keys(self, frame: pd.DataFrame) -> pd.Series:
        """Keys of a table's items as :attr:`items` holds them.

        The raw ``item`` id, or ``"<category>:<item>"`` when items are keyed
        per category (:attr:`scoped_items`).
        """
        return _item_keys(frame, self.scoped_items)

    def extends(self, other: Vocab) -> bool:
        """Whether this vocabulary starts with ``other``'s users and items.

        True when every row number of ``other`` means the same user or item
        here, as after :meth:`extend`.
        """
        return (
            self.n_users >= other.n_users
            and self.n_items >= other.n_items
            and self.users.ids[: other.n_users].equals(other.users.ids)
            and self.items.ids[: other.n_items].equals(other.items.ids)
        )

    def extend(self, new: Interactions) -> Vocab:
        """Return this vocabulary with the unseen users and items of ``new`` appended.

        Old row numbers are unchanged: each id map of ``self`` is a prefix of
        the returned one's, so indices stored with a model stay valid (the
        feedback loop, the training layer's ``update``). New items take
        their category from ``new`` and the feature tokens this vocabulary
        already knows: the category token and, when ``new`` has an items
        table, its non-float columns (float columns were bucketed by
        quantiles of the original items, which new items cannot reproduce).

        Raises
        ------
        ValueError
            If a category of ``new`` is not one of the domains.
        """
        df = new.data
        bad = sorted(set(map(str, df[CATEGORY].unique())) - set(self.domains))
        if bad:
            raise ValueError(f"new: categories {bad} are not among the domains {self.domains}")
        fresh_users = pd.unique(df.loc[~df[USER].isin(self.users.ids), USER])
        user_dtype = np.int64 if self.users.kind == "int" else object
        users = IdMap(
            np.r_[self.users.ids.to_numpy(), np.asarray(fresh_users, dtype=user_dtype)],
            name=self.users.name,
        )
        keys = self.item_keys(df)
        fresh = ~keys.isin(self.items.ids)
        first = df[fresh].assign(key=keys[fresh]).drop_duplicates("key")
        items = IdMap(
            np.r_[self.items.ids.to_numpy(), first["key"].to_numpy().astype(self.items.ids.dtype)],
            name=self.items.name,
        )
        dom_of = {d: i for i, d in enumerate(self.domains)}
        new_domains = first[CATEGORY].astype(str).map(dom_of).to_numpy(dtype=np.int64)
        width = self.item_features.shape[1]
        codes = np.full((len(first), width), -1, dtype=np.int64)
        if self.features is not None and width:
            table = new.items
            for row, (item, cat) in enumerate(zip(first[ITEM], first[CATEGORY], strict=True)):
                tokens = [f"category={cat}"]
                if table is not None and item in table.index:
                    for col, value in table.loc[item].items():
                        if not pd.api.types.is_float(value):
                            tokens += _tokens(value, str(col))
                known = [tok for tok in tokens if tok in self.features][:width]
                if known:
                    codes[row, : len(known)] = self.features.encode(known)
        return Vocab(
            users=users,
            items=items,
            domains=self.domains,
            item_domains=np.r_[self.item_domains, new_domains],
            features=self.features,
            item_features=np.vstack([self.item_features, codes]),
            scoped_items=self.scoped_items,
        )

    def model_config(self, **kwargs: Any) -> TwoTowerConfig:
        """Return a :class:`TwoTowerConfig` sized for this vocabulary.

        Parameters
        ----------
        **kwargs
            Other config fields (``dim``, ``hidden_dims``...). With a
            sequence tower (``user_tower="sasrec"`` or ``"gru"``),
            ``n_domains`` defaults to the vocabulary's number of domains (a
            category embedding per domain).
        """
        if kwargs.get("user_tower", "mean") != "mean":
            kwargs.setdefault("n_domains", len(self.domains))
        return TwoTowerConfig(
            n_users=self.n_users,
            n_items=self.n_items,
            n_features=len(self.features) if self.features is not None else 0,
            max_item_features=self.item_features.shape[1],
            **kwargs,
        )

    # ---------------------------------------------------------------- encoding

    def encode(self, inter: Interactions) -> EncodedInteractions:
        """Row numbers of the users, items and domains of a table.

        Parameters
        ----------
        inter : Interactions

        Returns
        -------
        EncodedInteractions
            In the row order of ``inter``.

        Raises
        ------
        ValueError
            If a user or item is not in the vocabulary (the message counts
            them and gives examples).
        """
        df = inter.data
        users = self.users.encode(df[USER], unknown="raise")
        items = self.items.encode(self.item_keys(df), unknown="raise")
        ratings = df[RATING].to_numpy(dtype=np.float32) if RATING in df.columns else None
        return EncodedInteractions(users, items, self.item_domains[items], ratings)

    def item_categories(self) -> np.ndarray:
        """Return the category (domain name) of every item row.

        Returns
        -------
        numpy.ndarray of object (str), shape (n_items,)
            E.g. the ``item_categories`` of :class:`xcat.recommend.Recommender`.
        """
        return np.asarray(self.domains, dtype=object)[self.item_domains]

    def domain_items(self, domain: str | Sequence[str]) -> np.ndarray:
        """Item rows of one or several domains (the candidate catalogue).

        Returns
        -------
        numpy.ndarray of int64, shape (k,), ascending

        Raises
        ------
        ValueError
            If a domain is unknown.
        """
        names = [domain] if isinstance(domain, str) else list(domain)
        bad = [d for d in names if d not in self.domains]
        if bad:
            raise ValueError(f"domain: {bad} not in the vocabulary's domains {list(self.domains)}")
        ids = [self.domains.index(d) for d in names]
        return np.flatnonzero(np.isin(self.item_domains, ids)).astype(np.int64)

    def histories(self, *parts: Interactions, max_len: int) -> np.ndarray:
        """Return the most recent ``max_len`` items of every user over some tables.

        Parameters
        ----------
        *parts : Interactions
            Interactions the model may see (e.g. source + target training
            rows). Order within a user is by ``timestamp`` when every part
            has one, else the row order of the parts concatenated (the
            Amazon 5-core sequences are stored in event order).
        max_len : int
            History length kept per user.

        Returns
        -------
        numpy.ndarray of int64, shape (n_users, max_len)
            Item rows, oldest first, left-aligned and padded with ``-1``;
            users without interactions in ``parts`` have an all ``-1`` row.
        """
        if max_len < 1:
            raise ValueError(f"max_len: expected a positive integer, got {max_len!r}")
        out = np.full((self.n_users, max_len), -1, dtype=np.int64)
        if not parts:
            return out
        frames = [p.data for p in parts]
        use_time = all(TIMESTAMP in f.columns for f in frames)
        enc = [self.encode(p) for p in parts]
        users = np.concatenate([e.users for e in enc])
        items = np.concatenate([e.items for e in enc])
        if use_time:
            t = np.concatenate(
                [f[TIMESTAMP].to_numpy().astype("datetime64[ns]").astype(np.int64) for f in frames]
            )
            order = np.lexsort((t, users))
        else:
            order = np.argsort(users, kind="stable")
        users, items = users[order], items[order]
        if len(users) == 0:
            return out
        starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
        ends = np.r_[starts[1:], len(users)]
        for s, e in zip(starts, ends, strict=True):
            take = items[max(s, e - max_len) : e]
            out[users[s], : len(take)] = take
        return out

    # ---------------------------------------------------------------- persistence

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, read back by :meth:`from_dict`."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "users": self.users.to_dict(),
            "items": self.items.to_dict(),
            "domains": list(self.domains),
            "item_domains": self.item_domains.tolist(),
            "features": self.features.to_dict() if self.features is not None else None,
            "item_features": self.item_features.tolist(),
            "n_feature_slots": int(self.item_features.shape[1]),
            "scoped_items": self.scoped_items,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocab:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        ValueError
            If ``d`` is not a saved vocabulary, has a newer format version,
            or its parts disagree: the item domains or item feature rows are
            not one per item of the item id map, or refer to a domain or
            feature token the vocabulary does not have (the message names
            the parts and both sizes).
        """
        if d.get("format") != _FORMAT:
            raise ValueError("not a saved xcat Vocab (missing 'format': 'xcat.Vocab')")
        if d.get("version", 0) > _VERSION:
            raise ValueError(
                f"the vocabulary has format version {d.get('version')}, "
                f"this xcat reads up to {_VERSION}"
            )
        missing = [
            k
            for k in (
                "users",
                "items",
                "domains",
                "item_domains",
                "features",
                "item_features",
                "n_feature_slots",
            )
            if k not in d
        ]
        if missing:
            raise ValueError(f"not a complete xcat Vocab: {missing} missing")
        items = IdMap.from_dict(d["items"])
        features = IdMap.from_dict(d["features"]) if d["features"] is not None else None
        domains = tuple(d["domains"])
        item_domains = np.asarray(d["item_domains"], dtype=np.int64).reshape(-1)
        if len(item_domains) != len(items):
            raise ValueError(
                f"'item_domains' has {len(item_domains)} entries but the item id map "
                f"{len(items)} ids; one domain per item is expected"
            )
        if item_domains.size and (item_domains.min() < 0 or item_domains.max() >= len(domains)):
            raise ValueError(
                f"'item_domains' refers to domain {int(item_domains.max())} (or a negative one), "
                f"but 'domains' has {len(domains)} names"
            )
        slots = int(d["n_feature_slots"])
        rows = d["item_features"]
        if len(rows) != len(items):
            raise ValueError(
                f"'item_features' has {len(rows)} rows but the item id map {len(items)} ids; "
                "one row per item is expected"
            )
        feats = np.asarray(rows, dtype=np.int64).reshape(len(items), slots)
        n_features = len(features) if features is not None else 0
        if feats.size and (feats.min() < -1 or feats.max() >= n_features):
            raise ValueError(
                f"'item_features' refers to feature row {int(feats.max())} (or below -1), but "
                f"the feature id map has {n_features} tokens"
            )
        return cls(
            users=IdMap.from_dict(d["users"]),
            items=items,
            domains=domains,
            item_domains=item_domains,
            features=features,
            item_features=feats,
            scoped_items=bool(d.get("scoped_items", False)),
        )

    def to_json(self) -> str:
        """Return the vocabulary as a JSON string."""
        return json.dumps(self.to_dict())
