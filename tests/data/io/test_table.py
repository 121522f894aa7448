"""read_table: CSV/TSV/Parquet with a column mapping, exact ids, ragged lines, clear errors.

Many of these are regression tests of confirmed input-handling bugs: timestamps (tz mixing,
explicit formats, error messages), exact integer ids, ragged CSV lines, ``names`` with a
header, ``id_dtype`` vs the category column and errors that name the problem.
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from xcat.cli.main import main
from xcat.data import Interactions, filter_k_core
from xcat.data.io import read_table

BIG = 9007199254740993  # 2**53 + 1: not representable as float64


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def stats(*args):
    return CliRunner().invoke(main, ["data", "stats", *map(str, args)])


def test_csv_with_column_mapping(tmp_path):
    f = write(
        tmp_path / "log.csv", "uid,pid,cat,stars,when\nu1,p1,Beauty,5,1000\nu2,p2,Toys,3,2000\n"
    )
    inter = read_table(f, user="uid", item="pid", category="cat", rating="stars", timestamp="when")
    assert inter.data["user"].tolist() == ["u1", "u2"]
    assert inter.data["category"].tolist() == ["Beauty", "Toys"]
    assert inter.data["rating"].tolist() == [5, 3]
    assert inter.data["timestamp"].tolist() == [
        pd.Timestamp(1000, unit="s"),
        pd.Timestamp(2000, unit="s"),
    ]


def test_headerless_gzipped_tsv_by_position(tmp_path):
    f = write(tmp_path / "log.tsv.gz", "10\t20\t4.5\n11\t21\t1\n", gz=True)
    inter = read_table(
        f, header=False, user=0, item=1, rating=2, category_value="Books", id_dtype="int"
    )
    assert inter.data["user"].tolist() == [10, 11]
    assert inter.data["user"].dtype == np.int64
    assert inter.data["rating"].tolist() == [4.5, 1.0]
    assert inter.categories == ["Books"]


def test_parquet_keeps_stored_id_types(tmp_path):
    df = pd.DataFrame({"u": [3, 1], "i": ["a", "b"], "c": ["x", "x"]})
    df.to_parquet(tmp_path / "log.parquet")
    inter = read_table(tmp_path / "log.parquet", user="u", item="i", category="c")
    assert inter.data["user"].dtype == np.int64 and inter.data["user"].tolist() == [3, 1]


def test_dataframe_input_and_cleaning_options():
    df = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "x", "y"], "category": "c"})
    inter = read_table(df, dedup="first")
    assert len(inter) == 2
    assert inter.report.steps[0].rows_removed == 1


def test_table_errors_name_the_problem(tmp_path):
    f = write(tmp_path / "log.csv", "user,item\na,x\n")
    with pytest.raises(ValueError, match=r"category=\'cat\': no such column"):
        read_table(f, category="cat")
    with pytest.raises(ValueError, match="cannot tell the format of log.txt"):
        read_table(write(tmp_path / "log.txt", "a b\n"))
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing.csv")


def test_category_ids_are_text_by_default_and_constants_keep_their_type(tmp_path):
    f = write(tmp_path / "log.csv", "user,item,category,rating\na,x,007,NA\n")
    with pytest.raises(ValueError, match="1 of 1 rows have no rating"):
        read_table(f)  # "NA" is a missing rating ...
    inter = read_table(f, rating=False)
    assert inter.data["category"].tolist() == ["007"]  # ... but "007" stays a category id
    g = write(tmp_path / "log2.csv", "user,item\na,x\n")
    assert read_table(g, category_value=5).data["category"].dtype == np.int64


def test_text_ids_keep_leading_zeros_and_na_like_strings(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("user,item,category\n007,NA,c\n7,null,c\n")
    inter = read_table(f)
    assert inter.data["user"].tolist() == ["007", "7"]
    assert inter.data["item"].tolist() == ["NA", "null"]
    assert inter.n_users == 2


@pytest.mark.parametrize("reverse", [False, True])
def test_naive_and_aware_timestamps_mixed_are_order_independent(tmp_path, reverse):
    rows = ["u1,i1,c,2020-01-01T00:00:00+02:00", "u2,i2,c,2020-01-01T00:00:00"]
    if reverse:
        rows = rows[::-1]
    f = write(tmp_path / "t.csv", "user,item,category,timestamp\n" + "\n".join(rows) + "\n")
    got = read_table(f).data.set_index("user")["timestamp"]
    assert got["u1"] == pd.Timestamp("2019-12-31 22:00:00")  # aware: converted to UTC
    assert got["u2"] == pd.Timestamp("2020-01-01 00:00:00")  # naive: already UTC


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


def test_names_with_header_true_replace_the_header_line(tmp_path):
    f = write(tmp_path / "c.csv", "x,y,z\nu1,i1,c\n")
    inter = read_table(f, header=True, names=["user", "item", "category"])
    assert inter.data[["user", "item", "category"]].values.tolist() == [["u1", "i1", "c"]]
    inter = read_table(f, header=False, names=["user", "item", "category"])
    assert len(inter) == 2  # header=False: the first line is data


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


def test_epoch_digits_beyond_int64_name_the_timestamp_column(tmp_path):
    f = write(tmp_path / "a.csv", "user,item,category,timestamp\nu1,i1,c,99999999999999999999\n")
    with pytest.raises(ValueError, match="timestamp column 'timestamp'"):
        read_table(f, timestamp_unit="ns")


def test_value_columns_read_the_missing_markers_id_columns_do_not(tmp_path):
    f = write(tmp_path / "m.csv", "user,item,category,rating\nNA,#N/A,c,n/a\n")
    with pytest.raises(ValueError, match="1 of 1 rows have no rating"):
        read_table(f)  # "n/a" is one of the markers: a missing rating
    inter = read_table(f, rating=False)
    assert inter.data[["user", "item"]].values.tolist() == [["NA", "#N/A"]]  # ids stay
    g = write(tmp_path / "e.csv", "user,item,category,event\nu,i,c,<NA>\n")
    with pytest.raises(ValueError, match="event column 'event': 1 of 1 rows have no value"):
        read_table(g)


def test_table_columns_without_reading_rows(tmp_path):
    from xcat.data.io import table_columns

    f = write(tmp_path / "h.tsv", "u\ti\tcategory\n1\t2\tc\n")
    assert table_columns(f) == ["u", "i", "category"]
    assert table_columns(f, header=False) == []
    assert table_columns(f, names=["a", "b", "c"]) == ["a", "b", "c"]
    pd.DataFrame({"x": [1], "y": [2]}).to_parquet(tmp_path / "p.parquet")
    assert table_columns(tmp_path / "p.parquet") == ["x", "y"]


def test_table_format_of_suffixes():
    from xcat.data.io.table import table_format_of

    assert table_format_of("a.csv") == "csv"
    assert table_format_of("a.CSV.GZ") == "csv"
    assert table_format_of("dir/a.tab.bz2") == "tsv"
    assert table_format_of("a.pq") == "parquet"
    assert table_format_of("a.json") is None
