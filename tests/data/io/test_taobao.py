"""Taobao UserBehavior: headerless, integer ids and categories, behaviours, epoch seconds."""

from __future__ import annotations

import gzip

import pandas as pd
from xcat.data.io import read_taobao_userbehavior


def write(path, text, gz=False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


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
