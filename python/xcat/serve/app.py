"""The HTTP API of a saved recommender (FastAPI): recommend, similar items, feedback, health.

:func:`create_app` wraps a :class:`~xcat.recommend.Recommender` (loaded
without PyTorch) and, optionally, an :class:`~xcat.serve.events.EventLog`:

=========================  ==================================================
``GET  /health``           users, items, categories, whether feedback is on
``GET  /recommend``        one user: ``?user=&n=&category=&exclude_seen=``
``POST /recommend``        several users: ``{"users": [...], "n": ...}``
``GET  /similar``          items nearest to an item: ``?item=&n=&category=``
``POST /feedback``         ``{"events": [{"user", "item", ...}]}``, durable
=========================  ==================================================

Ids are strings or integers and are read in the recommender's own id type
(:meth:`xcat.data.IdMap.parse`, as the events file reader does): for a
model with string ids the integer ``5`` is the id ``"5"``; for one with
integer ids the text ``"5"`` is ``5`` and ``"abc"`` is refused. Categories
are matched by their text. Bad input gets a 4xx whose ``detail`` names the
field (``loc``, as FastAPI's own validation errors do); an unknown user gets
the most popular items (``source: "popular"``); an unknown item in
``/similar`` is a 404. The endpoints are plain functions run in FastAPI's
thread pool: :func:`xcat.topn` releases the GIL, so requests overlap.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from datetime import datetime, timezone
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

from xcat._xcat import __version__
from xcat.data.idmap import UnknownIdWarning
from xcat.data.parse import parse_event_timestamps
from xcat.recommend import Recommender
from xcat.serve.events import EventLog

__all__ = ["MAX_EVENTS", "MAX_N", "MAX_USERS", "create_app"]

#: Most items per list (``n``).
MAX_N = 1000
#: Most users per ``POST /recommend``.
MAX_USERS = 1000
#: Most events per ``POST /feedback``.
MAX_EVENTS = 10_000
# Ids: non-empty text without control characters or line separators (a line
# break would split an events-log line for readers that do not honour CSV
# quoting), or int64.
_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=_PRINTABLE)]
Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
Id = Text | Int64


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecommendRequest(_Strict):
    """Body of ``POST /recommend``."""

    users: list[Id] = Field(min_length=1, max_length=MAX_USERS, description="Raw user ids.")
    n: StrictInt = Field(10, ge=1, le=MAX_N, description="Items per user.")
    category: list[Id] | None = Field(
        None, description="Only items of these categories; default the target categories."
    )
    exclude_seen: StrictBool = Field(True, description="Leave out items the user has seen.")


class FeedbackEvent(_Strict):
    """One interaction reported back."""

    user: Id
    item: Id
    category: Id | None = Field(
        None, description="The item's category; required for an item the model does not know."
    )
    timestamp: Text | StrictInt | StrictFloat | None = Field(
        None, description="ISO 8601 or epoch seconds; default the time the server received it."
    )


class FeedbackRequest(_Strict):
    """Body of ``POST /feedback``."""

    events: list[FeedbackEvent] = Field(min_length=1, max_length=MAX_EVENTS)


#: Ids and categories in answers: the recommender's own type.
RawId = str | int


class RankedItem(BaseModel):
    """One item of a list."""

    rank: int
    item: RawId
    score: float
    category: RawId


class UserRecommendations(BaseModel):
    """One user's list; ``source`` is ``model`` or ``popular`` (the fallback for unknown users)."""

    user: RawId
    source: str
    items: list[RankedItem]


class RecommendResponse(BaseModel):
    """Body of the ``POST /recommend`` answer."""

    results: list[UserRecommendations]


class SimilarResponse(BaseModel):
    """Body of the ``/similar`` answer."""

    item: RawId
    similar: list[RankedItem]


class FeedbackResponse(BaseModel):
    """Body of the ``/feedback`` answer: events now on disk."""

    accepted: int


class FieldError(BaseModel):
    """Which field is wrong (``loc``) and why, as in FastAPI's validation errors."""

    loc: list[str | int]
    msg: str
    type: str


class Error(BaseModel):
    """Body of an error answer: the fields at fault, or one message."""

    detail: list[FieldError] | str


class Health(BaseModel):
    """Body of the ``/health`` answer."""

    status: str
    version: str
    users: int
    items: int
    categories: list[RawId]
    default_category: list[RawId] | None
    feedback: bool


def _invalid(loc: Sequence[str | int], msg: str, status: int = 422) -> HTTPException:
    """Return an error shaped like FastAPI's validation errors (``detail[0].loc``: the field)."""
    return HTTPException(status, detail=[{"loc": list(loc), "msg": msg, "type": "value_error"}])


