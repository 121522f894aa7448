"""Amazon reviews (JSON lines 2014/2018/2023, ratings-only CSVs) and metadata, with known traps."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from xcat.data.io import read_amazon_metadata, read_amazon_reviews


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


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
