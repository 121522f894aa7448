"""Vocab: items numbered per domain are never merged across domains."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from xcat.data.interactions import Interactions
from xcat.models.vocab import Vocab


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
