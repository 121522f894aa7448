"""RemovalReport: steps in order, totals, tables, JSON round trip, text."""

from __future__ import annotations

import json

from xcat.data.report import RemovalReport


def test_reports_accumulate_in_order():
    rep = RemovalReport().add("a", 10, 8).add("b", 8, 8, "nothing")
    assert [s.rows_removed for s in rep.steps] == [2, 0]
    assert rep.total_removed == 2
    assert rep.to_frame()["rows_after"].tolist() == [8, 8]
    assert RemovalReport.from_dict(json.loads(json.dumps(rep.to_dict()))) == rep
    assert str(RemovalReport()) == "no rows removed"


def test_extend_prefixes_steps_and_text_says_added_rows():
    a = RemovalReport().add("k-core", 5, 3, "k=2")
    b = RemovalReport().add("explode genres", 2, 4)
    both = a.extend(b, prefix="[Drama] ")
    assert [s.step for s in both.steps] == ["k-core", "[Drama] explode genres"]
    assert both.total_removed == 0
    assert str(both).splitlines() == [
        "k-core: 2 rows removed (5 -> 3); k=2",
        "[Drama] explode genres: 2 rows added (2 -> 4)",
    ]
    assert list(RemovalReport().to_frame().columns) == [
        "step",
        "rows_before",
        "rows_removed",
        "rows_after",
        "detail",
    ]