def create_app(
    recommender: Recommender,
    *,
    events: EventLog | None = None,
    default_category: Sequence[Hashable] | None = None,
) -> FastAPI:
    """Build the HTTP API of a recommender.

    Parameters
    ----------
    recommender : Recommender
        What answers ``/recommend`` and ``/similar`` (e.g.
        ``Recommender.load("RUN/recommenders/freeze")``).
    events : EventLog, optional
        Where ``POST /feedback`` appends events (each answered only once
        the events are on disk); without it the endpoint answers 503.
    default_category : sequence of categories, optional
        The categories recommended when a request names none (the target
        categories of the run: a saved recommender's
        ``metadata["extra"]["target"]``); default every category.

    Returns
    -------
    fastapi.FastAPI
        Serve it with uvicorn (``xcat serve`` does), or test it with
        ``fastapi.testclient.TestClient``.

    Raises
    ------
    ValueError
        If a ``default_category`` is not a category of the recommender.

    Notes
    -----
    Installs one process-wide warnings filter: the recommender's
    :class:`~xcat.data.UnknownIdWarning` (issued from
    ``xcat.recommend.recommender``) is ignored, since each answer says which
    users were unknown (``source: "popular"``).
    """
    rec = recommender
    # Unknown users are answered with "source": "popular"; the recommender's
    # UnknownIdWarning for them is silenced once here, not per request:
    # warnings.catch_warnings is not thread-safe and requests run in threads.
    warnings.filterwarnings(
        "ignore", category=UnknownIdWarning, module=r"xcat\.recommend\.recommender"
    )
    by_text = {str(c): c for c in rec.categories()}
    defaults = None if default_category is None else list(default_category)
    if defaults is not None:
        unknown = [c for c in defaults if str(c) not in by_text]
        if unknown:
            raise ValueError(
                f"default_category: {unknown} not among the categories {sorted(by_text)}"
            )
    app = FastAPI(
        title="xcat",
        version=__version__,
        summary="Cross-category recommendation by transfer learning, exact top-N retrieval.",
    )

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input, which cannot be JSON when a
        # body holds NaN or Infinity (a 500): answer with loc, msg and type only.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": detail})

    # Categories of items new to the model, as first reported to this server:
    # a later event may not put the same new item in another category.
    new_items: dict[Hashable, Hashable] = {}

    def categories(values: list[Any] | None, loc: Sequence[str | int]) -> list[Hashable] | None:
        if not values:
            return defaults
        return [_known_category(by_text, v, [*loc, i]) for i, v in enumerate(values)]

    def ids(idmap: Any, values: Sequence[Any], loc: list[Any]) -> list[Hashable]:
        """Read ids in the map's type; ``loc`` names the field (a list field: with the index)."""
        parsed, bad = idmap.parse(pd.Series(list(values), dtype=object))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where = [*loc, i] if loc[-1] in ("users", "items") else list(loc)
            raise _invalid(where, f"expected a {idmap.kind} id, got {values[i]!r}")
        return parsed.tolist()

    def ranked(frame: pd.DataFrame, item_col: str) -> list[RankedItem]:
        if item_col == "item":  # a recommend table: the category from the item's row
            cats = rec.item_categories[frame["item_row"].to_numpy(dtype=np.int64)]
        else:
            cats = frame["category"].to_numpy()
        return [
            RankedItem(rank=int(r), item=_plain(i), score=float(sc), category=_plain(c))
            for r, i, sc, c in zip(
                frame["rank"], frame[item_col], frame["score"], cats, strict=True
            )
        ]

    def recommend(
        raw_users: Sequence[Any],
        n: int,
        category: list[Any] | None,
        exclude_seen: bool,
        loc: list[Any],
        cat_loc: list[Any],
    ) -> list[UserRecommendations]:
        users = ids(rec.user_ids, raw_users, loc)
        cats = categories(category, cat_loc)
        table = rec.recommend(users, n=n, category=cats, exclude_seen=exclude_seen)
        results = []
        for user, part in _blocks(table, users):
            source = str(part["source"].iloc[0]) if len(part) else _source(rec, user)
            results.append(
                UserRecommendations(user=_plain(user), source=source, items=ranked(part, "item"))
            )
        return results

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """Liveness and what the recommender holds."""
        return Health(
            status="ok",
            version=__version__,
            users=len(rec.user_ids),
            items=len(rec.item_ids),
            categories=[_plain(c) for c in rec.categories()],
            default_category=None if defaults is None else [_plain(c) for c in defaults],
            feedback=events is not None,
        )

    @app.get("/recommend", response_model=UserRecommendations)
    def recommend_one(
        user: Annotated[str, Query(min_length=1, max_length=512, pattern=_PRINTABLE)],
        n: Annotated[int, Query(ge=1, le=MAX_N)] = 10,
        category: Annotated[list[str] | None, Query()] = None,
        exclude_seen: bool = True,
    ) -> UserRecommendations:
        """Top-``n`` items for one user (unknown users get the most popular items)."""
        (one,) = recommend(
            [user], n, category, exclude_seen, ["query", "user"], ["query", "category"]
        )
        return one

    @app.post("/recommend", response_model=RecommendResponse)
    def recommend_many(body: Annotated[RecommendRequest, Body()]) -> RecommendResponse:
        """Top-``n`` items for each of several users, in the order given."""
        return RecommendResponse(
            results=recommend(
                body.users,
                body.n,
                body.category,
                body.exclude_seen,
                ["body", "users"],
                ["body", "category"],
            )
        )

    @app.get(
        "/similar",
        response_model=SimilarResponse,
        responses={404: {"model": Error, "description": "The item is not known."}},
    )
    def similar(
        item: Annotated[str, Query(min_length=1, max_length=512, pattern=_PRINTABLE)],
        n: Annotated[int, Query(ge=1, le=MAX_N)] = 10,
        category: Annotated[list[str] | None, Query()] = None,
        exclude_self: bool = True,
    ) -> SimilarResponse:
        """Items nearest to ``item`` (cosine, exact), e.g. target items like a source item."""
        (raw,) = ids(rec.item_ids, [item], ["query", "item"])
        if raw not in rec.item_ids:
            raise _invalid(["query", "item"], f"item {item!r} is not known", status=404)
        cats = categories(category, ["query", "category"])
        table = rec.similar_items([raw], n, category=cats, exclude_self=exclude_self)
        return SimilarResponse(item=_plain(raw), similar=ranked(table, "similar"))

    @app.post(
        "/feedback",
        response_model=FeedbackResponse,
        responses={503: {"model": Error, "description": "Feedback is off (no events log)."}},
    )
    def feedback(body: Annotated[FeedbackRequest, Body()]) -> FeedbackResponse:
        """Append interactions to the events log; answered once they are on disk."""
        if events is None:
            raise HTTPException(
                503, detail="feedback is off: start the server with an events log (--events)"
            )
        now = datetime.now(timezone.utc).isoformat()
        rows = []
        for i, ev in enumerate(body.events):
            loc = ["body", "events", i]
            (user,) = ids(rec.user_ids, [ev.user], [*loc, "user"])
            (item,) = ids(rec.item_ids, [ev.item], [*loc, "item"])
            rows.append(
                {
                    "user": user,
                    "item": item,
                    "category": _event_category(rec, by_text, new_items, item, ev.category, loc),
                    "timestamp": _timestamp(ev.timestamp, now, [*loc, "timestamp"]),
                }
            )
        accepted = events.append(rows)
        for row in rows:  # only once they are in the log
            if row["item"] not in rec.item_ids:
                new_items.setdefault(row["item"], row["category"])
        return FeedbackResponse(accepted=accepted)

    return app


