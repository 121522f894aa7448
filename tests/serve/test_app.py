"""xcat serve's HTTP API in process: each endpoint against a NumPy reference, each error a 4xx."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

pytest.importorskip("fastapi", reason="the serve extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402
from xcat.data.idmap import IdMap  # noqa: E402
from xcat.recommend import Recommender  # noqa: E402
from xcat.serve import EventLog, create_app  # noqa: E402
from xcat.workflow import read_events  # noqa: E402

N_USERS, N_ITEMS, DIM = 30, 40, 6


def make_rec(*, int_ids=False):
    rng = np.random.default_rng(3)
    seen = sp.random(N_USERS, N_ITEMS, density=0.1, random_state=4, format="csr")
    seen.data[:] = 1
    if int_ids:
        users = IdMap(np.arange(1000, 1000 + N_USERS), name="user")
        items = IdMap(np.arange(N_ITEMS) * 7, name="item")
    else:
        users = IdMap([f"u{i}" for i in range(N_USERS)], name="user")
        items = IdMap([f"i{i:02d}" for i in range(N_ITEMS)], name="item")
    vectors = rng.standard_normal((N_ITEMS, DIM)).astype(np.float32)
    vectors[5] = vectors[4] * 2.0  # same direction: a cosine tie, broken to the lower row
    return Recommender(
        rng.standard_normal((N_USERS, DIM)).astype(np.float32),
        vectors,
        user_ids=users,
        item_ids=items,
        item_categories=["beauty" if i % 2 else "toys" for i in range(N_ITEMS)],
        history=seen,
    )


def reference(query, items, n, allowed):
    """Float64 cosine ranking, ties to the lower row; ``allowed`` is a boolean mask of items."""
    q = np.asarray(query, np.float64)
    m = np.asarray(items, np.float64)
    s = (m @ q) / (np.linalg.norm(m, axis=1) * np.linalg.norm(q))
    order = sorted(np.flatnonzero(allowed), key=lambda i: (-round(s[i], 6), i))
    return order[:n], s


@pytest.fixture()
def rec():
    return make_rec()


@pytest.fixture()
def client(rec, tmp_path):
    log = EventLog(tmp_path / "events.csv")
    with TestClient(create_app(rec, events=log, default_category=["toys"])) as c:
        yield c
    log.close()


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["users"] == N_USERS and body["items"] == N_ITEMS
    assert set(body["categories"]) == {"beauty", "toys"} and body["default_category"] == ["toys"]
    assert body["feedback"] is True


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_get_recommend_matches_a_float64_reference(rec, client, exclude_seen):
    u = 7
    r = client.get(
        "/recommend", params={"user": f"u{u}", "n": 5, "exclude_seen": str(exclude_seen).lower()}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    toys = rec.item_categories == "toys"
    seen = rec.history[u].toarray().ravel() > 0
    allowed = toys & ~seen if exclude_seen else toys
    want, s = reference(rec.user_vectors[u], rec.item_vectors, 5, allowed)
    assert body["user"] == f"u{u}" and body["source"] == "model"
    assert [x["item"] for x in body["items"]] == [f"i{i:02d}" for i in want]
    assert [x["rank"] for x in body["items"]] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([x["score"] for x in body["items"]], s[want], atol=1e-5)
    assert {x["category"] for x in body["items"]} == {"toys"}


def test_post_recommend_keeps_order_and_answers_unknown_users_with_popular_items(rec, client):
    r = client.post(
        "/recommend", json={"users": ["u3", "someone-new", "u1"], "n": 4, "category": ["beauty"]}
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["user"] for x in results] == ["u3", "someone-new", "u1"]
    assert [x["source"] for x in results] == ["model", "popular", "model"]
    popularity = np.asarray((rec.history > 0).sum(0)).ravel()
    beauty = np.flatnonzero(rec.item_categories == "beauty")
    want = sorted(beauty, key=lambda i: (-popularity[i], i))[:4]
    assert [x["item"] for x in results[1]["items"]] == [f"i{i:02d}" for i in want]
    direct = rec.recommend(["u3"], n=4, category="beauty")
    assert [x["item"] for x in results[0]["items"]] == direct["item"].tolist()


def test_unknown_users_raise_no_warnings_per_request(client):
    import warnings

    from xcat.data.idmap import UnknownIdWarning

    # the filters in force (the app's own filter first: it was installed last)
    with warnings.catch_warnings(record=True) as caught:
        r = client.post("/recommend", json={"users": ["nobody", "u1"], "n": 2})
    assert r.status_code == 200 and r.json()["results"][0]["source"] == "popular"
    assert not [w for w in caught if issubclass(w.category, UnknownIdWarning)]


def test_integer_ids_are_read_in_the_models_own_type(tmp_path):
    rec = make_rec(int_ids=True)
    with TestClient(create_app(rec)) as c:
        r = c.get("/recommend", params={"user": "1004", "n": 3})
        assert r.status_code == 200 and r.json()["user"] == 1004
        items = r.json()["items"]
        assert r.json()["source"] == "model" and all(isinstance(x["item"], int) for x in items)
        r = c.get("/recommend", params={"user": "not-a-number"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "user"]
        r = c.post("/recommend", json={"users": [1004, "x"]})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "users", 1]
        r = c.get("/similar", params={"item": "14", "n": 2})
        assert r.status_code == 200 and r.json()["item"] == 14


def test_similar_items_are_exact_and_cross_category(rec, client):
    q = 4  # a beauty item? no: even rows are toys; its same-direction twin is row 5 (beauty)
    r = client.get("/similar", params={"item": "i05", "n": 3, "category": "toys"})
    assert r.status_code == 200, r.text
    body = r.json()
    allowed = rec.item_categories == "toys"
    want, s = reference(rec.item_vectors[5], rec.item_vectors, 3, allowed)
    assert want[0] == q
    assert [x["item"] for x in body["similar"]] == [f"i{i:02d}" for i in want]
    np.testing.assert_allclose([x["score"] for x in body["similar"]], s[want], atol=1e-5)
    # every category, the item itself left out unless asked for
    r = client.get("/similar", params={"item": "i04", "n": 2, "category": ["toys", "beauty"]})
    assert [x["item"] for x in r.json()["similar"]][0] == "i05"
    r = client.get(
        "/similar",
        params={"item": "i04", "n": 2, "category": ["toys", "beauty"], "exclude_self": "false"},
    )
    assert [x["item"] for x in r.json()["similar"]] == ["i04", "i05"]  # tie: the lower row first


@pytest.mark.parametrize(
    ("method", "path", "kw", "status", "loc"),
    [
        ("get", "/recommend", {"params": {"user": "u1", "n": 0}}, 422, ["query", "n"]),
        ("get", "/recommend", {"params": {"user": "u1", "n": 1001}}, 422, ["query", "n"]),
        ("get", "/recommend", {"params": {"n": 3}}, 422, ["query", "user"]),
        ("get", "/recommend", {"params": {"user": ""}}, 422, ["query", "user"]),
        ("get", "/recommend", {"params": {"user": "u1", "exclude_seen": "perhaps"}}, 422,
         ["query", "exclude_seen"]),
        ("get", "/recommend", {"params": {"user": "u1", "category": "garden"}}, 422,
         ["query", "category", 0]),
        ("post", "/recommend", {"json": {"users": []}}, 422, ["body", "users"]),
        ("post", "/recommend", {"json": {"users": ["u1"], "n": "5"}}, 422, ["body", "n"]),
        ("post", "/recommend", {"json": {"users": ["u1"], "colour": "red"}}, 422,
         ["body", "colour"]),
        ("post", "/recommend", {"json": {"users": [["u1"]]}}, 422, ["body", "users", 0]),
        ("post", "/recommend", {"json": {"users": ["a\nb"]}}, 422, ["body", "users", 0]),
        ("post", "/recommend", {"content": b"{not json", "headers": {"content-type":
         "application/json"}}, 422, ["body", 1]),
        ("get", "/similar", {"params": {"item": "nope"}}, 404, ["query", "item"]),
        ("get", "/similar", {"params": {"item": "i01", "category": "garden"}}, 422,
         ["query", "category", 0]),
        ("post", "/feedback", {"json": {"events": []}}, 422, ["body", "events"]),
        ("post", "/feedback", {"json": {"events": [{"user": "u1"}]}}, 422,
         ["body", "events", 0, "item"]),
        ("post", "/feedback", {"json": {"events": [{"user": "u1", "item": "brand-new"}]}}, 422,
         ["body", "events", 0, "category"]),
        ("post", "/feedback", {"json": {"events": [{"user": "u1", "item": "i01",
         "category": "toys"}]}}, 422, ["body", "events", 0, "category"]),
        ("post", "/feedback", {"json": {"events": [{"user": "u1", "item": "i01",
         "timestamp": "yesterday"}]}}, 422, ["body", "events", 0, "timestamp"]),
        ("post", "/feedback", {"json": {"events": [{"user": "u1", "item": "i01",
         "timestamp": 9e9}]}}, 422, ["body", "events", 0, "timestamp"]),
        ("post", "/feedback", {"json": {"events": [{"user": "u1", "item": "i01",
         "timestamp": "2024-W01-1"}]}}, 422, ["body", "events", 0, "timestamp"]),
        ("post", "/feedback", {"json": {"events": [{"user": "u1", "item": "i01",
         "timestamp": "0001-01-01"}]}}, 422, ["body", "events", 0, "timestamp"]),
        # NaN / Infinity are not JSON, but Python's parser reads them: a 422, not a 500
        ("post", "/recommend", {"content": b'{"users": ["u1"], "n": NaN}', "headers":
         {"content-type": "application/json"}}, 422, ["body", "n"]),
        ("post", "/feedback", {"content": b'{"events": [{"user": Infinity, "item": "i01"}]}',
         "headers": {"content-type": "application/json"}}, 422, ["body", "events", 0, "user"]),
        ("get", "/recommend", {"params": {"user": "a\u2028b"}}, 422, ["query", "user"]),
        ("get", "/recommend", {"params": {"user": "a\x85b"}}, 422, ["query", "user"]),
    ],
)  # fmt: skip
def test_bad_input_is_a_4xx_naming_the_field(client, tmp_path, method, path, kw, status, loc):
    before = (tmp_path / "events.csv").read_bytes()
    r = getattr(client, method)(path, **kw)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"][: len(loc)] == loc, detail
    assert (tmp_path / "events.csv").read_bytes() == before  # nothing of a refused batch is kept


def test_feedback_is_appended_and_read_back_by_xcat_feedback(client, tmp_path):
    events = [
        {"user": "u1", "item": "i01"},  # known item: its category filled in
        {"user": "new, \"quoted\" user", "item": "brand-new", "category": "toys",
         "timestamp": "2026-12-01T10:00:00+00:00"},
        {"user": "u2", "item": "i02", "category": "toys", "timestamp": 1_700_000_000},
    ]  # fmt: skip
    r = client.post("/feedback", json={"events": events})
    assert r.status_code == 200 and r.json() == {"accepted": 3}
    frame, malformed = read_events(tmp_path / "events.csv")
    assert not malformed
    assert frame["user"].tolist() == ["u1", 'new, "quoted" user', "u2"]
    assert frame["item"].tolist() == ["i01", "brand-new", "i02"]
    assert frame["category"].tolist() == ["beauty", "toys", "toys"]
    assert frame["timestamp"].iloc[1] == "2026-12-01T10:00:00+00:00"
    assert frame["timestamp"].iloc[2] == "1700000000"
    assert pd.Timestamp(frame["timestamp"].iloc[0]).tzinfo is not None  # the time it arrived


def test_feedback_events_read_back_as_xcat_feedback_reads_them(client, tmp_path):
    # ids that look like missing-value markers stay ids; numeric text is epoch seconds
    events = [
        {"user": "NA", "item": "NULL", "category": "toys", "timestamp": "1700000000"},
        {"user": "null", "item": "i01", "timestamp": -86400},
    ]
    assert client.post("/feedback", json={"events": events}).status_code == 200
    frame, malformed = read_events(tmp_path / "events.csv")
    assert not malformed
    assert frame["user"].tolist() == ["NA", "null"] and frame["item"].tolist() == ["NULL", "i01"]
    # a new item keeps the category it was first reported with
    r = client.post(
        "/feedback", json={"events": [{"user": "x", "item": "NULL", "category": "beauty"}]}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "category"
    r = client.post("/feedback", json={"events": [{"user": "x", "item": "NULL"}]})
    assert r.status_code == 200


def test_a_repeated_user_is_answered_once(rec, client):
    r = client.post("/recommend", json={"users": ["u3", "zz", "u3", "zz"], "n": 3})
    results = r.json()["results"]
    assert [x["user"] for x in results] == ["u3", "zz"]
    assert all([i["rank"] for i in x["items"]] == [1, 2, 3] for x in results)
    table = rec.recommend(["u3", "u1", "u3"], n=2)
    assert table["user"].tolist() == ["u3", "u3", "u1", "u1"]


def test_feedback_without_a_log_is_503(rec):
    with TestClient(create_app(rec)) as c:
        r = c.post("/feedback", json={"events": [{"user": "u1", "item": "i01"}]})
    assert r.status_code == 503 and "--events" in r.json()["detail"]


def test_unknown_default_category_is_refused(rec):
    with pytest.raises(ValueError, match="default_category"):
        create_app(rec, default_category=["garden"])


def test_the_openapi_schema_holds_against_generated_requests(rec, tmp_path):
    # schemathesis draws requests from the OpenAPI schema: no 5xx, answers fit their schema
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    log = EventLog(tmp_path / "fuzz.csv")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(rec, events=log))
    for operation in schema.get_all_operations():
        op = operation.ok()

        @given(case=op.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            # Every check but "schema-valid data is accepted": the schema cannot say that a
            # category must be one of the recommender's, or that a new item needs one.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
    log.close()


def test_serving_a_recommender_of_a_real_amazon_slice(tmp_path, data_dir):
    # Real reviewer ids and ASINs through the recommender the workflow builds, saved and
    # loaded as xcat serve does: the API answers what the library answers.
    from recommenders_real import real_slice_recommender

    built, protocol = real_slice_recommender(data_dir, "amazon5:beauty:toys", 800)
    vocab = protocol.data.vocab
    target = list(protocol.data.target_domain)
    rec = Recommender.load(built.save(tmp_path / "rec", extra={"target": target}))
    users = [*vocab.users.decode(protocol.test_cold.users[:5]), "not-a-reviewer"]
    with TestClient(create_app(rec, default_category=target)) as c:
        r = c.post("/recommend", json={"users": users, "n": 10})
        assert r.status_code == 200, r.text
        with pytest.warns(UserWarning):
            want = rec.recommend(users, n=10, category=target)
        for res in r.json()["results"]:
            part = want[want["user"] == res["user"]]
            assert [x["item"] for x in res["items"]] == part["item"].tolist()
            assert res["source"] == part["source"].iloc[0]
        beauty = rec.item_ids.ids[int(np.flatnonzero(rec.item_categories != target[0])[0])]
        r = c.get("/similar", params={"item": beauty, "n": 5})
        want = rec.similar_items(beauty, 5, category=target)
        assert [x["item"] for x in r.json()["similar"]] == want["similar"].tolist()
