"""Loaders on the real files in ../shared/data, checked against the counts in its README.

The expected numbers below are copied from ``../shared/data/README.md`` (computed
there independently with pandas), not from our loaders.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from xcat.data import datasets
from xcat.data.splits import cold_start_split, leave_last_out, published_split

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("XCAT_DATA_DIR") or REPO.parent / "shared" / "data")

pytestmark = pytest.mark.skipif(
    not (DATA / "README.md").is_file(),
    reason=f"shared data not found at {DATA} (set XCAT_DATA_DIR to run the real-data tests)",
)


def split_counts(inter, label):
    return int((inter.data["split"] == label).sum())


def train_items(inter):
    return inter.data.loc[inter.data["split"] == "train", "item"].nunique()


# ----------------------------------------------------------------------------- DisenCDR

# pair -> users, items in train (A, B), items incl. test_original (A, B),
#         train rows (A, B), test_original rows (A, B), test rows (A, B), min train/user
DISENCDR = {
    ("sport", "cloth"): (
        9928,
        (30796, 39008),
        (32310, 41303),
        (92612, 87829),
        (9928, 9928),
        (8326, 7540),
        4,
    ),
    ("electronic", "phone"): (
        3325,
        (38706, 17709),
        (39463, 18462),
        (115554, 50407),
        (3325, 3325),
        (2560, 2559),
        9,
    ),
    ("sport", "phone"): (
        4998,
        (20845, 13655),
        (22101, 14618),
        (50558, 42446),
        (4998, 4998),
        (3698, 3999),
        4,
    ),
    ("electronic", "cloth"): (
        15761,
        (51447, 48781),
        (53309, 51865),
        (210865, 121083),
        (15761, 15761),
        (13824, 12526),
        4,
    ),
}


@pytest.fixture(scope="module", params=list(DISENCDR), ids=lambda p: "_".join(p))
def disencdr(request):
    a, b = request.param
    return request.param, datasets.load_disencdr_amazon(a, b, root=DATA)


def test_disencdr_counts_match_readme(disencdr):
    pair, data = disencdr
    users, tr_items, all_items, tr_rows, orig_rows, test_rows, min_train = DISENCDR[pair]
    for k, dom in enumerate((data.source, data.target)):
        assert dom.n_users == users
        assert train_items(dom) == tr_items[k]
        assert dom.n_items == all_items[k]
        assert split_counts(dom, "train") == tr_rows[k]
        assert split_counts(dom, "test") == test_rows[k]
        assert split_counts(dom, "test") + split_counts(dom, "test_cold_item") == orig_rows[k]
        per_user = dom.data[dom.data["split"] == "train"].groupby("user").size()
        assert per_user.min() == min_train
        assert not dom.data.loc[dom.data["split"] == "train", ["user", "item"]].duplicated().any()
    assert len(data.overlap_users()) == users  # 100 % overlap


def test_disencdr_published_split_is_the_files(disencdr):
    pair, data = disencdr
    a, b = pair
    test_file = pd.read_csv(
        DATA / "disencdr_amazon" / f"{a}_{b}" / "test.txt", sep="\t", header=None
    )
    split = published_split(data.source)
    got = split.test.data[["user", "item"]].to_numpy()
    assert np.array_equal(got, test_file[[0, 1]].to_numpy())
    assert split.valid is None
    assert set(split.excluded.data["split"]) == {"test_cold_item"}


def test_disencdr_sport_cloth_matches_cdrib_log():
    # README: the Sport-Cloth counts are exactly CDRIB's "after common_data" lines
    # (9,928 users; 32,310 / 41,303 items; 102,540 / 97,757 interactions).
    data = datasets.load_disencdr_amazon("sport", "cloth", root=DATA)
    assert (len(data.source), len(data.target)) == (102540, 97757)
    assert data.source.categories == ["Sports_and_Outdoors"]
    assert data.target.categories == ["Clothing_Shoes_and_Jewelry"]


def test_bitgcf_negatives_belong_to_the_disencdr_elec_phone_folders():
    data = datasets.load_disencdr_amazon("phone", "electronic", root=DATA)
    for domain, dom in (("phone", data.source), ("electronic", data.target)):
        neg = datasets.load_bitgcf_test_negatives(domain, root=DATA)
        assert neg.negatives.shape == (3325, 99)
        held = dom.data[dom.data["split"] != "train"]
        assert np.array_equal(neg.users, held["user"].to_numpy())
        assert np.array_equal(neg.items, held["item"].to_numpy())
        assert neg.domain == dom.categories[0]
        # quirk of the published lists (not in the README): a few lists hold the positive
        # itself among the negatives; the loader keeps them as published
        expected = {"phone": 22, "electronic": 7}[domain]
        assert neg.positive_in_negatives.sum() == expected
        assert (neg.negatives == neg.items[:, None]).sum() == expected


# ----------------------------------------------------------------------------- CDRIB

# dir -> train rows, train users, private users, items, valid rows/users, test rows/users
CDRIB = {
    "game_video": (155036, 24799, 22846, 12319, (1381, 213), (1304, 212)),
    "video_game": (156091, 19240, 17278, 8751, (1435, 210), (1458, 216)),
    "sport_cloth": (163291, 26346, 17500, 12655, (3589, 912), (3546, 897)),
    "cloth_sport": (187880, 40839, 32001, 17943, (3156, 915), (3085, 907)),
}
CDRIB_NAMES = {
    "game": "Toys_and_Games",
    "video": "Video_Games",
    "sport": "Sports_and_Outdoors",
    "cloth": "Clothing_Shoes_and_Jewelry",
}


@pytest.fixture(scope="module")
def cdrib():
    return {
        ("video", "game"): datasets.load_cdrib_amazon_coldstart("video", "game", root=DATA),
        ("cloth", "sport"): datasets.load_cdrib_amazon_coldstart("cloth", "sport", root=DATA),
    }


@pytest.mark.parametrize("folder", list(CDRIB))
def test_cdrib_counts_match_readme(cdrib, folder):
    key = folder.split("_")[0]
    pair = ("video", "game") if key in ("game", "video") else ("cloth", "sport")
    data = cdrib[pair]
    dom = data.target if key == pair[1] else data.source
    assert dom.categories == [CDRIB_NAMES[key]]
    tr_rows, tr_users, private, items, valid, test = CDRIB[folder]
    df = dom.data
    train = df[df["split"] == "train"]
    assert len(train) == tr_rows
    assert train["user"].nunique() == tr_users
    assert train["user"].str.startswith(f"{key}:").groupby(train["user"]).first().sum() == private
    assert train["item"].nunique() == items
    for label, (rows, users) in (("valid", valid), ("test", test)):
        part = df[df["split"] == label]
        assert (len(part), part["user"].nunique()) == (rows, users)
        # cold-start users: no training row in this domain, every item seen in training
        assert not part["user"].isin(set(train["user"])).any()
        assert part["item"].isin(set(train["item"])).all()


def test_cdrib_user_id_ranges_match_readme(cdrib):
    # Toys&Games/Video n_common = 2,179: 1953-2178 are tested in game_video (Toys),
    # 1736-1952 in video_game.  Sport/Cloth n_common = 9,828: 7856-8837 tested in
    # sport_cloth, 8838-9827 in cloth_sport.
    expected = {
        ("video", "game"): {"target": (1953, 2178), "source": (1736, 1952), "n_common": 2179},
        ("cloth", "sport"): {"target": (7856, 8837), "source": (8838, 9827), "n_common": 9828},
    }
    for pair, exp in expected.items():
        data = cdrib[pair]
        for role in ("source", "target"):
            df = getattr(data, role).data
            held = df.loc[df["split"] != "train", "user_in_file"]
            assert (held.min(), held.max()) == exp[role]
            private = df["user"].str.contains(":")
            assert (df.loc[private, "user_in_file"] >= exp["n_common"]).all()
            assert (df.loc[~private, "user_in_file"] < exp["n_common"]).all()
        assert f"n_common={exp['n_common']}" in data.description
        # private ids are not aligned across domains: only shared ids overlap
        assert len(data.overlap_users()) == exp["n_common"]


def test_cdrib_target_cold_users_keep_source_history(cdrib):
    data = cdrib[("video", "game")]
    tgt = published_split(data.target)
    cold = set(tgt.test.data["user"])
    assert len(cold) == 212
    assert cold <= set(data.source.data.loc[data.source.data["split"] == "train", "user"])


# ----------------------------------------------------------------------------- Amazon 5-core

AMAZON5 = {  # users, items, interactions, min len, max len, distinct attributes, attributes/item
    "beauty": (22363, 12101, 198502, 5, 204, 637, 3.72),
    "sports": (35598, 18357, 296337, 5, 296, 2277, 6.02),
    "toys": (19412, 11924, 167597, 5, 550, 1027, 4.28),
}


@pytest.fixture(scope="module")
def amazon5():
    # one load covering all three categories: source beauty + toys, target sports
    return datasets.load_amazon2014_5core(["beauty", "toys"], "sports", root=DATA)


@pytest.mark.parametrize("key", list(AMAZON5))
def test_amazon5_counts_match_readme(amazon5, key):
    name = {"beauty": "Beauty", "sports": "Sports_and_Outdoors", "toys": "Toys_and_Games"}[key]
    dom = amazon5.target if key == "sports" else amazon5.source
    df = dom.data[dom.data["category"] == name]
    users, items, rows, min_len, max_len, n_attr, per_item = AMAZON5[key]
    assert (df["user"].nunique(), df["item"].nunique(), len(df)) == (users, items, rows)
    lens = df.groupby("user").size()
    assert (lens.min(), lens.max()) == (min_len, max_len)
    attrs = dom.items.loc[df["item"].unique(), "attributes"]
    own = attrs.map(lambda a: [x for x in a if x.startswith(f"{key}:")])
    assert len({x for a in own for x in a}) == n_attr
    assert round(own.map(len).mean(), 2) == per_item
    assert df["user"].str.fullmatch(r"A[0-9A-Z]+").all()
    assert df["item"].str.len().eq(10).all()


def test_amazon5_overlap_matches_readme(amazon5):
    src = amazon5.source.data
    users = {c: set(g["user"]) for c, g in src.groupby("category")}
    users["Sports_and_Outdoors"] = set(amazon5.target.data["user"])
    b, s, t = users["Beauty"], users["Sports_and_Outdoors"], users["Toys_and_Games"]
    assert (len(b & s), len(b & t), len(s & t), len(b & s & t)) == (1625, 2073, 1734, 741)
    assert len(amazon5.overlap_users()) == len((b | t) & s)
    items = {c: set(g["item"]) for c, g in src.groupby("category")}
    assert len(items["Beauty"] & set(amazon5.target.data["item"])) == 0
    assert len(items["Toys_and_Games"] & set(amazon5.target.data["item"])) == 1


def test_amazon5_beauty_crlf_sequence_is_clean(amazon5):
    beauty = amazon5.source.data[amazon5.source.data["category"] == "Beauty"]
    assert not beauty["item"].str.contains(r"\s").any()
    # README example of the first sequence lines is from Sports: user 1 has items 1..8
    sports = amazon5.target.data
    first = sports[sports["user_in_file"] == 1]["item_in_file"].tolist()
    assert first == [1, 2, 3, 4, 5, 6, 7, 8]


def test_amazon5_leave_one_out_protocol(amazon5):
    split = leave_last_out(amazon5.target, n_test=1, n_valid=1, order="row")
    assert len(split.test) == len(split.valid) == 35598
    assert len(split.train) == 296337 - 2 * 35598


def test_amazon5_cold_start_fractions(amazon5):
    n_overlap = len(amazon5.overlap_users())
    for frac in (0.2, 0.5, 0.8):
        cs = cold_start_split(amazon5, test_fraction=frac, seed=1)
        assert len(cs.test_users) == round(frac * n_overlap)
        assert set(cs.target_test.data["user"]) == set(cs.test_users)
        assert not cs.target_train.data["user"].isin(set(cs.test_users)).any()


# ----------------------------------------------------------------------------- UniSRec Scientific


def test_unisrec_scientific_counts_match_readme():
    inter = datasets.load_unisrec_scientific(root=DATA)
    assert inter.n_users == 8442
    assert inter.n_items == 4385
    assert inter.items["text"].notna().sum() == 4385
    assert len(inter) == 59427  # the full sequences; UniSRec reports 59,427
    split = published_split(inter)
    assert len(split.test) == len(split.valid) == 8442
    # the test histories (truncated at 50) hold 59,384 interactions incl. the target
    seq_len = inter.data.groupby("user").size()
    assert int(np.minimum(seq_len - 1, 50).sum()) + 8442 == 59384
    # train.inter has one sample per training target with a non-empty history
    assert int((seq_len - 3).sum()) == 34101
    assert inter.data["user"].str.fullmatch(r"A[0-9A-Z]+").all()


# ----------------------------------------------------------------------------- Douban


def test_douban_counts_match_readme():
    data = datasets.load_douban_book_music(root=DATA)
    book, music = data.source, data.target
    assert (len(book), book.n_users, book.n_items) == (96041, 2110, 6777)
    assert (len(music), music.n_users, music.n_items) == (69709, 1672, 5567)
    assert len(data.overlap_users()) == 1566
    for dom in (book, music):
        assert not dom.data[["user", "item"]].duplicated().any()
        assert set(dom.data["rating"].unique()) <= {1, 2, 3, 4, 5}


# ----------------------------------------------------------------------------- Taobao


def test_taobao_counts_match_readme():
    from xcat.data.io import read_taobao_userbehavior

    inter = read_taobao_userbehavior(DATA / "taobao_userbehavior_head" / "UserBehavior_head.csv")
    assert (len(inter), inter.n_users, inter.n_items, len(inter.categories)) == (
        4321,
        43,
        3276,
        567,
    )
    assert inter.data["event"].value_counts().to_dict() == {
        "pv": 3926,
        "cart": 190,
        "fav": 128,
        "buy": 77,
    }
    # stored as naive UTC; the dataset's dates (2017-11-25 .. 2017-12-03) are Beijing time
    local = (
        inter.data["timestamp"]
        .dt.tz_localize("UTC")
        .dt.tz_convert("Asia/Shanghai")
        .dt.tz_localize(None)
    )
    assert local.min().date() == pd.Timestamp("2017-09-11").date()
    assert (local >= "2017-11-25").sum() == 4320
    assert local.max() < pd.Timestamp("2017-12-04")
    first = inter.data.iloc[0]
    assert (first["user"], first["item"], first["category"], first["event"]) == (
        1,
        2268318,
        2520377,
        "pv",
    )
    assert first["timestamp"] == pd.Timestamp(1511544070, unit="s")


def test_taobao_head_loader_selects_categories():
    data = datasets.load_taobao_userbehavior_head([2355072, 982926], 4756105, root=DATA)
    assert set(data.source.categories) == {2355072, 982926}
    assert len(data.source) == 132 + 127 and len(data.target) == 214
    assert len(data.overlap_users()) > 0


def test_dataset_folders_all_load():
    for folder in (
        "disencdr_amazon",
        "cdrib_amazon_coldstart",
        "gadtcdr_douban_book_music",
        "taobao_userbehavior_head",
    ):
        loaded = datasets.load_dataset_folder(DATA / folder)
        assert loaded and all(name for name, _ in loaded)
    with pytest.raises(ValueError, match="bitgcf_elec_cell_negatives holds test negatives"):
        datasets.load_dataset_folder(DATA / "bitgcf_elec_cell_negatives")
