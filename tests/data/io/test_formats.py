"""The input-format registry: read_any picks the reader from the file or folder."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from xcat.data import Interactions, read_any
from xcat.data.io import (
    FORMATS,
    detect_format,
    read_amazon_reviews,
    read_movielens,
    read_table,
    read_taobao_userbehavior,
)

TABLE = "user,item,category,rating\nu1,i1,Beauty,5\nu2,i2,Toys,3\n"


def test_formats_are_the_cli_choices_in_order():
    assert list(FORMATS) == ["csv", "tsv", "parquet", "amazon", "movielens", "taobao", "saved"]
    assert all(f.name == k and f.description for k, f in FORMATS.items())


def test_tables_by_suffix_with_compression(tmp_path):
    csv = tmp_path / "log.csv"
    csv.write_text(TABLE)
    tsv = tmp_path / "log.tab.gz"
    with gzip.open(tsv, "wt") as f:
        f.write(TABLE.replace(",", "\t"))
    pq = tmp_path / "log.pq"
    read_table(csv).data.to_parquet(pq)
    for path, fmt in ((csv, "csv"), (tsv, "tsv"), (pq, "parquet")):
        assert detect_format(path) == fmt
        got = read_any(path)
        assert got.equals(read_table(path)), fmt
    # options go to the reader
    assert "rating" not in read_any(csv, rating=False).data.columns
    got = read_any(csv, dedup="raise", k_core=1)
    assert len(got) == 2 and got.report.steps[0].step == "k-core"


def test_amazon_movielens_taobao_and_saved(tmp_path):
    rev = tmp_path / "reviews_Beauty_5.json.gz"
    with gzip.open(rev, "wt") as f:
        for r in (
            {"reviewerID": "A1", "asin": "B000000001", "overall": 5.0, "unixReviewTime": 1},
            {"reviewerID": "A2", "asin": "B000000002", "overall": 4.0, "unixReviewTime": 2},
        ):
            f.write(json.dumps(r) + "\n")
    assert detect_format(rev) == "amazon"
    assert read_any(rev).equals(read_amazon_reviews(rev))
    assert read_any(rev, category="X").categories == ["X"]

    ml = tmp_path / "ml-latest-small"
    ml.mkdir()
    (ml / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,10,4.0,100\n")
    (ml / "movies.csv").write_text("movieId,title,genres\n10,A,Drama|Comedy\n")
    assert detect_format(ml) == "movielens"
    assert read_any(ml, genres="explode").equals(read_movielens(ml, genres="explode"))

    tb = tmp_path / "UserBehavior.csv.gz"
    with gzip.open(tb, "wt") as f:
        f.write("1,2268318,2520377,pv,1511544070\n")
    assert detect_format(tb) == "taobao"
    assert read_any(tb).equals(read_taobao_userbehavior(tb))
    plain = tmp_path / "events.csv"  # a .csv named otherwise is a table
    plain.write_text(TABLE)
    assert detect_format(plain) == "csv"

    saved = read_any(tb).save(tmp_path / "saved")
    assert detect_format(saved) == "saved"
    back = read_any(saved)
    assert isinstance(back, Interactions) and back.equals(read_any(tb))
    with pytest.raises(ValueError, match="takes no options, got \\['dedup'\\]"):
        read_any(saved, dedup="first")


def test_explicit_format_overrides_detection(tmp_path):
    f = tmp_path / "log.txt"
    f.write_text(TABLE)
    assert read_any(f, format="csv").equals(read_table(f, format="csv"))
    g = tmp_path / "ratings_Beauty.csv"  # Amazon ratings-only CSV: headerless, 2014 order
    g.write_text("A1,B000000001,5.0,1\nA2,B000000002,4.0,2\n")
    assert detect_format(g) == "csv"  # by its suffix it is a table ...
    got = read_any(g, format="amazon")  # ... unless told
    assert got.data["item"].tolist() == ["B000000001", "B000000002"]
    with pytest.raises(ValueError, match="format must be one of csv, tsv, parquet, amazon"):
        read_any(f, format="excel")


def test_unknown_input_names_the_path_and_the_formats(tmp_path):
    f = tmp_path / "log.txt"
    f.write_text(TABLE)
    with pytest.raises(ValueError, match="cannot tell the input format") as e:
        read_any(f)
    msg = str(e.value)
    assert str(f) in msg
    for name in FORMATS:
        assert f"{name}: " in msg
    d = tmp_path / "folder"
    d.mkdir()
    with pytest.raises(ValueError, match="load_dataset_folder"):
        read_any(d)
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        read_any(tmp_path / "missing.csv")
    with pytest.raises(TypeError):
        read_any(tmp_path / "log.txt", format="csv", colour="red")


def test_read_any_returns_the_reader_result_not_a_copy_of_rules(tmp_path):
    # the same rows, ids and report as the direct reader, including cleaning
    f = tmp_path / "dups.csv"
    f.write_text("user,item,category\na,x,c\na,x,c\nb,y,c\n")
    got, want = read_any(f, dedup="first"), read_table(f, dedup="first")
    assert got.equals(want) and str(got.report) == str(want.report)
    pd.testing.assert_frame_equal(got.data, want.data)
