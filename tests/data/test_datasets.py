"""Dataset loaders on tiny hand-written copies of each folder layout, including the traps:
swapped CDRIB data_info names and folders, CRLF line endings in the Beauty sequences,
swapped DisenCDR folders, truncated UniSRec histories."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from xcat.data import datasets
from xcat.data.domains import CrossDomainData
from xcat.data.splits import published_split


def lines(path, rows, newline="\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join("\t".join(map(str, r)) + newline for r in rows))


# ----------------------------------------------------------------------------- data dir


def test_data_dir_from_env_or_argument(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    checkout = tmp_path / "work" / "repo"
    checkout.mkdir(parents=True)
    monkeypatch.chdir(checkout)  # no ../shared/data next to it
    with pytest.raises(ValueError, match="set the environment variable XCAT_DATA_DIR"):
        datasets.data_dir()
    sibling = tmp_path / "work" / "shared" / "data"
    sibling.mkdir(parents=True)
    assert datasets.data_dir() == sibling  # the checkout-next-to-shared layout
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    assert datasets.data_dir() == tmp_path
    with pytest.raises(FileNotFoundError):
        datasets.data_dir(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="disencdr_amazon"):
        datasets.load_disencdr_amazon(root=tmp_path)


# ----------------------------------------------------------------------------- DisenCDR


def disencdr_fixture(root):
    d = root / "disencdr_amazon"
    # domain sport (folder sport_cloth): users 0,1,2
    lines(d / "sport_cloth" / "train.txt", [(0, 5, 1), (0, 6, 1), (1, 5, 1), (2, 7, 1)])
    lines(d / "sport_cloth" / "test_original.txt", [(0, 7, 1), (1, 9, 1), (2, 6, 1)])
    lines(d / "sport_cloth" / "test.txt", [(0, 7, 1), (2, 6, 1)])  # item 9 is not in train
    # domain cloth (folder cloth_sport): same users, own item ids
    lines(d / "cloth_sport" / "train.txt", [(0, 1, 1), (1, 2, 1), (2, 1, 1), (2, 2, 1)])
    lines(d / "cloth_sport" / "test_original.txt", [(0, 2, 1), (1, 1, 1), (2, 3, 1)])
    lines(d / "cloth_sport" / "test.txt", [(0, 2, 1), (1, 1, 1)])
    return d


def test_disencdr_folder_a_b_holds_domain_a_and_split_is_kept(tmp_path):
    disencdr_fixture(tmp_path)
    data = datasets.load_disencdr_amazon("cloth", "sport", root=tmp_path)
    assert data.source.categories == ["Clothing_Shoes_and_Jewelry"]
    assert data.target.categories == ["Sports_and_Outdoors"]
    tgt = data.target.data
    assert tgt[["user", "item", "split"]].values.tolist() == [
        [0, 5, "train"],
        [0, 6, "train"],
        [1, 5, "train"],
        [2, 7, "train"],
        [0, 7, "test"],
        [1, 9, "test_cold_item"],
        [2, 6, "test"],
    ]
    split = published_split(data.target)
    assert split.sizes() == {"train": 4, "test": 2, "excluded": 1}
    assert sorted(data.overlap_users()) == [0, 1, 2]
    # the category names work as keys too
    again = datasets.load_disencdr_amazon(
        "Clothing_Shoes_and_Jewelry", "Sports_and_Outdoors", root=tmp_path
    )
    assert again.target.equals(data.target)


def test_disencdr_format_errors(tmp_path):
    d = disencdr_fixture(tmp_path)
    with pytest.raises(ValueError, match="DisenCDR has no sport/electronic pair"):
        datasets.load_disencdr_amazon("sport", "electronic", root=tmp_path)
    with pytest.raises(ValueError, match="source='toys' is not a domain"):
        datasets.load_disencdr_amazon("toys", "cloth", root=tmp_path)
    lines(d / "cloth_sport" / "train.txt", [(0, 1, 1), (1, 2, 0)])
    with pytest.raises(ValueError, match="1 rows have another value"):
        datasets.load_disencdr_amazon(root=tmp_path)
    disencdr_fixture(tmp_path)
    lines(d / "cloth_sport" / "test.txt", [(0, 3, 1)])
    with pytest.raises(ValueError, match="1 rows are not in test_original.txt"):
        datasets.load_disencdr_amazon(root=tmp_path)


def test_disencdr_swapped_folders_are_detected(tmp_path):
    # Folders whose item counts are the documented counts of the other domain
    # (Sport 32,310 items, Cloth 41,303) but sit under each other's names.
    d = tmp_path / "disencdr_amazon"
    for folder, n_items in (("cloth_sport", 32_310), ("sport_cloth", 41_303)):  # swapped
        users = np.arange(n_items) % 3
        lines(d / folder / "train.txt", zip(users, range(n_items), [1] * n_items, strict=False))
        lines(d / folder / "test_original.txt", [(u, 0, 1) for u in range(3)])
        lines(d / folder / "test.txt", [(u, 0, 1) for u in range(3)])
    with pytest.raises(ValueError, match="the two folders look swapped"):
        datasets.load_disencdr_amazon("sport", "cloth", root=tmp_path)


def test_bitgcf_negatives_fixture(tmp_path):
    d = tmp_path / "bitgcf_elec_cell_negatives"
    d.mkdir()
    (d / "cell_electronic_test_neg.txt").write_text(
        "(0, 13)\t" + "\t".join(map(str, range(100, 199))) + "\n"
        "(1, 5)\t" + "\t".join(map(str, [5, *range(1, 99)])) + "\n"
    )
    neg = datasets.load_bitgcf_test_negatives("phone", root=tmp_path)
    assert neg.users.tolist() == [0, 1] and neg.items.tolist() == [13, 5]
    assert neg.negatives.shape == (2, 99) and neg.negatives[0, 0] == 100
    assert neg.positive_in_negatives.tolist() == [False, True]
    (d / "electronic_cell_test_neg.txt").write_text("(0, 13)\t1\t2\n")
    with pytest.raises(
        ValueError, match="line 1: expected '\\(user, item\\)' and 99 negatives, got 2"
    ):
        datasets.load_bitgcf_test_negatives("electronic", root=tmp_path)


# ----------------------------------------------------------------------------- CDRIB

# n_common = 6: users 0,1 warm in both domains; 2,3 warm in game (Toys) only and
# cold-start in video; 4,5 warm in video only and cold-start in game; 6,7 private.
CDRIB_GAME = {  # folder game_video = Toys & Games
    "train": [(0, 0), (0, 1), (1, 1), (2, 0), (3, 2), (6, 0), (7, 2)],
    "valid": [(4, 1)],
    "test": [(5, 0), (5, 2)],
}
CDRIB_VIDEO = {  # folder video_game = Video Games
    "train": [(0, 0), (1, 1), (4, 0), (5, 1), (6, 1), (8, 0)],
    "valid": [(2, 1)],
    "test": [(3, 0)],
}


def cdrib_fixture(root, game=CDRIB_GAME, video=CDRIB_VIDEO):
    d = root / "cdrib_amazon_coldstart"
    for folder, parts in (("game_video", game), ("video_game", video)):
        for part, rows in parts.items():
            lines(d / folder / f"{part}.txt", rows)
    # the real logs carry each other's names; the loader must not use them
    (d / "game_video" / "video_game_data_info.txt").write_text("after filter_data1 info : 3 3 6\n")
    (d / "video_game" / "game_video_data_info.txt").write_text("after filter_data1 info : 4 2 6\n")
    return d


def test_cdrib_domains_split_and_user_ids(tmp_path):
    cdrib_fixture(tmp_path)
    data = datasets.load_cdrib_amazon_coldstart("video", "game", root=tmp_path)
    assert data.target.categories == ["Toys_and_Games"]  # "game" is Toys & Games
    assert data.source.categories == ["Video_Games"]
    assert "n_common=6" in data.description
    tgt = data.target.data
    assert tgt["user"].tolist() == ["0", "0", "1", "2", "3", "game:6", "game:7", "4", "5", "5"]
    assert tgt["split"].tolist() == ["train"] * 7 + ["valid", "test", "test"]
    assert tgt["user_in_file"].tolist() == [0, 0, 1, 2, 3, 6, 7, 4, 5, 5]
    src_users = set(data.source.data["user"])
    assert {"video:6", "video:8"} <= src_users and "6" not in src_users
    # private ids 6 are different people in the two domains: only 0..5 overlap
    assert sorted(data.overlap_users()) == ["0", "1", "2", "3", "4", "5"]


def test_cdrib_swapped_folder_contents_break_the_cold_start_checks(tmp_path):
    # valid/test of video placed with game's train: cold users would be warm
    cdrib_fixture(
        tmp_path,
        game={**CDRIB_GAME, "valid": CDRIB_VIDEO["valid"], "test": CDRIB_VIDEO["test"]},
        video={**CDRIB_VIDEO, "valid": CDRIB_GAME["valid"], "test": CDRIB_GAME["test"]},
    )
    with pytest.raises(
        ValueError,
        match=r"rows belong to users with training rows in (video|game)_"
        r"(game|video)/.*the folders may be swapped",
    ):
        datasets.load_cdrib_amazon_coldstart("video", "game", root=tmp_path)


def test_cdrib_swapped_folders_are_detected_by_documented_counts(tmp_path):
    # Both folders swapped completely is self-consistent, so the documented train item
    # counts (Toys 12,319, Video 8,751) decide: here game_video/ holds 8,751 items.
    def domain(n_items, cold_user, warm_elsewhere):
        train = [(u, i) for i, u in zip(range(n_items), np.arange(n_items) % 2, strict=False)]
        train.append((warm_elsewhere, 0))
        return {"train": train, "valid": [(cold_user, 0)], "test": [(cold_user, 1)]}

    cdrib_fixture(
        tmp_path,
        game=domain(8_751, cold_user=3, warm_elsewhere=2),
        video=domain(12_319, cold_user=2, warm_elsewhere=3),
    )
    with pytest.raises(ValueError, match="the folders look swapped"):
        datasets.load_cdrib_amazon_coldstart("video", "game", root=tmp_path)


# ----------------------------------------------------------------------------- Amazon 5-core


def amazon5_fixture(root):
    d = root / "amazon2014_5core_beauty_sports_toys"
    d.mkdir(parents=True)
    cats = {
        # key: (sequences, id2user, id2item, item2attributes, newline)
        "beauty": (
            {"1": ["1", "2", "3"], "2": ["2", "1"]},
            {"1": "AUSERSHARED1", "2": "ABEAUTYONLY"},
            {"1": "B000000001", "2": "B000000002", "3": "B000000003"},
            {"1": [1, 2], "2": [2], "3": [3]},
            "\r\n",
        ),  # CRLF, like the real Beauty file
        "sports": (
            {"1": ["1", "2"], "2": ["2"]},
            {"1": "ASPORTSONLY", "2": "AUSERSHARED1"},
            {"1": "B000000011", "2": "BSHARED0001"},
            {"1": [1], "2": [2, 5]},
            "\n",
        ),
        "toys": (
            {"1": ["1", "2"]},
            {"1": "AUSERSHARED1"},
            {"1": "BSHARED0001", "2": "B000000021"},
            {"1": [1], "2": [9]},
            "\n",
        ),
    }
    for key, (seqs, id2user, id2item, attrs, nl) in cats.items():
        with open(d / f"{key}_sequential_data.txt", "w", newline="") as f:
            f.write("".join(" ".join([u, *items]) + nl for u, items in seqs.items()))
        maps = {"id2user": id2user, "id2item": id2item}
        if key != "toys":
            maps |= {
                "user2id": {v: k for k, v in id2user.items()},
                "item2id": {v: k for k, v in id2item.items()},
            }
        (d / f"{key}_datamaps.json").write_text(json.dumps(maps))
        (d / f"{key}_item2attributes.json").write_text(json.dumps(attrs))
    return d


def test_amazon5_crlf_raw_ids_and_namespaced_attributes(tmp_path):
    amazon5_fixture(tmp_path)
    data = datasets.load_amazon2014_5core(["beauty", "toys"], "sports", root=tmp_path)
    src = data.source.data
    beauty = src[src["category"] == "Beauty"]
    assert beauty["item"].tolist() == [
        "B000000001",
        "B000000002",
        "B000000003",
        "B000000002",
        "B000000001",
    ]
    assert beauty["user"].tolist() == ["AUSERSHARED1"] * 3 + ["ABEAUTYONLY"] * 2
    assert beauty["item_in_file"].tolist() == [1, 2, 3, 2, 1]
    assert data.overlap_users().tolist() == ["AUSERSHARED1"]
    items = data.source.items
    assert items.loc["B000000001", "attributes"] == ["beauty:1", "beauty:2"]
    # one ASIN in Sports and Toys: in the source (Toys) table with Toys attributes only,
    # in the target (Sports) table with Sports attributes
    assert items.loc["BSHARED0001", "attributes"] == ["toys:1"]
    assert data.target.items.loc["BSHARED0001", "attributes"] == ["sports:2", "sports:5"]
    with pytest.raises(ValueError, match="'sports' is both source and target"):
        datasets.load_amazon2014_5core(["sports"], "Sports_and_Outdoors", root=tmp_path)


def test_amazon5_all_categories_join_the_shared_asin(tmp_path):
    d = amazon5_fixture(tmp_path)
    [(name, inter)] = datasets.load_dataset_folder(d)
    assert inter.items.loc["BSHARED0001", "attributes"] == ["sports:2", "sports:5", "toys:1"]
    assert len(inter) == 5 + 3 + 2


def test_amazon5_unknown_index_is_counted(tmp_path):
    d = amazon5_fixture(tmp_path)
    with open(d / "toys_sequential_data.txt", "a") as f:
        f.write("7 1 99\n")
    with pytest.raises(ValueError, match="1 user indices of the sequence file are not in id2user"):
        datasets.load_amazon2014_5core("beauty", "toys", root=tmp_path)


# ----------------------------------------------------------------------------- UniSRec


def unisrec_fixture(root, seqs):
    """Write RecBole .inter files the way UniSRec made them (histories truncated at 50)."""
    d = root / "unisrec_amazon2018_scientific"
    d.mkdir(parents=True)
    head = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    train, valid, test = [head], [head], [head]
    for u, s in seqs.items():
        n = len(s)
        for k in range(n - 3, 0, -1):  # newest sample first, as in the real file
            train.append(f"{u}\t{' '.join(map(str, s[:k][-50:]))}\t{s[k]}\n")
        valid.append(f"{u}\t{' '.join(map(str, s[: n - 2][-50:]))}\t{s[n - 2]}\n")
        test.append(f"{u}\t{' '.join(map(str, s[: n - 1][-50:]))}\t{s[n - 1]}\n")
    for name, text in (("train", train), ("valid", valid), ("test", test)):
        (d / f"Scientific.{name}.inter").write_text("".join(text))
    n_items = 1 + max(max(s) for s in seqs.values())
    (d / "Scientific.user2index").write_text("".join(f"AUSER{u}\t{u}\n" for u in seqs))
    (d / "Scientific.item2index").write_text("".join(f"B{i:09d}\t{i}\n" for i in range(n_items)))
    (d / "Scientific.text").write_text(
        "item_id:token\ttext:token_seq\n"
        + "".join(f"B{i:09d}\tThing {i}. Lab. Acme. \n" for i in range(n_items))
    )
    return d


def test_unisrec_rebuilds_truncated_sequences(tmp_path):
    long = list(range(53))  # longer than the 50-item history window
    unisrec_fixture(tmp_path, {0: long, 1: [3, 4, 5, 6], 2: [7, 8, 9]})
    inter = datasets.load_unisrec_scientific(root=tmp_path)
    df = inter.data
    assert df.loc[df["user"] == "AUSER0", "item_in_file"].tolist() == long
    assert df.loc[df["user"] == "AUSER1", "split"].tolist() == ["train", "train", "valid", "test"]
    assert df.loc[df["user"] == "AUSER2", "split"].tolist() == ["train", "valid", "test"]
    assert len(inter) == 53 + 4 + 3
    assert inter.items.loc["B000000005", "text"] == "Thing 5. Lab. Acme. "


def test_unisrec_inconsistent_sample_is_reported(tmp_path):
    d = unisrec_fixture(tmp_path, {0: [1, 2, 3, 4, 5]})
    text = (d / "Scientific.test.inter").read_text().replace("1 2 3 4\t5", "1 2 9 4\t5")
    assert "1 2 9 4" in text
    (d / "Scientific.test.inter").write_text(text)
    with pytest.raises(ValueError, match="samples disagree with the rebuilt user sequences"):
        datasets.load_unisrec_scientific(root=tmp_path)


# ----------------------------------------------------------------------------- Douban, Taobao


def test_douban_fixture(tmp_path):
    d = tmp_path / "gadtcdr_douban_book_music"
    lines(d / "douban_book_ratings.dat", [(1, 10, 4), (2, 11, 5)])
    lines(d / "douban_music_ratings.dat", [(2, 10, 3), (3, 12, 1)])
    data = datasets.load_douban_book_music("music", "book", root=tmp_path)
    assert data.source.categories == ["music"] and data.target.categories == ["book"]
    assert data.overlap_users().tolist() == [2]
    assert data.target.data["rating"].tolist() == [4, 5]
    lines(d / "douban_music_ratings.dat", [(5, 10, 3)])
    with pytest.raises(ValueError, match="no user appears in both"):
        datasets.load_douban_book_music(root=tmp_path)


def test_taobao_head_fixture(tmp_path):
    d = tmp_path / "taobao_userbehavior_head"
    d.mkdir()
    (d / "UserBehavior_head.csv").write_text(
        "1,100,7,pv,1511544070\n1,101,8,buy,1511544071\n2,102,8,pv,1511544072\n3,103,9,pv,1511544073\n"
    )
    data = datasets.load_taobao_userbehavior_head(7, [8], root=tmp_path)
    assert len(data.source) == 1 and len(data.target) == 2
    assert data.overlap_users().tolist() == [1]
    with pytest.raises(ValueError, match=r"target category \[42\] not found"):
        datasets.load_taobao_userbehavior_head(7, 42, root=tmp_path)
    with pytest.raises(ValueError, match="no user appears in both"):
        datasets.load_taobao_userbehavior_head(7, 9, root=tmp_path)
    pd.testing.assert_frame_equal(
        data.source.data, data.source.data.astype({"user": np.int64})
    )  # integer ids


# ----------------------------------------------------------------------------- folders


def pair_spec(dataset, folder):
    """The NAME:SOURCE:TARGET spec of the direction a pair folder stands for."""
    a, b = folder.split("_")
    return f"disencdr:{a}:{b}" if dataset == "disencdr_amazon" else f"cdrib:{b}:{a}"


def assert_same_pair(got, want):
    assert got.name == want.name
    assert got.source.equals(want.source) and got.target.equals(want.target)


@pytest.mark.parametrize(
    ("dataset", "fixture", "folders"),
    [
        ("disencdr_amazon", disencdr_fixture, ("sport_cloth", "cloth_sport")),
        ("cdrib_amazon_coldstart", cdrib_fixture, ("game_video", "video_game")),
    ],
)
def test_pair_folder_is_the_pair_it_names(tmp_path, dataset, fixture, folders):
    fixture(tmp_path)
    parent = dict(datasets.load_dataset_folder(tmp_path / dataset))
    for folder in folders:
        [(name, data)] = datasets.load_dataset_folder(tmp_path / dataset / folder)
        assert name == data.name == f"{dataset}/{folder}"
        assert_same_pair(data, datasets.load(pair_spec(dataset, folder), tmp_path))
        if name in parent:  # the direction the parent folder lists
            assert_same_pair(data, parent[name])
        # load(PATH) of a pair folder is that pair, too
        assert_same_pair(datasets.load(str(tmp_path / dataset / folder)), data)
    # the two folders of a pair are the two directions of the same data
    [(_, one)], [(_, other)] = (
        datasets.load_dataset_folder(tmp_path / dataset / f) for f in folders
    )
    assert one.source.equals(other.target) and one.target.equals(other.source)


def test_pair_folder_without_its_partner_names_the_missing_folder(tmp_path):
    import shutil

    d = disencdr_fixture(tmp_path)
    shutil.rmtree(d / "cloth_sport")
    with pytest.raises(FileNotFoundError, match="partner folder .*cloth_sport"):
        datasets.load_dataset_folder(d / "sport_cloth")
    with pytest.raises(FileNotFoundError, match="has no partner folder .*cloth_sport"):
        datasets.load_dataset_folder(d)
    # a pair folder name with files of neither layout is not a dataset folder
    (tmp_path / "x" / "sport_cloth").mkdir(parents=True)
    with pytest.raises(ValueError, match="'sport_cloth' is not a known dataset folder"):
        datasets.load_dataset_folder(tmp_path / "x" / "sport_cloth")
    with pytest.raises(ValueError, match="is not a folder"):
        datasets.load_dataset_folder(d / "sport_cloth" / "train.txt")


def test_folder_of_another_name_is_read_by_its_files(tmp_path):
    import shutil

    fixtures = {
        "disencdr_amazon": disencdr_fixture,
        "cdrib_amazon_coldstart": cdrib_fixture,
        "amazon2014_5core_beauty_sports_toys": amazon5_fixture,
        "unisrec_amazon2018_scientific": lambda root: unisrec_fixture(root, {0: [1, 2, 3, 4]}),
    }
    for dataset, make in fixtures.items():
        make(tmp_path)
        want = datasets.load_dataset_folder(tmp_path / dataset)
        copy = tmp_path / "copies" / f"my_{dataset}"
        shutil.copytree(tmp_path / dataset, copy)
        got = datasets.load_dataset_folder(copy)
        assert [n for n, _ in got] == [n for n, _ in want], dataset
        for (_, g), (_, w) in zip(got, want, strict=True):
            if isinstance(w, CrossDomainData):
                assert_same_pair(g, w)
            else:
                assert g.equals(w)
    # a copy holding one category of the 5-core folder
    one = tmp_path / "beauty_only"
    one.mkdir()
    for f in ("beauty_sequential_data.txt", "beauty_datamaps.json", "beauty_item2attributes.json"):
        shutil.copy(tmp_path / "amazon2014_5core_beauty_sports_toys" / f, one / f)
    [(name, inter)] = datasets.load_dataset_folder(one)
    assert name == "amazon2014_5core (beauty)" and inter.categories == ["Beauty"]


@pytest.mark.parametrize("dataset", sorted(datasets.PAIR_FOLDERS))
def test_real_pair_folders_give_the_pair_of_the_parent_folder(data_dir, dataset):
    base = data_dir / dataset
    folders = sorted(p.name for p in base.iterdir() if p.is_dir())
    assert folders == sorted(datasets.PAIR_FOLDERS[dataset])  # every pair folder is known
    parent = dict(datasets.load_dataset_folder(base))
    for folder in folders:
        [(name, data)] = datasets.load_dataset_folder(base / folder)
        assert name == data.name == f"{dataset}/{folder}"
        spec = datasets.load(pair_spec(dataset, folder), data_dir)
        assert_same_pair(data, spec)
        a, b = folder.split("_")
        listed = parent.get(name) or parent[f"{dataset}/{b}_{a}"]
        if listed.name == name:
            assert_same_pair(data, listed)
        else:  # the other direction of a listed pair: the same two domains, swapped
            assert data.source.equals(listed.target) and data.target.equals(listed.source)


# ----------------------------------------------------------------------------- registry


def test_registry_names_and_help_are_built_from_the_entries():
    assert list(datasets.DATASETS) == ["amazon5", "cdrib", "disencdr", "douban"]
    assert datasets.DATASET_NAMES == ("synthetic", "amazon5", "cdrib", "disencdr", "douban")
    assert datasets.SPEC_HELP == (
        "synthetic | amazon5:SRC:TGT | cdrib:SRC:TGT | disencdr:SRC:TGT | douban:SRC:TGT | PATH"
    )
    for name, entry in datasets.DATASETS.items():
        assert entry.name == name and entry.description and entry.domains
    assert datasets.reads_data_dir("cdrib:video:game")
    assert not datasets.reads_data_dir("synthetic") and not datasets.reads_data_dir("a/b")


def test_load_synthetic_is_the_generator_with_the_seed():
    from xcat.data.synthetic import make_cross_category

    for seed in (0, 3):
        got, want = datasets.load("synthetic", seed=seed), make_cross_category(seed=seed)
        assert got.source.equals(want.source) and got.target.equals(want.target)
        assert got.name == want.name


def test_load_spec_calls_the_loader_with_source_target_and_root(tmp_path):
    disencdr_fixture(tmp_path)
    got = datasets.load("disencdr:cloth:sport", tmp_path)
    want = datasets.load_disencdr_amazon("cloth", "sport", root=tmp_path)
    assert got.name == want.name == "disencdr_amazon/cloth_sport"
    assert got.source.equals(want.source) and got.target.equals(want.target)
    amazon5_fixture(tmp_path)
    got = datasets.load("amazon5:beauty+toys:sports", str(tmp_path))  # "+" joins sources
    want = datasets.load_amazon2014_5core(["beauty", "toys"], "sports", root=tmp_path)
    assert got.name == want.name and got.source.equals(want.source)
    # a dataset folder: its first source/target pair
    d = tmp_path / "gadtcdr_douban_book_music"
    lines(d / "douban_book_ratings.dat", [(1, 10, 4), (2, 11, 5)])
    lines(d / "douban_music_ratings.dat", [(2, 10, 3), (3, 12, 1)])
    got = datasets.load(str(d))
    assert got.name == "gadtcdr_douban/book->music"
    assert got.source.equals(datasets.load("douban:book:music", tmp_path).source)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("amazon5:beauty", "expected amazon5:SOURCE:TARGET, got 'amazon5:beauty'"),
        ("cdrib::game", "expected cdrib:SOURCE:TARGET, got 'cdrib::game'"),
        ("douban:book:music:x", "expected douban:SOURCE:TARGET, got 'douban:book:music:x'"),
        ("nope", "'nope' is neither a known dataset nor a path (synthetic | amazon5:SRC:TGT"),
    ],
)
def test_unknown_or_malformed_spec_is_a_clear_spec_error(spec, message):
    with pytest.raises(datasets.DatasetSpecError) as e:
        datasets.load(spec)
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)


def test_folder_without_a_pair_and_loader_errors(tmp_path):
    d = tmp_path / "taobao_userbehavior_head"
    d.mkdir()
    (d / "UserBehavior_head.csv").write_text("1,100,7,pv,1511544070\n")
    with pytest.raises(datasets.DatasetSpecError, match="no source/target pair found there"):
        datasets.load(str(d))
    other = tmp_path / "not_a_dataset"
    other.mkdir()
    with pytest.raises(ValueError, match="'not_a_dataset' is not a known dataset folder") as e:
        datasets.load(str(other))
    assert not isinstance(e.value, datasets.DatasetSpecError)
    # the loader's own errors are not spec errors
    disencdr_fixture(tmp_path)
    with pytest.raises(ValueError, match="is not a domain of this dataset") as e:
        datasets.load("disencdr:sport:nope", tmp_path)
    assert not isinstance(e.value, datasets.DatasetSpecError)
