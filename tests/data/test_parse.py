"""Value parsing: ratings, timestamps, exact integer ids, missing markers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from xcat.data.interactions import Interactions

BIG = 9007199254740993  # 2**53 + 1: not representable as float64


def frame(**cols):
    return pd.DataFrame(cols)


def test_non_numeric_ratings_are_counted():
    df = frame(u=["a", "b", "c"], i=["x", "y", "z"], r=["5", "five", "n/a"])
    with pytest.raises(ValueError, match=r"rating column 'r': 2 of 3 values are not numbers"):
        Interactions.from_frame(df, user="u", item="i", category_value="c", rating="r")
    df = frame(u=["a", "b"], i=["x", "y"], r=[4.0, np.nan])
    with pytest.raises(ValueError, match=r"rating column 'r': 1 of 2 rows have no rating"):
        Interactions.from_frame(df, user="u", item="i", category_value="c", rating="r")


def test_unparsable_timestamps_are_counted():
    df = frame(u=["a", "b", "c"], i=["x", "y", "z"], t=["2020-01-01", "yesterday", "2020-13-45"])
    with pytest.raises(
        ValueError, match=r"timestamp column 't': 2 of 3 values could not be parsed"
    ):
        Interactions.from_frame(df, user="u", item="i", category_value="c", timestamp="t")


def test_millisecond_epochs_need_the_unit():
    df = frame(u=["a"], i=["x"], t=[1609459200000])
    with pytest.raises(ValueError, match="look like milliseconds"):
        Interactions.from_frame(df, user="u", item="i", category_value="c", timestamp="t")
    inter = Interactions.from_frame(
        df, user="u", item="i", category_value="c", timestamp="t", timestamp_unit="ms"
    )
    assert inter.data["timestamp"].iloc[0] == pd.Timestamp("2021-01-01")


@pytest.mark.parametrize(
    "values",
    [
        ["1511544070", "1511544070"],  # epoch seconds read as text
        [1511544070, 1511544070],
        ["2017-11-24T17:21:10+00:00", "2017-11-25T01:21:10+08:00"],  # aware -> UTC
        ["2017-11-24 17:21:10", "2017-11-24T17:21:10"],
    ],
)
def test_timestamps_parse_to_naive_utc(values):
    df = frame(u=["a", "b"], i=["x", "y"], t=values)
    inter = Interactions.from_frame(df, user="u", item="i", category_value="c", timestamp="t")
    ts = inter.data["timestamp"]
    assert ts.dtype == "datetime64[ns]"
    assert (ts == pd.Timestamp("2017-11-24 17:21:10")).all()


def test_nullable_int_ids_in_a_dataframe_become_exact_int64():
    df = pd.DataFrame(
        {"user": pd.array([BIG, None], dtype="Int64"), "item": [1, 2], "category": ["c", "c"]}
    )
    inter = Interactions.from_frame(df, drop_null_ids=True)
    assert inter.data["user"].dtype == np.int64
    assert inter.data["user"].tolist() == [BIG]


def test_timestamp_format_with_whole_float_values():
    df = pd.DataFrame({"user": ["u"], "item": ["i"], "category": ["c"], "timestamp": [20200102.0]})
    got = Interactions.from_frame(df, timestamp_format="%Y%m%d").data["timestamp"].tolist()
    assert got == [pd.Timestamp("2020-01-02")]


def test_missing_markers_are_pandas_defaults_declared_once():
    from pandas._libs.parsers import STR_NA_VALUES
    from xcat.data.parse import MISSING_MARKERS

    assert MISSING_MARKERS == STR_NA_VALUES  # what README documents for the events reader
    assert {"", "NA", "NaN", "null", "None", "#N/A", "n/a", "<NA>"} <= MISSING_MARKERS
    assert "0" not in MISSING_MARKERS and "-" not in MISSING_MARKERS


def test_int64_from_text_is_exact_and_flags_bad_values():
    from xcat.data.parse import INT64_MAX, int64_from_text

    values = pd.Series([str(BIG), " +7 ", "-0", "1.5", None, str(INT64_MAX + 1), "x"])
    arr, not_integer, out_of_range = int64_from_text(values)
    assert arr.dtype == np.int64
    assert arr[:3].tolist() == [BIG, 7, 0]
    assert not_integer.tolist() == [False, False, False, True, False, False, True]
    assert out_of_range.tolist() == [False, False, False, False, False, True, False]


def test_parse_ids_int_never_goes_through_float():
    from xcat.data.parse import parse_ids

    got = parse_ids(pd.Series([str(BIG), None]), "user", "int")
    assert str(got.dtype) == "Int64" and got.iloc[0] == BIG
    with pytest.raises(ValueError, match="id column 'u': 1 of 2 values are not integers"):
        parse_ids(pd.Series(["1", "a"]), "u", "int")
    assert parse_ids(pd.Series([1, 2]), "u", "str").tolist() == ["1", "2"]


def test_iso_dates_naive_and_aware_are_converted_one_by_one():
    from xcat.data.parse import parse_iso_utc

    text = pd.Series(["2020-01-01T00:00:00+02:00", "2020-01-01T00:00:00", "nope"])
    got = parse_iso_utc(text)
    assert got.iloc[0] == pd.Timestamp("2019-12-31 22:00", tz="UTC")
    assert got.iloc[1] == pd.Timestamp("2020-01-01 00:00", tz="UTC")
    assert pd.isna(got.iloc[2])


@pytest.mark.parametrize(
    ("k", "expected"), [(2, (2, 2)), ((3, 1), (3, 1)), ([1, 4], (1, 4)), (np.int64(5), (5, 5))]
)
def test_check_k_core_accepts_an_int_or_a_pair(k, expected):
    from xcat.data.parse import check_k_core

    assert check_k_core(k) == expected


def test_check_options_names_the_argument():
    from xcat.data.parse import check_options

    check_options(id_dtype="int", dedup="first", k_core=2)
    with pytest.raises(ValueError, match="category_dtype must be 'str', 'int' or None"):
        check_options(category_dtype="float")
    with pytest.raises(ValueError, match="dedup must be 'keep', 'first', 'last' or 'raise'"):
        check_options(dedup="all")


def test_whole_floats_become_int64_other_values_stay():
    from xcat.data.parse import whole_floats_to_int

    assert whole_floats_to_int(pd.Series([1.0, 3.0])).dtype == np.int64
    for s in (pd.Series([1.0, np.nan]), pd.Series([1.5]), pd.Series(["1"])):
        assert whole_floats_to_int(s) is s
