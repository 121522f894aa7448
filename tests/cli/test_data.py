"""``xcat data stats``: tables of counts, overlap, density and removals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from xcat.cli.main import main

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("XCAT_DATA_DIR") or REPO.parent / "shared" / "data")


def run(*args):
    result = CliRunner().invoke(main, ["data", "stats", *map(str, args)])
    return result


def review(user, asin, t):
    return (
        json.dumps({"reviewerID": user, "asin": asin, "overall": 5.0, "unixReviewTime": t}) + "\n"
    )


def test_one_file_per_category_gives_domains_and_overlap(tmp_path):
    # Beauty: users A1 A2 A3 on 2 items (4 rows); Toys: users A1 A4 on 1 item (2 rows)
    (tmp_path / "reviews_Beauty_5.json").write_text(
        review("A1", "B000000001", 1)
        + review("A2", "B000000001", 2)
        + review("A3", "B000000002", 3)
        + review("A1", "B000000002", 4)
    )
    (tmp_path / "reviews_Toys_5.json").write_text(
        review("A1", "B000000009", 5) + review("A4", "B000000009", 6)
    )
    result = run(
        tmp_path / "reviews_Beauty_5.json",
        tmp_path / "reviews_Toys_5.json",
        "--source",
        "Beauty",
        "--target",
        "Toys",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["Beauty"][1:4] == ["3", "2", "4"]  # users, items, interactions
    assert lines["Beauty"][4:] == ["66.67", "%"]  # 4 pairs / (3 * 2)
    assert lines["Toys"][1:4] == ["2", "1", "2"]
    assert lines["(all)"][1:4] == ["4", "3", "6"]
    # overlap row: Beauty & Toys share A1: 1 of 3 and 1 of 2 users
    overlap = next(
        line
        for line in out.splitlines()
        if "Beauty" in line and "Toys" in line and "%" in line and "source" not in line
    )
    assert overlap.split()[3:] == ["1", "33.33", "%", "50", "%"]
    assert "overlapping_users" in out
    assert "no rows removed" in out


def test_removals_are_printed(tmp_path):
    f = tmp_path / "log.csv"
    f.write_text("u,i,c\na,x,Books\na,x,Books\nb,y,Books\nb,z,Music\n")
    result = run(f, "--user", "u", "--item", "i", "--category", "c", "--dedup", "first")
    assert result.exit_code == 0, result.output
    assert "drop duplicates: 1 rows removed (4 -> 3)" in result.output
    result = run(f, "--user", "u", "--item", "i", "--category", "c", "--k-core", "2")
    assert "k-core: 2 rows removed (4 -> 2)" in result.output  # b's single rows go


def test_bad_input_is_a_clear_error(tmp_path):
    f = tmp_path / "log.csv"
    f.write_text("user,item\na,x\n")
    result = run(f, "--category", "c")
    assert result.exit_code == 1
    assert "Error: --category c: no such column" in result.output
    f.write_text("user,item,rating\na,x,five\n")
    result = run(f)
    assert "rating column 'rating': 1 of 1 values are not numbers" in result.output


def test_saved_table_and_headerless_file(tmp_path):
    f = tmp_path / "ratings.tsv"
    f.write_text("1\t10\t5\n2\t10\t4\n")
    result = run(f, "--no-header", "--rating", "2")
    assert result.exit_code == 0, result.output
    assert "ratings" in result.output  # category named after the file
    from xcat.data.io import read_table

    read_table(f, header=False, user=0, item=1, category_value="r").save(tmp_path / "saved")
    result = run(tmp_path / "saved")
    assert result.exit_code == 0, result.output
    assert "2 interactions, 2 users, 1 items" in result.output


def test_import_of_the_cli_stays_light():
    import xcat

    code = "import sys, xcat, xcat.cli; print('pandas' in sys.modules)"
    # the same xcat this test session imported (in-tree or installed)
    env = {**os.environ, "PYTHONPATH": str(Path(xcat.__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not (DATA / "README.md").is_file(), reason=f"shared data not found at {DATA}")
def test_dataset_folder_stats_match_readme():
    result = run(DATA / "gadtcdr_douban_book_music")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines() if line.strip()}
    assert rows["source"][1:5] == ["book", "2,110", "6,777", "96,041"]
    assert rows["target"][1:5] == ["music", "1,672", "5,567", "69,709"]
    assert rows["source"][7] == "1,566"  # overlapping users


def test_cli_uses_a_category_column_like_read_table(tmp_path):
    f = tmp_path / "ev.csv"
    f.write_text("user,item,category\nu1,i1,A\nu2,i2,B\nu1,i2,B\n", encoding="utf-8")
    result = run(f)
    assert result.exit_code == 0, result.output
    assert "2 categories" in result.output
    firsts = {line.split()[0] for line in result.output.splitlines() if line.strip()}
    assert {"A", "B"} <= firsts and "ev" not in firsts
    result = run(f, "--category-value", "Shop")
    assert result.exit_code == 0, result.output
    assert "1 categories" in result.output and "Shop" in result.output


@pytest.mark.skipif(not (DATA / "taobao_userbehavior_head").is_dir(), reason="no shared data")
def test_cli_taobao_largest_table_and_overlap_pick_the_same_tied_category():
    result = run(DATA / "taobao_userbehavior_head" / "UserBehavior_head.csv")
    assert result.exit_code == 0, result.output
    per, overlap = result.output.split("user overlap", 1)
    in_per = {c for c in ("570735", "2640118") if f"\n{c} " in per}
    in_overlap = {c for c in ("570735", "2640118") if f" {c} " in overlap}
    assert in_per == in_overlap == {"570735"}  # tie at 34 rows: the smaller value wins


def stats_blocks(output):
    """``== NAME`` blocks of ``data stats`` output: {name: {section title: body}}."""
    blocks = {}
    for chunk in output.split("\n== ")[1:]:
        name, _, rest = chunk.partition("\n")
        sections = {}
        for sec in rest.strip("\n").split("\n\n"):
            title, _, body = sec.partition("\n")
            sections[title] = body.partition("\n")[2]  # drop the dashes
        blocks[name] = sections
    return blocks


def swap_roles(sections):
    """The sections of a pair's block with source and target exchanged."""
    lines = sections["source / target"].splitlines()
    rows = {line[:6]: line[6:] for line in lines if line[:6] in ("source", "target")}
    head = [line for line in lines if line[:6] not in ("source", "target")]
    return {
        **sections,
        "source / target": "\n".join([*head, "source" + rows["target"], "target" + rows["source"]]),
        "published split (source)": sections["published split (target)"],
        "published split (target)": sections["published split (source)"],
    }


@pytest.mark.parametrize("dataset", ["disencdr_amazon", "cdrib_amazon_coldstart"])
def test_pair_folder_stats_match_the_parent_folder(data_dir, dataset):
    # a pair folder inside a dataset folder gives the stats of that pair (issue 11);
    # folder A_B is the direction named A_B, the other one's stats with roles swapped
    parent = run(data_dir / dataset)
    assert parent.exit_code == 0, parent.output
    listed = stats_blocks(parent.output)
    folders = sorted(p.name for p in (data_dir / dataset).iterdir() if p.is_dir())
    assert len(folders) == 2 * len(listed)
    for folder in folders:
        result = run(data_dir / dataset / folder)
        assert result.exit_code == 0, result.output
        [(name, got)] = stats_blocks(result.output).items()
        assert name == f"{dataset}/{folder}"
        a, b = folder.split("_")
        if name in listed:
            assert got == listed[name]
        else:
            assert got == swap_roles(listed[f"{dataset}/{b}_{a}"])
