"""``xcat serve``: a saved recommender over HTTP (FastAPI + uvicorn, the ``serve`` extra)."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from xcat.cli.options import Command


@click.command(cls=Command)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    required=True,
    help="Saved recommender directory (RUN/recommenders/STRATEGY, written by xcat quickstart).",
)
@click.option(
    "--events",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Feedback log that POST /feedback appends to (CSV, read by xcat feedback --events).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def serve(model_dir, events, host, port, log_level):
    """Serve a saved recommender: /recommend, /similar, /feedback, /health (docs at /docs)."""
    from xcat._extras import requires_extra
    from xcat.recommend import Recommender

    if not (model_dir / "recommender.json").is_file():
        saved = sorted(p.name for p in (model_dir / "recommenders").glob("*") if p.is_dir())
        hint = ""
        twin = model_dir.parent.parent / "recommenders" / model_dir.name
        if model_dir.parent.name == "models" and (twin / "recommender.json").is_file():
            hint = f"; it is a model folder: serve its recommender {twin}"
        elif saved:
            hint = f"; serve one of the run's recommenders: {model_dir / 'recommenders'}/" + (
                "{" + ",".join(saved) + "}"
            )
        raise click.BadParameter(
            f"{model_dir} is not a saved recommender (no recommender.json){hint}",
            param_hint="--model",
        )
    with requires_extra("xcat serve"):
        import uvicorn

        from xcat.serve import EventLog, create_app

    rec = Recommender.load(model_dir)
    target = rec.metadata.get("extra", {}).get("target")
    log = None
    if events is not None:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                log = EventLog(events)
        except ValueError as e:
            raise click.BadParameter(str(e).removeprefix("path: "), param_hint="--events") from e
        for w in caught:
            click.echo(f"warning: {w.message}", err=True)
    app = create_app(rec, events=log, default_category=target)
    click.echo(
        f"serving {model_dir} ({len(rec.user_ids):,} users, {len(rec.item_ids):,} items) "
        f"on http://{host}:{port} (API docs /docs); feedback: {events or 'off'}",
        err=True,
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        if log is not None:
            log.close()
