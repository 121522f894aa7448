"""Readers on tiny hand-written files of each format, including the known traps."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from xcat.data.readers import (
    read_amazon_metadata,
    read_amazon_reviews,
    read_movielens,
    read_table,
    read_taobao_userbehavior,
)


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- generic tables


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


# ----------------------------------------------------------------------------- Amazon reviews

# field order as in the real files: 2014 starts with reviewerID, 2018 with overall
AMAZON_2014 = [
    {
        "reviewerID": "A2SUAM1J3GNN3B",
        "asin": "0000013714",
        "reviewerName": "J. McDonald",
        "helpful": [2, 3],
        "reviewText": "great",
        "overall": 5.0,
        "summary": "ok",
        "unixReviewTime": 1252800000,
        "reviewTime": "09 13, 2009",
    },
    {
        "reviewerID": "A14VAT5EAX3D9S",
        "asin": "B00004Y2UT",
        "reviewerName": "Jake",
        "helpful": [0, 0],
        "reviewText": "fine",
        "overall": 3.0,
        "summary": "meh",
        "unixReviewTime": 1363392000,
        "reviewTime": "03 16, 2013",
    },
]
AMAZON_2018 = [
    {
        "overall": 4.0,
        "verified": True,
        "reviewTime": "09 1, 2016",
        "reviewerID": "A3CIUOJXQ5VDQ2",
        "asin": "B0000530HU",
        "style": {"Size:": " 7.0 oz"},
        "reviewerName": "Shelly F",
        "reviewText": "nice",
        "summary": "good",
        "unixReviewTime": 1472688000,
    },
]
AMAZON_2023 = [
    {
        "rating": 5.0,
        "title": "Love",
        "text": "x",
        "images": [],
        "asin": "B00YQ6X8EO",
        "parent_asin": "B00YQ6X8EP",
        "user_id": "AGKHLEW2SOWHNMFQIJGBECAF7INQ",
        "timestamp": 1588687728923,
        "helpful_vote": 0,
        "verified_purchase": True,
    },
]


def jsonl(records):
    return "".join(json.dumps(r) + "\n" for r in records)


@pytest.mark.parametrize("gz", [False, True])
def test_amazon_2014_json(tmp_path, gz):
    f = write(tmp_path / ("reviews_Beauty_5.json" + (".gz" if gz else "")), jsonl(AMAZON_2014), gz)
    inter = read_amazon_reviews(f)
    assert inter.categories == ["Beauty"]
    assert inter.data["user"].tolist() == ["A2SUAM1J3GNN3B", "A14VAT5EAX3D9S"]
    assert inter.data["item"].tolist() == ["0000013714", "B00004Y2UT"]  # leading zeros kept
    assert inter.data["rating"].tolist() == [5.0, 3.0]
    assert inter.data["timestamp"].iloc[0] == pd.Timestamp("2009-09-13")


def test_amazon_2018_json_and_extra_fields(tmp_path):
    f = write(tmp_path / "Luxury_Beauty_5.json", jsonl(AMAZON_2018))
    inter = read_amazon_reviews(f, version=2018, keep_columns=["verified"])
    assert inter.categories == ["Luxury_Beauty"]
    assert inter.data[["user", "item"]].values.tolist() == [["A3CIUOJXQ5VDQ2", "B0000530HU"]]
    assert inter.data["verified"].tolist() == [True]
    assert inter.data["timestamp"].iloc[0] == pd.Timestamp("2016-09-01")


def test_amazon_2023_json_parent_asin_and_milliseconds(tmp_path):
    f = write(tmp_path / "All_Beauty.jsonl.gz", jsonl(AMAZON_2023), gz=True)
    inter = read_amazon_reviews(f)
    assert inter.data["item"].tolist() == ["B00YQ6X8EP"]
    assert inter.data["timestamp"].iloc[0] == pd.Timestamp(1588687728923, unit="ms")
    assert read_amazon_reviews(f, item_field="asin").data["item"].tolist() == ["B00YQ6X8EO"]
    with pytest.raises(ValueError, match="version=2014 but the records have 2023 field names"):
        read_amazon_reviews(f, version=2014)


def test_amazon_json_missing_field_is_counted(tmp_path):
    recs = [dict(AMAZON_2014[0]), dict(AMAZON_2014[1])]
    del recs[1]["overall"]
    f = write(tmp_path / "reviews_X.json", jsonl(recs))
    with pytest.raises(
        ValueError, match=r"field 'overall' is missing in 1 of 2 records \(first at line 2\)"
    ):
        read_amazon_reviews(f)


# Ratings-only CSVs: 2014 is user,item,rating,timestamp; 2018 is item,user,rating,timestamp.
RATINGS_2014 = (
    "A2SUAM1J3GNN3B,0000013714,5.0,1252800000\nA1X1CEGHTHMBL1,B00004Y2UT,3.0,1363392000\n"
)
RATINGS_2018 = (
    "0000013714,A2SUAM1J3GNN3B,5.0,1252800000\nB00004Y2UT,A1X1CEGHTHMBL1,3.0,1363392000\n"
)


@pytest.mark.parametrize(("text", "version"), [(RATINGS_2014, "2014"), (RATINGS_2018, "2018")])
def test_amazon_ratings_csv_column_order_is_detected(tmp_path, text, version):
    f = write(tmp_path / "ratings_Beauty.csv", text)
    for v in ("auto", version):
        inter = read_amazon_reviews(f, version=v)
        assert inter.data["user"].tolist() == ["A2SUAM1J3GNN3B", "A1X1CEGHTHMBL1"]
        assert inter.data["item"].tolist() == ["0000013714", "B00004Y2UT"]
        assert inter.data["rating"].tolist() == [5.0, 3.0]


def test_amazon_ratings_csv_wrong_version_is_caught(tmp_path):
    f2018 = write(tmp_path / "Beauty.csv", RATINGS_2018)
    with pytest.raises(ValueError, match="this is the 2018 order"):
        read_amazon_reviews(f2018, version=2014)
    f2014 = write(tmp_path / "ratings_Beauty.csv", RATINGS_2014)
    with pytest.raises(ValueError, match="this is the 2014 order"):
        read_amazon_reviews(f2014, version=2018)


def test_amazon_ratings_csv_ambiguous_order_needs_version(tmp_path):
    # both columns hold 10-character ids: cannot tell which is the ASIN
    f = write(tmp_path / "x.csv", "AAAAAAAAAA,BBBBBBBBBB,5,1\n")
    with pytest.raises(ValueError, match="cannot tell the column order"):
        read_amazon_reviews(f)
    assert read_amazon_reviews(f, version=2018).data["user"].tolist() == ["BBBBBBBBBB"]


def test_amazon_2023_ratings_csv_with_header(tmp_path):
    f = write(
        tmp_path / "All_Beauty.csv.gz",
        "user_id,parent_asin,rating,timestamp\nAGKH,B00YQ6X8EP,5.0,1588687728923\n",
        gz=True,
    )
    inter = read_amazon_reviews(f)
    assert inter.data[["user", "item"]].values.tolist() == [["AGKH", "B00YQ6X8EP"]]
    assert inter.data["timestamp"].iloc[0] == pd.Timestamp(1588687728923, unit="ms")
    with pytest.raises(ValueError, match="a 2023 header"):
        read_amazon_reviews(f, version=2014)


# ----------------------------------------------------------------------------- Amazon metadata

META_2014 = (  # Python literals, not JSON, as in the 2014 files
    "{'asin': '0000013714', 'title': 'Girls Ballet Tutu', 'price': 3.17, "
    "'salesRank': {'Toys & Games': 211836}, 'categories': [['Sports & Outdoors', 'Dance'], "
    "['Clothing', 'Girls']], 'brand': 'Coxlist'}\n"
    "{'asin': 'B00004Y2UT', 'categories': [['Beauty']]}\n"
)
META_2018 = jsonl(
    [
        {
            "category": ["Beauty", "Skin Care"],
            "title": "Cream",
            "brand": "Acme",
            "price": "$1,012.99",
            "asin": "B0000530HU",
            "main_cat": "All Beauty",
        },
        {
            "category": ["Beauty"],
            "title": "Range",
            "brand": "",
            "price": "$1.99 - $5.99",
            "asin": "B0000530HV",
            "main_cat": "All Beauty",
        },
        {
            "category": ["Beauty"],
            "title": "Cream again",
            "brand": "Acme",
            "price": "",
            "asin": "B0000530HU",
            "main_cat": "All Beauty",
        },
    ]
)
META_2023 = jsonl(
    [
        {
            "main_category": "All Beauty",
            "title": "Brush",
            "average_rating": 4.8,
            "rating_number": 10,
            "features": [],
            "description": [],
            "price": 9.5,
            "images": [],
            "videos": [],
            "store": "Howard",
            "categories": ["Beauty", "Tools"],
            "details": {"Brand": "HowardCo"},
            "parent_asin": "B00YQ6X8EP",
            "bought_together": None,
        },
        {
            "main_category": "All Beauty",
            "title": "Comb",
            "price": None,
            "store": "Shop",
            "categories": [],
            "details": {},
            "parent_asin": "B00YQ6X8EQ",
        },
    ]
)


def test_amazon_2014_metadata_python_literals(tmp_path):
    items = read_amazon_metadata(write(tmp_path / "meta_Beauty.json.gz", META_2014, gz=True))
    assert list(items.index) == ["0000013714", "B00004Y2UT"]
    row = items.loc["0000013714"]
    assert (row["title"], row["brand"], row["price"]) == ("Girls Ballet Tutu", "Coxlist", 3.17)
    assert row["category_path"] == ["Sports & Outdoors", "Dance"]
    assert row["category_paths"] == [["Sports & Outdoors", "Dance"], ["Clothing", "Girls"]]
    assert np.isnan(items.loc["B00004Y2UT", "price"])


def test_amazon_2018_metadata_prices_and_duplicates(tmp_path):
    f = write(tmp_path / "meta_All_Beauty.json", META_2018)
    items = read_amazon_metadata(f)
    assert list(items.index) == ["B0000530HU", "B0000530HV"]  # the repeated asin kept once
    assert items.loc["B0000530HU", "price"] == 1012.99
    assert items.loc["B0000530HU", "title"] == "Cream"  # first row kept
    assert np.isnan(items.loc["B0000530HV", "price"])  # a range is not one price
    assert items.loc["B0000530HV", "brand"] is None
    with pytest.raises(ValueError, match="1 metadata rows repeat an item id"):
        read_amazon_metadata(f, duplicates="raise")


def test_amazon_2023_metadata(tmp_path):
    items = read_amazon_metadata(write(tmp_path / "meta_All_Beauty.jsonl", META_2023))
    assert items.loc["B00YQ6X8EP", "brand"] == "HowardCo"
    assert items.loc["B00YQ6X8EQ", "brand"] == "Shop"
    assert items.loc["B00YQ6X8EP", "category_path"] == ["Beauty", "Tools"]
    assert items.loc["B00YQ6X8EP", "price"] == 9.5


def test_reviews_join_metadata_and_report_duplicates(tmp_path):
    reviews = write(tmp_path / "Luxury_Beauty_5.json", jsonl(AMAZON_2018))
    meta = write(tmp_path / "meta_Luxury_Beauty.json", META_2018)
    inter = read_amazon_reviews(reviews, metadata=meta)
    assert inter.items.loc[inter.data["item"].iloc[0], "title"] == "Cream"
    (step,) = inter.report.steps
    assert step.step == "drop duplicate metadata rows" and step.rows_removed == 1
    assert len(inter) == 1  # no interaction was removed


# ----------------------------------------------------------------------------- MovieLens


def ml100k(d):
    d.mkdir()
    write(d / "u.data", "1\t10\t4\t881250949\n2\t10\t3\t881250950\n2\t11\t5\t881250951\n")
    genres = [
        "unknown",
        "Action",
        "Adventure",
        "Animation",
        "Children's",
        "Comedy",
        "Crime",
        "Documentary",
        "Drama",
        "Fantasy",
        "Film-Noir",
        "Horror",
        "Musical",
        "Mystery",
        "Romance",
        "Sci-Fi",
        "Thriller",
        "War",
        "Western",
    ]
    write(d / "u.genre", "".join(f"{g}|{i}\n" for i, g in enumerate(genres)) + "\n")
    flags10 = ["0"] * 19
    flags10[3] = flags10[4] = flags10[5] = "1"  # Animation, Children's, Comedy
    flags11 = ["0"] * 19
    flags11[1] = "1"  # Action
    (d / "u.item").write_bytes(
        (
            "10|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(flags10) + "\n"
            "11|Caf\xe9 (1996)|01-Jan-1996||http://y|" + "|".join(flags11) + "\n"
        ).encode("latin-1")
    )
    return d


def test_movielens_100k_genres_as_categories(tmp_path):
    inter = read_movielens(ml100k(tmp_path / "ml-100k"))
    assert inter.data["category"].tolist() == ["Animation", "Animation", "Action"]
    assert inter.items.loc[10, "genres"] == ["Animation", "Children's", "Comedy"]
    assert inter.items.loc[11, "title"] == "Caf\xe9 (1996)"
    assert inter.report.steps == ()
    exploded = read_movielens(tmp_path / "ml-100k", genres="explode")
    assert len(exploded) == 3 + 3 + 1
    assert sorted(exploded.data.loc[exploded.data["user"] == 1, "category"]) == [
        "Animation",
        "Children's",
        "Comedy",
    ]
    (step,) = exploded.report.steps
    assert (step.rows_before, step.rows_after, step.rows_removed) == (3, 7, -4)
    assert "4 rows added" in str(exploded.report)


def test_movielens_1m_and_latest(tmp_path):
    d = tmp_path / "ml-1m"
    d.mkdir()
    write(d / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
    (d / "movies.dat").write_bytes(
        "1193::One Flew (1975)::Drama\n661::James (1996)::Animation|Children's|Musical\n".encode(
            "latin-1"
        )
    )
    inter = read_movielens(d)
    assert inter.data[["user", "item", "category"]].values.tolist() == [
        [1, 1193, "Drama"],
        [1, 661, "Animation"],
    ]
    d = tmp_path / "ml-latest-small"
    d.mkdir()
    write(
        d / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n"
    )
    write(
        d / "movies.csv",
        'movieId,title,genres\n1,"Toy Story (1995)",Adventure|Animation\n'
        "2,Jumanji (1995),(no genres listed)\n",
    )
    inter = read_movielens(d)
    assert inter.data["category"].tolist() == ["Adventure", "(no genres listed)"]
    assert inter.data["rating"].tolist() == [4.0, 3.5]


def test_movielens_unknown_movie_is_counted(tmp_path):
    d = tmp_path / "ml"
    d.mkdir()
    write(d / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,9,3.0,2\n1,9,3.0,3\n")
    write(d / "movies.csv", "movieId,title,genres\n1,A,Drama\n")
    with pytest.raises(
        ValueError, match="2 ratings refer to 1 movies that are not in the movie file"
    ):
        read_movielens(d)


# ----------------------------------------------------------------------------- Taobao


def test_taobao_userbehavior(tmp_path):
    f = write(
        tmp_path / "UserBehavior.csv",
        "1,2268318,2520377,pv,1511544070\n1,2333346,2520771,buy,1511561733\n",
    )
    inter = read_taobao_userbehavior(f)
    assert inter.data[["user", "item", "category", "event"]].values.tolist() == [
        [1, 2268318, 2520377, "pv"],
        [1, 2333346, 2520771, "buy"],
    ]
    assert inter.data["timestamp"].iloc[1] == pd.Timestamp("2017-11-24 22:15:33")


def test_category_ids_are_text_by_default_and_constants_keep_their_type(tmp_path):
    f = write(tmp_path / "log.csv", "user,item,category,rating\na,x,007,NA\n")
    with pytest.raises(ValueError, match="1 of 1 rows have no rating"):
        read_table(f)  # "NA" is a missing rating ...
    inter = read_table(f, rating=False)
    assert inter.data["category"].tolist() == ["007"]  # ... but "007" stays a category id
    g = write(tmp_path / "log2.csv", "user,item\na,x\n")
    assert read_table(g, category_value=5).data["category"].dtype == np.int64
