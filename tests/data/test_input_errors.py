"""Regression tests for confirmed input-handling bugs of the data layer.

Each test fails on the code before its fix: timestamps (tz mixing, explicit
formats, error messages), exact integer ids, ragged CSV lines, ``names`` with a
header, ``id_dtype`` vs the category column, errors that name the problem,
:class:`IdMap` argument checks and the CLI's category column / tie-breaking.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from xcat.cli.main import main
from xcat.data import IdMap, Interactions, filter_k_core, read_table, user_overlap
from xcat.data.stats import largest_categories

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("XCAT_DATA_DIR") or REPO.parent / "shared" / "data")
BIG = 9007199254740993  # 2**53 + 1: not representable as float64


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def stats(*args):
    return CliRunner().invoke(main, ["data", "stats", *map(str, args)])


# ----------------------------------------------------------------------------- 5: time zones


@pytest.mark.parametrize("reverse", [False, True])
def test_naive_and_aware_timestamps_mixed_are_order_independent(tmp_path, reverse):
    rows = ["u1,i1,c,2020-01-01T00:00:00+02:00", "u2,i2,c,2020-01-01T00:00:00"]
    if reverse:
        rows = rows[::-1]
    f = write(tmp_path / "t.csv", "user,item,category,timestamp\n" + "\n".join(rows) + "\n")
    got = read_table(f).data.set_index("user")["timestamp"]
    assert got["u1"] == pd.Timestamp("2019-12-31 22:00:00")  # aware: converted to UTC
    assert got["u2"] == pd.Timestamp("2020-01-01 00:00:00")  # naive: already UTC


# ----------------------------------------------------------------------------- 6: format wins


def test_timestamp_format_applies_to_all_digit_values(tmp_path):
    f = write(tmp_path / "t.csv", "user,item,category,timestamp\nu1,i1,c,20200101\n")
    got = read_table(f, timestamp_format="%Y%m%d").data["timestamp"].tolist()
    assert got == [pd.Timestamp("2020-01-01")]
    # also for a numeric DataFrame column
    df = pd.DataFrame({"user": ["u"], "item": ["i"], "category": ["c"], "timestamp": [20200131]})
    got = Interactions.from_frame(df, timestamp_format="%Y%m%d").data["timestamp"].tolist()
    assert got == [pd.Timestamp("2020-01-31")]


def test_timestamp_format_failures_are_reported_exactly(tmp_path):
    f = write(tmp_path / "t.csv", "user,item,category,timestamp\nu1,i1,c,20200101\nu2,i2,c,x\n")
    with pytest.raises(ValueError, match=r"1 of 2 values could not be parsed.*'x'") as e:
        read_table(f, timestamp_format="%Y%m%d")
    assert "20200101" not in str(e.value)


# ----------------------------------------------------------------------------- 7: exact ids


def test_large_int_ids_with_a_missing_id_stay_exact_csv(tmp_path):
    f = write(tmp_path / "big.csv", f"user,item,category\n{BIG},1,c\n,2,c\n")
    inter = read_table(f, id_dtype="int", drop_null_ids=True)
    assert inter.data["user"].dtype == np.int64
    assert inter.data["user"].tolist() == [BIG]
    assert inter.report.total_removed == 1


def test_large_int_ids_with_a_missing_id_stay_exact_parquet(tmp_path):
    f = tmp_path / "big.parquet"
    pd.DataFrame(
        {
            "user": pd.array([BIG, 5, None], dtype="Int64"),
            "item": [1, 2, 3],
            "category": ["c", "c", "c"],
        }
    ).to_parquet(f, index=False)
    for id_dtype in (None, "int"):
        inter = read_table(f, id_dtype=id_dtype, drop_null_ids=True)
        assert inter.data["user"].dtype == np.int64
        assert inter.data["user"].tolist() == [BIG, 5]


def test_nullable_int_ids_in_a_dataframe_become_exact_int64():
    df = pd.DataFrame(
        {"user": pd.array([BIG, None], dtype="Int64"), "item": [1, 2], "category": ["c", "c"]}
    )
    inter = Interactions.from_frame(df, drop_null_ids=True)
    assert inter.data["user"].dtype == np.int64
    assert inter.data["user"].tolist() == [BIG]


# ----------------------------------------------------------------------------- 8: ragged lines


def test_every_line_with_an_extra_field_is_an_error_not_a_shift(tmp_path):
    f = write(tmp_path / "b.csv", "user,item,category\nu1,i1,c,x\nu2,i2,c,y\n")
    with pytest.raises(
        ValueError, match=r"b\.csv: every data line \(2\) has 4 fields.*header has 3"
    ):
        read_table(f)


def test_one_line_with_an_extra_field_is_named(tmp_path):
    for body in ("u1,i1,c,extra\nu2,i2,c\n", "u1,i1,c\nu2,i2,c,extra\n"):
        f = write(tmp_path / "r.csv", "user,item,category\n" + body)
        line = 2 if body.startswith("u1,i1,c,") else 3
        with pytest.raises(ValueError, match=rf"r\.csv: 1 of 2 data lines.*line {line} has 4") as e:
            read_table(f)
        assert "null" not in str(e.value)


def test_a_line_with_a_missing_field_is_named(tmp_path):
    f = write(tmp_path / "r.tsv", "user\titem\tcategory\nu1\ti1\nu2\ti2\tc\n")
    with pytest.raises(ValueError, match=r"r\.tsv: 1 of 2 data lines.*fewer.*line 2 has 2"):
        read_table(f)


def test_empty_trailing_field_is_still_a_null_id_not_a_ragged_line(tmp_path):
    f = write(tmp_path / "n.csv", "user,item,category\nu1,i1,\nu2,i2,c\n")
    with pytest.raises(ValueError, match="null ids in 1 of 2 rows"):
        read_table(f)


# ----------------------------------------------------------------------------- 9: names + header


def test_names_with_header_true_replace_the_header_line(tmp_path):
    f = write(tmp_path / "c.csv", "x,y,z\nu1,i1,c\n")
    inter = read_table(f, header=True, names=["user", "item", "category"])
    assert inter.data[["user", "item", "category"]].values.tolist() == [["u1", "i1", "c"]]
    inter = read_table(f, header=False, names=["user", "item", "category"])
    assert len(inter) == 2  # header=False: the first line is data


# ----------------------------------------------------------------------------- 10: ts messages


def test_timestamp_error_lists_only_the_values_that_fail(tmp_path):
    f = write(
        tmp_path / "d.csv",
        "user,item,category,timestamp\nu1,i1,c,100\nu2,i2,c,200\nu3,i3,c,yesterday\n",
    )
    with pytest.raises(ValueError, match=r"1 of 3 values could not be parsed") as e:
        read_table(f)
    msg = str(e.value)
    assert "'yesterday'" in msg and "'100'" not in msg and "'200'" not in msg


def test_mixed_epoch_and_date_strings_are_explained(tmp_path):
    f = write(
        tmp_path / "d.csv", "user,item,category,timestamp\nu1,i1,c,1600000000\nu2,i2,c,2020-01-01\n"
    )
    with pytest.raises(
        ValueError, match=r"mixes epoch numbers \(1 of 2 .*'1600000000'.*'2020-01-01'"
    ):
        read_table(f)


# ----------------------------------------------------------------------------- 11: id_dtype


def test_id_dtype_int_does_not_apply_to_a_text_category(tmp_path):
    f = write(tmp_path / "e.csv", "user,item,category\n1,2,Beauty\n3,4,Toys\n")
    inter = read_table(f, id_dtype="int")
    assert inter.data["user"].dtype == np.int64 and inter.data["item"].dtype == np.int64
    assert inter.data["category"].tolist() == ["Beauty", "Toys"]
    df = pd.DataFrame({"user": ["1"], "item": ["2"], "category": ["Beauty"]})
    assert Interactions.from_frame(df, id_dtype="int").data["category"].tolist() == ["Beauty"]
    # the category has its own option
    f = write(tmp_path / "n.csv", "user,item,category\n1,2,007\n")
    assert read_table(f, id_dtype="int").data["category"].tolist() == ["007"]
    assert read_table(f, category_dtype="int").data["category"].tolist() == [7]


# ----------------------------------------------------------------------------- 12: messages


def test_empty_csv_names_the_file(tmp_path):
    f = write(tmp_path / "empty.csv", "")
    with pytest.raises(ValueError, match=r"empty\.csv: the file is empty"):
        read_table(f)
    result = stats(f)
    assert result.exit_code != 0 and "empty.csv: the file is empty" in result.output


def test_parquet_format_on_a_non_parquet_file_names_the_file(tmp_path):
    f = write(tmp_path / "empty.csv", "")
    with pytest.raises(ValueError, match=r"empty\.csv: cannot read as Parquet"):
        read_table(f, format="parquet")
    result = stats("--format", "parquet", f)
    assert result.exit_code != 0 and "empty.csv: cannot read as Parquet" in result.output


@pytest.mark.parametrize("k", [1.5, "2", (2, 1.5), (1, 2, 3), True])
def test_bad_k_core_is_a_value_error_naming_k_core(tmp_path, k):
    f = write(tmp_path / "a.csv", "user,item,category\nu1,i1,c\n")
    with pytest.raises(ValueError, match="k_core must be an integer or a pair"):
        read_table(f, k_core=k)
    with pytest.raises(ValueError, match="k_core must be an integer or a pair"):
        filter_k_core(read_table(f), k)


@pytest.mark.parametrize("unit", ["days", "D", "sec", None])
def test_bad_timestamp_unit_is_rejected_by_name(tmp_path, unit):
    f = write(tmp_path / "a.csv", "user,item,category,timestamp\nu1,i1,c,16\n")
    with pytest.raises(ValueError, match=r"timestamp_unit must be one of 's', 'ms', 'us', 'ns'"):
        read_table(f, timestamp_unit=unit)


def test_overflowing_int_id_names_the_column(tmp_path):
    f = write(tmp_path / "a.csv", "user,item,category\n99999999999999999999,1,c\n1,2,c\n")
    with pytest.raises(
        ValueError, match=r"id column 'user': 1 of 2 values are outside the int64 range"
    ):
        read_table(f, id_dtype="int")


def test_undecodable_file_hints_at_encoding(tmp_path):
    f = tmp_path / "l.csv"
    f.write_bytes("user,item,category\nJos\xe9,i1,c\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"l\.csv: cannot be decoded as 'utf-8'.*encoding="):
        read_table(f)
    assert read_table(f, encoding="latin-1").data["user"].tolist() == ["José"]


# ----------------------------------------------------------------------------- 13: IdMap


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


# ----------------------------------------------------------------------------- 14: CLI


def test_cli_uses_a_category_column_like_read_table(tmp_path):
    f = write(tmp_path / "ev.csv", "user,item,category\nu1,i1,A\nu2,i2,B\nu1,i2,B\n")
    result = stats(f)
    assert result.exit_code == 0, result.output
    assert "2 categories" in result.output
    firsts = {line.split()[0] for line in result.output.splitlines() if line.strip()}
    assert {"A", "B"} <= firsts and "ev" not in firsts
    result = stats(f, "--category-value", "Shop")
    assert result.exit_code == 0, result.output
    assert "1 categories" in result.output and "Shop" in result.output


def test_largest_categories_ties_break_by_value_in_both_tables():
    # categories 30 and 10 tie at 2 rows; 20 has 3; the order of rows must not matter
    rows = [(1, 1, 30), (2, 1, 30), (1, 2, 20), (2, 2, 20), (3, 2, 20), (1, 3, 10), (3, 3, 10)]
    for order in (rows, rows[::-1]):
        df = pd.DataFrame(order, columns=["user", "item", "category"])
        inter = Interactions(df)
        assert largest_categories(inter) == [20, 10, 30]
        assert largest_categories(inter, 2) == [20, 10]
        ov = user_overlap(inter, max_categories=2)
        assert ov[["category_a", "category_b"]].values.tolist() == [[20, 10]]


@pytest.mark.skipif(not (DATA / "taobao_userbehavior_head").is_dir(), reason="no shared data")
def test_cli_taobao_largest_table_and_overlap_pick_the_same_tied_category():
    result = stats(DATA / "taobao_userbehavior_head" / "UserBehavior_head.csv")
    assert result.exit_code == 0, result.output
    per, overlap = result.output.split("user overlap", 1)
    in_per = {c for c in ("570735", "2640118") if f"\n{c} " in per}
    in_overlap = {c for c in ("570735", "2640118") if f" {c} " in overlap}
    assert in_per == in_overlap == {"570735"}  # tie at 34 rows: the smaller value wins


def test_epoch_digits_beyond_int64_name_the_timestamp_column(tmp_path):
    f = write(tmp_path / "a.csv", "user,item,category,timestamp\nu1,i1,c,99999999999999999999\n")
    with pytest.raises(ValueError, match="timestamp column 'timestamp'"):
        read_table(f, timestamp_unit="ns")


def test_timestamp_format_with_whole_float_values():
    df = pd.DataFrame({"user": ["u"], "item": ["i"], "category": ["c"], "timestamp": [20200102.0]})
    got = Interactions.from_frame(df, timestamp_format="%Y%m%d").data["timestamp"].tolist()
    assert got == [pd.Timestamp("2020-01-02")]
