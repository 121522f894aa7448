"""The canonical columns and the id rule: ids are all integers or all strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from xcat.data.schema import (
    CATEGORY,
    ID_COLUMNS,
    ITEM,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    USER,
    as_list,
    id_kind,
)


def test_columns():
    assert REQUIRED_COLUMNS == ID_COLUMNS == (USER, ITEM, CATEGORY) == ("user", "item", "category")
    assert OPTIONAL_COLUMNS == ("rating", "event", "timestamp", "split")


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (pd.Series([1, 2]), "int"),
        (np.array([3], dtype=np.uint8), "int"),
        (pd.Series(["a", None]), "str"),
        (pd.Index([], dtype=object), "str"),
        (pd.Series([1, 2], dtype=object), "int"),
    ],
)
def test_id_kind(values, kind):
    assert id_kind(values, "ids") == kind


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (pd.Series([True]), "ids has boolean dtype"),
        (pd.Series([1.0]), r"ids has float dtype \(float64\)"),
        (pd.Series([1, None], dtype="Int64"), "ids has 1 null values"),
        (pd.Series(["a", 1, 2]), r"ids mixes value types \(int: 2 rows, str: 1 rows\)"),
    ],
)
def test_id_kind_rejects(values, message):
    with pytest.raises(ValueError, match=message):
        id_kind(values, "ids")


def test_as_list():
    assert as_list("Beauty") == ["Beauty"]
    assert as_list(7) == [7]
    assert as_list(("a", "b")) == ["a", "b"]
