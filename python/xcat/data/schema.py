"""The canonical columns of an interaction table and the rule for id values.

An :class:`~xcat.data.interactions.Interactions` table has these columns:

=============  ==============================================  ========
column         meaning                                         required
=============  ==============================================  ========
``user``       raw user id (``int64`` or ``str``)              yes
``item``       raw item id (``int64`` or ``str``)              yes
``category``   product category, i.e. the *domain* of the row  yes
``rating``     explicit rating (numeric)                       no
``event``      event type (``"view"``, ``"cart"``, ``"buy"``)  no
``timestamp``  event time, ``datetime64[ns]`` (naive, UTC)     no
``split``      a benchmark's own split label (``"train"``..)   no
=============  ==============================================  ========

Ids are all integers or all strings (:func:`id_kind`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from xcat.data.messages import fmt_count

__all__ = [
    "CATEGORY",
    "EVENT",
    "FORMAT_VERSION",
    "ID_COLUMNS",
    "ITEM",
    "OPTIONAL_COLUMNS",
    "RATING",
    "REQUIRED_COLUMNS",
    "SPLIT",
    "TIMESTAMP",
    "USER",
    "as_list",
    "id_kind",
]

USER = "user"
ITEM = "item"
CATEGORY = "category"
RATING = "rating"
EVENT = "event"
TIMESTAMP = "timestamp"
SPLIT = "split"

#: Columns every :class:`~xcat.data.interactions.Interactions` table has.
REQUIRED_COLUMNS: tuple[str, ...] = (USER, ITEM, CATEGORY)
#: Columns with a fixed meaning that a table may have.
OPTIONAL_COLUMNS: tuple[str, ...] = (RATING, EVENT, TIMESTAMP, SPLIT)
ID_COLUMNS: tuple[str, ...] = (USER, ITEM, CATEGORY)

#: Version of the saved forms of :class:`~xcat.data.idmap.IdMap` and
#: :class:`~xcat.data.interactions.Interactions` (written into their files).
FORMAT_VERSION = 1


def id_kind(values: pd.Series | pd.Index | np.ndarray, what: str) -> Literal["int", "str"]:
    """Whether an id column holds integers or strings.

    Parameters
    ----------
    values : pandas.Series, pandas.Index or numpy.ndarray of shape (n,)
        The ids (nulls are skipped when inferring the type of object columns).
    what : str
        What the values are, for messages (``"column 'user'"``).

    Returns
    -------
    {"int", "str"}

    Raises
    ------
    ValueError
        If the values are booleans, floats, nullable integers with nulls or a
        mix of types; the message names ``what`` and gives the counts.
    """
    values = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ValueError(f"{what} has boolean dtype; ids must be integers or strings")
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and values.isna().any():
            n = int(values.isna().sum())
            raise ValueError(f"{what} has {fmt_count(n)} null values")
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        raise ValueError(
            f"{what} has float dtype ({dtype}); ids must be integers or strings. "
            "If the values are whole numbers, convert them with .astype('int64') first"
        )
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return "str"
    if kind == "integer":
        return "int"
    types = pd.Series([type(v).__name__ for v in values.dropna()]).value_counts()
    raise ValueError(
        f"{what} mixes value types "
        f"({', '.join(f'{t}: {fmt_count(int(c))} rows' for t, c in types.items())}); "
        "ids must be all integers or all strings"
    )


def as_list(x: Hashable | Sequence[Hashable]) -> list[Hashable]:
    """One value (a string counts as one) or a sequence of values, as a list.

    Used for arguments such as ``categories="Beauty"`` or
    ``categories=["Beauty", "Toys"]``.
    """
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        return [x]
    return list(x)
