"""Reading any input and printing its statistics: xcat.workflow.stats."""

from __future__ import annotations

import pytest
from xcat.data.interactions import Interactions
from xcat.workflow import ArgumentError, data_stats, load_inputs


def test_load_inputs_stacks_tables_and_names_categories_after_files(tmp_path):
    (tmp_path / "books.csv").write_text("user,item\na,x\nb,y\n")
    (tmp_path / "music.tsv.gz").write_bytes(__import__("gzip").compress(b"user\titem\na\tm1\n"))
    loaded = load_inputs([tmp_path / "books.csv"])
    assert [n for n, _ in loaded] == ["books.csv"] and loaded[0][1].categories == ["books"]
    ((name, both),) = load_inputs([tmp_path / "books.csv", tmp_path / "music.tsv.gz"])
    assert name == "books.csv + music.tsv.gz" and isinstance(both, Interactions)
    assert sorted(both.categories) == ["books", "music"] and len(both) == 3
    (tmp_path / "ratings.txt").write_text("1,10,5\n2,10,4\n")
    ((_, headerless),) = load_inputs([tmp_path / "ratings.txt"], header=False, rating="2", sep=",")
    assert len(headerless) == 2 and headerless.categories == ["ratings"]


def test_saved_tables_take_no_cleaning(tmp_path):
    (tmp_path / "log.csv").write_text("user,item\na,x\n")
    load_inputs([tmp_path / "log.csv"])[0][1].save(tmp_path / "saved")
    assert len(load_inputs([tmp_path / "saved"])[0][1]) == 1
    with pytest.raises(ArgumentError, match="apply to raw files") as err:
        load_inputs([tmp_path / "saved"], dedup="first")
    assert err.value.argument is None


def test_data_stats_prints_sections_as_it_goes(tmp_path):
    (tmp_path / "log.csv").write_text("u,i,c\na,x,Books\na,x,Books\nb,y,Books\nb,z,Music\n")
    lines: list[str] = []
    opts = {"user": "u", "item": "i", "category": "c", "echo": lines.append}
    loaded = data_stats([tmp_path / "log.csv"], dedup="first", **opts)
    assert len(loaded) == 1 and lines[0].startswith("== log.csv: 3 interactions, 2 users")
    titles = [line.split("\n")[1] for line in lines[1:]]
    assert titles == ["per domain", "user overlap", "removal report"]
    assert "drop duplicates: 1 rows removed (4 -> 3)" in lines[-1]
    lines.clear()
    data_stats([tmp_path / "log.csv"], sources=["Books"], targets=["Music"], **opts)
    assert "source / target" in lines[-2]
    lines.clear()
    with pytest.raises(ArgumentError, match="give both --source and --target"):
        data_stats([tmp_path / "log.csv"], sources=["Books"], **opts)
    assert len(lines) == 3  # the sections before the source/target one were printed
