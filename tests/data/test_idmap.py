"""IdMap: first-appearance order, save/load, unknown ids, argument checks."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from xcat.data.idmap import IdMap, UnknownIdWarning


def test_idmap_first_appearance_order_and_roundtrip(tmp_path):
    m = IdMap.from_values(["b", "a", "b", "c"], name="user")
    assert list(m.ids) == ["b", "a", "c"]
    assert m.encode(["c", "b"]).tolist() == [2, 0]
    assert m.decode([1, 2]).tolist() == ["a", "c"]
    m.save(tmp_path / "users.json")
    again = IdMap.load(tmp_path / "users.json")
    assert again == m and again.kind == "str"


def test_idmap_keeps_int_ids_as_ints(tmp_path):
    m = IdMap.from_values(np.array([10, 3, 10, 7]), name="item")
    assert m.kind == "int"
    m.save(tmp_path / "items.json")
    saved = json.loads((tmp_path / "items.json").read_text())
    assert saved["ids"] == [10, 3, 7]
    again = IdMap.load(tmp_path / "items.json")
    assert again.decode([0, 1, 2]).tolist() == [10, 3, 7]
    assert again.decode([0]).dtype == np.int64
    # "10" (text) is not the integer 10
    with pytest.warns(UnknownIdWarning):
        assert again.encode(["10"]).tolist() == [-1]


def test_idmap_unknown_ids_are_reported_not_fatal():
    m = IdMap(["a", "b"], name="user")
    with pytest.warns(UnknownIdWarning, match="2 of 4 user ids are not in the map"):
        codes = m.encode(["a", "x", "b", "x"])
    assert codes.tolist() == [0, -1, 1, -1]
    assert m.unknown(["a", "x", "y", "x"]).tolist() == ["x", "y"]
    with pytest.raises(ValueError, match="1 of 2 user ids are not in the map"):
        m.encode(["a", "zz"], unknown="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.encode(["b", "a"])  # no warning when all are known


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["a", "a"], "1 duplicated values"),
        (["a", None], "1 null values"),
        ([1.5, 2.0], "float dtype"),
        (["a", 1], "mixes value types"),
    ],
)
def test_idmap_rejects_bad_ids(ids, message):
    with pytest.raises(ValueError, match=message):
        IdMap(ids)


def test_idmap_decode_out_of_range():
    with pytest.raises(ValueError, match="1 id row numbers are outside 0..1"):
        IdMap(["a", "b"]).decode([0, 2])


def test_idmap_rejects_a_single_string():
    m = IdMap(["a", "b", "ab"])
    with pytest.raises(ValueError, match=r"single string 'ab'.*\['ab'\]"):
        m.encode("ab")
    with pytest.raises(ValueError, match="single string"):
        m.unknown("ab")
    assert m.encode(["ab"]).tolist() == [2]


def test_idmap_checks_unknown_option_upfront():
    m = IdMap(["a"])
    with pytest.raises(ValueError, match="unknown must be 'mark' or 'raise', got 'ignore'"):
        m.encode(["a"], unknown="ignore")


def test_idmap_decode_rejects_non_integer_and_out_of_range_codes():
    m = IdMap(["a", "b"])
    with pytest.raises(ValueError, match=r"1 of 1 id codes are not integer row numbers.*1\.7"):
        m.decode([1.7])
    with pytest.raises(ValueError, match="not integer row numbers"):
        m.decode([np.nan])
    with pytest.raises(ValueError, match=r"row numbers are outside 0\.\.1.*-1 marks ids"):
        m.decode([0, -1])
    with pytest.raises(ValueError, match="outside 0..1"):
        m.decode(np.array([2**63], dtype=np.uint64))
    assert m.decode([1.0, 0]).tolist() == ["b", "a"]
    assert m.decode([]).tolist() == []
