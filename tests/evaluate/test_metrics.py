"""Ranking metrics against hand-computed cases and an independent loop reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from xcat.evaluate import evaluate_groups, popularity_topn, ranking_metrics


def csr(rows, n_items, grades=None):
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.array([i for r in rows for i in r], dtype=np.int64)
    data = (
        np.ones(len(indices)) if grades is None else np.array([g for r in grades for g in r], float)
    )
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), n_items))


def test_hand_computed_binary_case():
    # user 0: relevant {3, 7}; list [7, 1, 3, 5]: hits at ranks 1 and 3
    # user 1: relevant {2};    list [0, 1, 4, 5]: no hit
    # user 2: no relevant item: skipped
    rec = np.array([[7, 1, 3, 5], [0, 1, 4, 5], [1, 2, 3, 4]])
    rel = csr([[3, 7], [2], []], 10)
    m = ranking_metrics(rec, rel, ks=(1, 3), n_catalogue=10)
    assert (m.n_users, m.n_skipped) == (2, 1)
    assert m["HR@1"] == 0.5 and m["HR@3"] == 0.5
    assert m["Precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["Recall@3"] == pytest.approx((1.0 + 0) / 2)
    assert m["Recall@1"] == pytest.approx((0.5 + 0) / 2)
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3)
    assert m["NDCG@3"] == pytest.approx(dcg / idcg / 2)
    assert m["MAP@3"] == pytest.approx((1 + 2 / 3) / 2 / 2)
    assert m["MRR"] == pytest.approx((1 + 0) / 2)
    p, r = 2 / 3, 1.0
    assert m["F1@3"] == pytest.approx(2 * p * r / (p + r) / 2)
    assert m["Coverage@1"] == pytest.approx(len({7, 0, 1}) / 10)


def test_graded_ndcg_uses_ideal_order_of_the_ground_truth():
    # grades: item 1 -> 3, item 2 -> 1; list [2, 1]: gains 1, 7; ideal 7, 1
    rec = np.array([[2, 1, 9]])
    rel = csr([[1, 2]], 10, grades=[[3, 1]])
    m = ranking_metrics(rec, rel, ks=(2,), relevance="graded")
    dcg = 1 / math.log2(2) + 7 / math.log2(3)
    idcg = 7 / math.log2(2) + 1 / math.log2(3)
    assert m["NDCG@2"] == pytest.approx(dcg / idcg)
    # binary relevance (the default) ignores the stored grades: both items are hits
    assert ranking_metrics(rec, rel, ks=(2,))["NDCG@2"] == 1.0
    with pytest.raises(ValueError, match="relevance: expected 'binary' or 'graded'"):
        ranking_metrics(rec, rel, ks=(2,), relevance="ratings")


# --------------------------------------------------------------------------- issue 11: duplicates


def test_a_ranked_list_that_repeats_an_item_is_refused():
    # [1, 1, 2] against {1, 2} scored Recall@3 1.5, NDCG@3 1.31 and MAP@3 1.5 before
    rel = csr([[1, 2]], 3)
    with pytest.raises(ValueError, match=r"recommended: row 0 lists item 1 more than once"):
        ranking_metrics(np.array([[1, 1, 2]]), rel, ks=(3,))
    # the row named is the caller's row, also through the groups
    rec = np.array([[0, 1, 2], [2, 0, 2]])
    rel2 = csr([[1], [2]], 3)
    with pytest.raises(ValueError, match=r"row 1 lists item 2 more than once \(1 rows"):
        evaluate_groups(rec, rel2, {"warm": [1]}, ks=(1,))
    # -1 padding is not a repeat; the metrics of a valid list stay in [0, 1]
    m = ranking_metrics(np.array([[1, -1, -1]]), rel, ks=(3,))
    assert m["Recall@3"] == 0.5 and m["MAP@3"] == 0.5 and m["MRR"] == 1.0
    assert m["NDCG@3"] == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_an_item_held_out_twice_is_relevant_once():
    # relevant {1, 2}, item 1 given twice; list [5, 0, 1]: one hit at rank 3.
    # Binary: DCG = 1/log2(4) = 0.5, IDCG = 1 + 1/log2(3); recall 1/2.
    # (Before: grade 2 for item 1, NDCG 1.5 / (3 + 1/log2(3)) = 0.413.)
    want_ndcg = 0.5 / (1 + 1 / math.log2(3))
    rec = np.array([[5, 0, 1]])
    pair = (np.array([0, 3]), np.array([1, 1, 2]))
    noncanonical = sp.csr_matrix((np.ones(3), pair[1], pair[0]), shape=(1, 6))
    assert not noncanonical.has_canonical_format
    coo = sp.coo_matrix((np.ones(3), (np.zeros(3, int), pair[1])), shape=(1, 6))
    for truth in (pair, noncanonical, coo):
        m = ranking_metrics(rec, truth, ks=(3,))
        assert m["NDCG@3"] == pytest.approx(want_ndcg, abs=1e-15)
        assert m["Recall@3"] == 0.5 and m["MAP@3"] == pytest.approx(1 / 3 / 2)
    assert noncanonical.data.tolist() == [1.0, 1.0, 1.0]  # the caller's matrix is untouched
    # graded, on request: an entry stored twice keeps its largest grade (3), not 3 + 1
    graded = sp.csr_matrix((np.array([3.0, 1.0, 1.0]), pair[1], pair[0]), shape=(1, 6))
    g = ranking_metrics(np.array([[1, 2, 0]]), graded, ks=(2,), relevance="graded")
    assert g["NDCG@2"] == 1.0  # the ideal list: item 1 (grade 3) then item 2 (grade 1)
    g = ranking_metrics(np.array([[2, 1, 0]]), graded, ks=(2,), relevance="graded")
    dcg, idcg = 1 + 7 / math.log2(3), 7 + 1 / math.log2(3)
    assert g["NDCG@2"] == pytest.approx(dcg / idcg, abs=1e-15)


def test_recall_denominator_option():
    rec = np.array([[0, 1]])
    rel = csr([[0, 1, 2, 3]], 5)
    assert ranking_metrics(rec, rel, ks=(2,))["Recall@2"] == pytest.approx(0.5)
    assert ranking_metrics(rec, rel, ks=(2,), recall_denominator="min")["Recall@2"] == 1.0


def reference(rec, rel_sets, grades, k):
    """Plain loops, written independently of the vectorised code."""
    out = {"Recall": [], "NDCG": [], "HR": [], "Precision": [], "MAP": [], "MRR": []}
    for row, relevant, g in zip(rec, rel_sets, grades, strict=True):
        if not relevant:
            continue
        top = [i for i in row[:k]]
        hit = [i in relevant for i in top]
        out["HR"].append(float(any(hit)))
        out["Precision"].append(sum(hit) / k)
        out["Recall"].append(sum(hit) / len(relevant))
        dcg = sum((2 ** g.get(i, 0) - 1) / math.log2(j + 2) for j, i in enumerate(top))
        best = sorted(g.values(), reverse=True)[:k]
        idcg = sum((2**x - 1) / math.log2(j + 2) for j, x in enumerate(best))
        out["NDCG"].append(dcg / idcg if idcg else 0.0)
        ap, seen = 0.0, 0
        for j, h in enumerate(hit):
            if h:
                seen += 1
                ap += seen / (j + 1)
        out["MAP"].append(ap / min(k, len(relevant)))
        ranks = [j + 1 for j, i in enumerate(row) if i in relevant]
        out["MRR"].append(1 / ranks[0] if ranks else 0.0)
    return {name: float(np.mean(v)) if v else math.nan for name, v in out.items()}


@st.composite
def cases(draw):
    n_items = draw(st.integers(1, 30))
    n_users = draw(st.integers(1, 12))
    n = draw(st.integers(1, 10))
    # ranked lists never repeat an item (as xcat.topn's); -1 padding may repeat
    rows = []
    for _ in range(n_users):
        items = draw(st.lists(st.integers(0, n_items - 1), unique=True, max_size=n))
        gaps = n - len(items)
        padding = draw(st.lists(st.integers(0, len(items)), min_size=gaps, max_size=gaps))
        row = list(items)
        for at in sorted(padding, reverse=True):
            row.insert(at, -1)
        rows.append(row)
    rec = np.array(rows, dtype=np.int64)
    rel_sets, grades = [], []
    for _ in range(n_users):
        items = draw(st.sets(st.integers(0, n_items - 1), max_size=6))
        g = {i: draw(st.integers(1, 4)) for i in sorted(items)}
        rel_sets.append(set(items))
        grades.append(g)
    return rec, rel_sets, grades, n_items, draw(st.integers(1, n))


@given(cases(), st.sampled_from(["graded", "binary"]))
def test_matches_independent_reference(case, relevance):
    rec, rel_sets, grades, n_items, k = case
    rel = csr(
        [sorted(g) for g in grades], n_items, grades=[[g[i] for i in sorted(g)] for g in grades]
    )
    m = ranking_metrics(rec, rel, ks=(k,), relevance=relevance)
    if relevance == "binary":
        grades = [dict.fromkeys(g, 1) for g in grades]
    ref = reference(rec, rel_sets, grades, k)
    assert m.n_users == sum(1 for s in rel_sets if s)
    if m.n_users == 0:
        return
    for name in ("Recall", "NDCG", "HR", "Precision", "MAP"):
        assert m[f"{name}@{k}"] == pytest.approx(ref[name], abs=1e-12), name
    assert m["MRR"] == pytest.approx(ref["MRR"], abs=1e-12)


def test_groups_and_errors():
    rec = np.array([[0, 1], [1, 0], [2, 0]])
    rel = csr([[0], [0], [2]], 3)
    g = evaluate_groups(rec, rel, {"all": np.ones(3, bool), "cold": [1]}, ks=(1,))
    assert g["all"]["HR@1"] == pytest.approx(2 / 3)
    assert g["cold"]["HR@1"] == 0.0 and g["cold"].n_users == 1
    with pytest.raises(ValueError, match="ks: each K must be in 1..2"):
        ranking_metrics(rec, rel, ks=(3,))
    with pytest.raises(ValueError, match="relevant: has 2 rows but recommended has 3 users"):
        ranking_metrics(rec, rel[:2], ks=(1,))
    with pytest.raises(ValueError, match=r"groups\['x'\]: boolean mask has shape \(2,\)"):
        evaluate_groups(rec, rel, {"x": np.ones(2, bool)})


def test_popularity_ranks_by_count_then_index_and_excludes_seen():
    counts = np.array([5, 9, 9, 0, 2])
    got = popularity_topn(counts, 2, 3, exclude=([0, 1, 1], [1]))
    np.testing.assert_array_equal(got.indices, [[2, 0, 4], [1, 2, 0]])
    np.testing.assert_array_equal(got.scores, [[9, 5, 2], [9, 9, 5]])
    only = popularity_topn(counts, 1, 5, candidates=[3, 4])
    np.testing.assert_array_equal(only.indices, [[4, 3, -1, -1, -1]])


def test_report_files_and_gains(tmp_path):
    import json

    from xcat.evaluate.report import comparison_table, write_report

    rec = np.array([[0, 1], [1, 0]])
    rel = csr([[0], [0]], 3)
    scratch = evaluate_groups(rec, rel, {"all": [0, 1], "cold": [1]}, ks=(1,))
    better = evaluate_groups(np.array([[0, 1], [0, 1]]), rel, {"all": [0, 1], "cold": [1]}, ks=(1,))
    results = {"scratch": scratch, "full": better}
    table = comparison_table(results, ["HR@1"])
    row = table[(table.method == "full") & (table.group == "all")].iloc[0]
    assert row["HR@1"] == 1.0 and row["gain % HR@1"] == pytest.approx(100.0)
    # scratch has HR 0 for the cold group: no gain can be stated
    assert np.isnan(table[(table.method == "full") & (table.group == "cold")]["gain % HR@1"]).all()
    paths = write_report(tmp_path / "run", results, title="t", config={"seed": 1}, metrics=["HR@1"])
    assert json.loads(paths["metrics"].read_text())["full"]["all"]["metrics"]["HR@1"] == 1.0
    assert "| full | all | 2 | 1.00 | 1.0000 | +100.0 |" in paths["report"].read_text()
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"
