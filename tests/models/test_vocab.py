"""Vocab: id maps, item features and domains, histories; per-domain item numbering."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from xcat.data.interactions import Interactions
from xcat.models.vocab import EncodedInteractions, Vocab


def table(users, items, category):
    return Interactions(pd.DataFrame({"user": users, "item": items, "category": category}))


def test_item_ids_numbered_per_domain_stay_distinct():
    # As in DisenCDR / CDRIB / Douban: item 0 of "video" is not item 0 of "toys".
    source = table([1, 1, 2], [0, 1, 0], "video")
    target = table([1, 3], [0, 2], "toys")
    v = Vocab.from_interactions(source, target)
    assert v.scoped_items and v.n_items == 4
    assert v.items.ids.tolist() == ["video:0", "video:1", "toys:0", "toys:2"]
    assert v.item_categories().tolist() == ["video", "video", "toys", "toys"]
    np.testing.assert_array_equal(v.encode(target).items, [2, 3])
    np.testing.assert_array_equal(v.domain_items("toys"), [2, 3])
    again = Vocab.from_dict(json.loads(v.to_json()))
    np.testing.assert_array_equal(again.encode(target).items, [2, 3])


def test_globally_unique_item_ids_are_kept_as_they_are():
    v = Vocab.from_interactions(table([1], ["a"], "x"), table([1], ["b"], "y"))
    assert not v.scoped_items and v.items.ids.tolist() == ["a", "b"]


def small_tables() -> tuple[Interactions, Interactions]:
    src = Interactions(
        pd.DataFrame(
            {"user": ["a", "a", "b", "a"], "item": ["s1", "s2", "s1", "s3"], "category": "S"}
        ),
        items=pd.DataFrame(
            {"attributes": [["x", "y"], ["x"], []], "price": [1.0, 5.0, np.nan]},
            index=pd.Index(["s1", "s2", "s3"], name="item"),
        ),
    )
    tgt = Interactions(pd.DataFrame({"user": ["b", "c"], "item": ["t1", "t2"], "category": "T"}))
    return src, tgt


def test_vocab_features_domains_and_history():
    src, tgt = small_tables()
    v = Vocab.from_interactions(src, tgt, price_buckets=2)
    assert list(v.users.ids) == ["a", "b", "c"]
    assert list(v.items.ids) == ["s1", "s2", "s3", "t1", "t2"]
    assert v.domains == ("S", "T")
    assert v.item_domains.tolist() == [0, 0, 0, 1, 1]
    tokens = [[v.features.ids[j] for j in row if j >= 0] for row in v.item_features]
    assert tokens[0] == ["category=S", "attributes=x", "attributes=y", "price=q0"]
    assert tokens[1] == ["category=S", "attributes=x", "price=q1"]
    assert tokens[2] == ["category=S"]  # empty attributes and missing price: absent
    assert tokens[3] == ["category=T"]
    assert v.domain_items("T").tolist() == [3, 4]
    assert v.item_categories().tolist() == ["S", "S", "S", "T", "T"]
    h = v.histories(src, tgt, max_len=2)
    # a: s1 s2 s3 -> last two; b: s1 then t1; c: t2
    assert h.tolist() == [[1, 2], [0, 3], [4, -1]]
    assert Vocab.from_dict(v.to_dict()).item_features.tolist() == v.item_features.tolist()
    with pytest.raises(ValueError, match="not in the map"):
        v.encode(Interactions(pd.DataFrame({"user": ["zz"], "item": ["s1"], "category": "S"})))
    with pytest.raises(ValueError, match="domain"):
        v.domain_items("Q")
    with pytest.raises(ValueError, match="feature_columns"):
        Vocab.from_interactions(src, feature_columns=["brand"])


def test_csr_is_binary_for_repeated_interactions():
    # user 0 bought item 1 three times and item 2 once; user 2 bought item 0 twice
    enc = EncodedInteractions(
        users=np.array([0, 0, 0, 0, 2, 2], dtype=np.int64),
        items=np.array([1, 1, 2, 1, 0, 0], dtype=np.int64),
        domains=np.zeros(6, dtype=np.int64),
    )
    m = enc.csr(3, 4)
    assert m.shape == (3, 4) and m.dtype == np.float32
    np.testing.assert_array_equal(
        m.toarray(), [[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    )  # 0/1, not the counts 3 and 2
    assert m.nnz == 3 and m.has_canonical_format
    np.testing.assert_array_equal(m.data, np.ones(3, dtype=np.float32))
