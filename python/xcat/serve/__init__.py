"""Serving over HTTP: a FastAPI app around a saved recommender, with a durable feedback log.

Needs the ``serve`` extra (``pip install "xcat[serve]"``: FastAPI, uvicorn);
no PyTorch. :func:`create_app` builds the app, :class:`EventLog` is the
feedback log it appends to, and ``xcat serve`` runs both under uvicorn.
"""

from xcat.serve.app import create_app
from xcat.serve.events import EVENT_COLUMNS, EventLog

__all__ = ["EVENT_COLUMNS", "EventLog", "create_app"]
