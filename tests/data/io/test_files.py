"""Opening input files: compression suffixes, line-by-line reading, missing paths."""

from __future__ import annotations

import bz2
import gzip
import lzma

import pytest
from xcat.data.io.files import check_file, open_text, strip_compression


def test_strip_compression_keeps_the_case():
    assert strip_compression("Reviews.JSON.gz") == "Reviews.JSON"
    assert strip_compression("a.csv.zst") == "a.csv"
    assert strip_compression("a.csv") == "a.csv"


@pytest.mark.parametrize(("suffix", "opener"), [(".gz", gzip), (".bz2", bz2), (".xz", lzma)])
def test_open_text_decompresses(tmp_path, suffix, opener):
    f = tmp_path / f"a.txt{suffix}"
    with opener.open(f, "wt", encoding="utf-8") as out:
        out.write("x\r\ny\n")
    with open_text(f) as inp:
        assert inp.read().splitlines() == ["x", "y"]


def test_open_text_refuses_zip_and_missing_paths_are_named(tmp_path):
    with pytest.raises(ValueError, match="line-by-line reading of zip files is not supported"):
        open_text(tmp_path / "a.json.zip")
    with pytest.raises(FileNotFoundError, match="no such file or directory: .*nope"):
        check_file(tmp_path / "nope")
    assert check_file(str(tmp_path)) == tmp_path