def _known_category(by_text: dict[str, Hashable], value: Any, loc: list[Any]) -> Hashable:
    """Return the recommender's category whose text is ``value``; a 422 naming ``loc`` if none."""
    if str(value) not in by_text:
        raise _invalid(loc, f"unknown category {value!r}; the categories are {sorted(by_text)}")
    return by_text[str(value)]


def _event_category(
    rec: Recommender,
    by_text: dict[str, Hashable],
    new_items: dict[Hashable, Hashable],
    item: Hashable,
    given: Any,
    loc: list[Any],
) -> Hashable:
    """Return the event's category: the known item's own, or the given one for a new item.

    An item new to the model keeps the category it was first reported with
    (``new_items``); another one is refused.
    """
    row = rec.item_ids.encode([item])[0] if item in rec.item_ids else -1
    chosen = None if given is None else _known_category(by_text, given, [*loc, "category"])
    if row >= 0 or item in new_items:
        own = rec.item_categories[row] if row >= 0 else new_items[item]
        if given is not None and str(given) != str(own):
            raise _invalid(
                [*loc, "category"], f"item {item!r} is in category {own!r}, not {given!r}"
            )
        return own
    if chosen is None:
        raise _invalid([*loc, "category"], f"item {item!r} is new to the model: give its category")
    return chosen


def _timestamp(value: Any, now: str, loc: list[Any]) -> str | float:
    """Return the timestamp as given once the events reader can read it; None is ``now``.

    Checked by :func:`xcat.data.parse.parse_event_timestamps`, the reading
    ``xcat feedback`` applies to the log: epoch seconds (numbers or numeric
    text) with ``|t| < 9e9``, or ISO 8601 text within pandas' range.
    """
    if value is None:
        return now
    _, bad = parse_event_timestamps(pd.Series([value], dtype=object))
    if bad[0]:
        raise _invalid(loc, f"expected ISO 8601 or epoch seconds with |t| < 9e9, got {value!r}")
    return value


def _blocks(table: pd.DataFrame, users: list[Hashable]) -> list[tuple[Hashable, pd.DataFrame]]:
    """Split a recommend table into each distinct user's rows, in the order given."""
    groups = {u: g for u, g in table.groupby("user", sort=False)} if len(table) else {}
    return [(u, groups.get(u, table.iloc[:0])) for u in dict.fromkeys(users)]


def _source(rec: Recommender, user: Hashable) -> str:
    """``model`` for a known user, else ``popular`` (for users with an empty list)."""
    return "model" if user in rec.user_ids else "popular"


def _plain(value: Any) -> Any:
    """NumPy scalars as Python values, for JSON."""
    return value.item() if isinstance(value, np.generic) else value
