"""The Interactions table: validation errors, cleaning, select/concat and save/load round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xcat.data.interactions import Interactions, drop_duplicates, filter_k_core
from xcat.data.io import read_table


def frame(**cols):
    return pd.DataFrame(cols)


def test_missing_column_is_named():
    with pytest.raises(ValueError, match=r"user='reviewerID': no such column"):
        Interactions.from_frame(
            frame(user=["a"], item=["x"]), user="reviewerID", category_value="c"
        )
    with pytest.raises(ValueError, match=r"missing column\(s\) \['category'\]"):
        Interactions(frame(user=["a"], item=["x"]))
    with pytest.raises(ValueError, match="no category"):
        Interactions.from_frame(frame(user=["a"], item=["x"]))


def test_null_ids_raise_with_count_or_are_dropped_and_reported():
    df = frame(u=["a", None, "c", None], i=["x", "y", None, "z"])
    with pytest.raises(ValueError, match=r"null ids in 3 of 4 rows .*'u': 2, 'i': 1"):
        Interactions.from_frame(df, user="u", item="i", category_value="c")
    inter = Interactions.from_frame(df, user="u", item="i", category_value="c", drop_null_ids=True)
    assert inter.data["user"].tolist() == ["a"]
    (step,) = inter.report.steps
    assert (step.step, step.rows_before, step.rows_after, step.rows_removed) == (
        "drop null ids",
        4,
        1,
        3,
    )


def test_integer_ids_with_nulls_come_back_as_int64_after_dropping():
    df = frame(u=[1, None, 3], i=[5, 6, 7])  # pandas turns u into float64
    inter = Interactions.from_frame(df, user="u", item="i", category_value="c", drop_null_ids=True)
    assert inter.data["user"].dtype == np.int64
    assert inter.data["user"].tolist() == [1, 3]


def test_float_and_mixed_ids_are_rejected():
    with pytest.raises(ValueError, match="float dtype"):
        Interactions.from_frame(
            frame(u=[1.5, 2.0], i=[1, 2]), user="u", item="i", category_value="c"
        )
    with pytest.raises(ValueError, match="mixes value types"):
        Interactions(frame(user=["a", 2], item=[1, 2], category=["c", "c"]))


def test_canonical_columns_are_picked_up_and_extra_columns_need_asking():
    df = frame(user=["a"], item=["x"], category=["c"], rating=[5], note=["hi"])
    inter = Interactions.from_frame(df)
    assert list(inter.data.columns) == ["user", "item", "category", "rating"]
    inter = Interactions.from_frame(df, keep_columns=["note"], rating=False)
    assert list(inter.data.columns) == ["user", "item", "category", "note"]


def test_dedup_is_explicit_and_reported():
    df = frame(
        user=["a", "a", "b", "a"],
        item=["x", "x", "y", "x"],
        category="c",
        rating=[1, 2, 3, 4],
        timestamp=[30, 10, 20, 5],
    )
    kept = Interactions.from_frame(df)
    assert len(kept) == 4 and kept.report.steps == ()
    first = Interactions.from_frame(df, dedup="first")  # earliest by timestamp: rating 4 (t=5)
    assert first.data["rating"].tolist() == [3, 4]
    last = Interactions.from_frame(df, dedup="last")  # latest: rating 1 (t=30)
    assert last.data["rating"].tolist() == [1, 3]
    assert str(last.report) == (
        "drop duplicates: 2 rows removed (4 -> 2); same ('user', 'item', 'category'), kept last"
    )
    with pytest.raises(ValueError, match="2 of 4 rows repeat an earlier"):
        Interactions.from_frame(df, dedup="raise")


def test_dedup_without_timestamp_uses_row_order():
    inter = Interactions(frame(user=["a", "a"], item=["x", "x"], category="c", rating=[1, 2]))
    assert drop_duplicates(inter, keep="first").data["rating"].tolist() == [1]
    assert drop_duplicates(inter, keep="last").data["rating"].tolist() == [2]


def test_k_core_hand_computed():
    # category c: u1 has 2 rows, u2 2 rows, u3 1 row (on item z, which only u3 has).
    # 2-core: remove u3 -> z gone; remaining items x (u1,u2), y (u1,u2): stable.
    # category d: u1 has 1 row -> removed; then item w has 1 row (u2) ... -> all removed.
    df = frame(
        user=["u1", "u1", "u2", "u2", "u3", "u1", "u2"],
        item=["x", "y", "x", "y", "z", "w", "w"],
        category=["c", "c", "c", "c", "c", "d", "d"],
    )
    inter = filter_k_core(Interactions(df), 2)
    assert inter.data[["user", "item"]].values.tolist() == [
        ["u1", "x"],
        ["u1", "y"],
        ["u2", "x"],
        ["u2", "y"],
    ]
    (step,) = inter.report.steps
    assert step.rows_removed == 3 and "per category" in step.detail
    whole = filter_k_core(Interactions(df), 2, per_category=False)
    # over the whole table u1 has 3 and u2 3 rows; w has 2 rows: only u3/z goes
    assert len(whole) == 6
    # (k_user, k_item): users need 3 rows, items 1
    assert set(filter_k_core(Interactions(df), (3, 1), per_category=False).data["user"]) == {
        "u1",
        "u2",
    }
    with pytest.raises(ValueError, match="k >= 1"):
        filter_k_core(Interactions(df), 0)


def test_select_unknown_category_is_named():
    inter = Interactions(frame(user=["a"], item=["x"], category=["Beauty"]))
    with pytest.raises(ValueError, match=r"source category \['Toys'\] not found"):
        inter.select("Toys", role="source")


def test_concat_rejects_conflicting_item_tables():
    items_a = pd.DataFrame({"title": ["A"]}, index=pd.Index(["x"], name="item"))
    items_b = pd.DataFrame({"title": ["B"]}, index=pd.Index(["x"], name="item"))
    a = Interactions(frame(user=["u"], item=["x"], category=["c1"]), items=items_a)
    b = Interactions(frame(user=["u"], item=["x"], category=["c2"]), items=items_b)
    with pytest.raises(ValueError, match="1 item ids have different rows"):
        Interactions.concat([a, b])
    same = Interactions.concat([a, Interactions(b.data, items=items_a)])
    assert len(same) == 2 and len(same.items) == 1


ids_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029"),
    min_size=1,
    max_size=8,
)


ids_int = st.integers(min_value=-(2**62), max_value=2**62)


@st.composite
def interaction_frames(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    id_strategy = draw(st.sampled_from([ids_text, ids_int]))
    users = draw(st.lists(id_strategy, min_size=n, max_size=n))
    items = draw(st.lists(id_strategy, min_size=n, max_size=n))
    cats = draw(st.lists(st.sampled_from(["Beauty", "Toys", "a,b", 'q"x']), min_size=n, max_size=n))
    ratings = draw(
        st.lists(
            st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)), min_size=n, max_size=n
        )
    )
    seconds = draw(st.lists(st.integers(0, 4_000_000_000), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "user": users,
            "item": items,
            "category": cats,
            "rating": ratings,
            "timestamp": pd.to_datetime(seconds, unit="s").astype("datetime64[ns]"),
        }
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(df=interaction_frames())
def test_save_then_load_preserves_every_row(tmp_path_factory, df):
    inter = Interactions.from_frame(df)
    d = tmp_path_factory.mktemp("saved")
    inter.save(d)
    back = Interactions.load(d)
    assert back.equals(inter)
    pd.testing.assert_frame_equal(back.data, inter.data)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(df=interaction_frames(), fmt=st.sampled_from(["csv", "tsv", "csv.gz", "parquet"]))
def test_load_save_load_through_files_preserves_every_row(tmp_path_factory, df, fmt):
    d = tmp_path_factory.mktemp("files")
    src = d / f"in.{fmt}"
    # ids as text: what a file holds
    as_text = df.assign(user=df["user"].astype(str), item=df["item"].astype(str))
    if fmt == "parquet":
        as_text.to_parquet(src)
    else:
        as_text.to_csv(src, sep="\t" if fmt == "tsv" else ",", index=False)
    first = read_table(src)
    assert len(first) == len(df)
    assert first.data["user"].tolist() == as_text["user"].tolist()
    assert first.data["item"].tolist() == as_text["item"].tolist()
    np.testing.assert_allclose(first.data["rating"], df["rating"])
    assert (first.data["timestamp"] == df["timestamp"]).all()
    first.save(d / "saved")
    second = Interactions.load(d / "saved")
    assert second.equals(first)
    # and once more through a text file written from the loaded table
    out = d / f"out.{fmt}"
    if fmt == "parquet":
        second.data.to_parquet(out)
    else:
        second.data.to_csv(out, sep="\t" if fmt == "tsv" else ",", index=False)
    third = read_table(out)
    pd.testing.assert_frame_equal(third.data, first.data)
