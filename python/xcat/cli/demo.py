"""``xcat demo``: exact top-N retrieval on generated embeddings, timed."""

from __future__ import annotations

import time

import click
import numpy as np

import xcat
from xcat import _xcat
from xcat.cli.options import Command


def _clustered(rng: np.random.Generator, rows: int, centers: np.ndarray) -> np.ndarray:
    """Rows near random cluster centres, like trained embeddings of a catalogue."""
    labels = rng.integers(0, len(centers), size=rows)
    noise = rng.standard_normal((rows, centers.shape[1]), dtype=np.float32)
    return centers[labels] + 0.5 * noise


@click.command(cls=Command)
@click.option("--users", "n_users", default=1024, show_default=True, help="Number of queries.")
@click.option("--items", "n_items", default=200_000, show_default=True, help="Catalogue size.")
@click.option("--dim", default=64, show_default=True, help="Embedding dimension.")
@click.option("-n", "--top", "n", default=10, show_default=True, help="Items per user.")
@click.option("--metric", type=click.Choice(["cosine", "dot"]), default="cosine", show_default=True)
@click.option("--threads", type=int, default=None, help="Worker threads [default: all CPUs].")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
def demo(
    n_users: int,
    n_items: int,
    dim: int,
    n: int,
    metric: str,
    threads: int | None,
    seed: int,
) -> None:
    """Run xcat.topn on generated embeddings and check it against NumPy."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((64, dim), dtype=np.float32)
    users = _clustered(rng, n_users, centers)
    items = _clustered(rng, n_items, centers)
    threads_used = threads or xcat.default_threads()
    click.echo(
        f"xcat {xcat.__version__}: exact {metric} top-{n} of {n_items:,} items "
        f"for {n_users:,} users, d={dim}, {threads_used} threads, kernel {_xcat.isa()}"
    )

    xcat.topn(users[:1], items, n, metric=metric, num_threads=threads)  # warm-up
    start = time.perf_counter()
    result = xcat.topn(users, items, n, metric=metric, num_threads=threads)
    seconds = time.perf_counter() - start
    gflops = 2 * n_users * n_items * dim / seconds / 1e9
    click.echo(f"time: {seconds * 1e3:.1f} ms  ({gflops:.0f} GFLOP/s of similarity)")

    click.echo("\nfirst 3 users: item (score)")
    for u in range(min(3, n_users)):
        pairs = ", ".join(
            f"{i} ({s:.3f})"
            for i, s in zip(result.indices[u, :5], result.scores[u, :5], strict=True)
        )
        click.echo(f"  user {u}: {pairs}{', ...' if n > 5 else ''}")

    # Check a few users against a float64 NumPy reference.
    check = min(8, n_users)
    ref = users[:check].astype(np.float64) @ items.astype(np.float64).T
    if metric == "cosine":
        ref /= np.linalg.norm(users[:check], axis=1, keepdims=True)
        ref /= np.linalg.norm(items, axis=1)
    ref_top = -np.sort(-ref, axis=1)[:, :n]
    err = float(np.max(np.abs(ref_top - result.scores[:check])))
    click.echo(f"\nmax |score - float64 NumPy| over {check} users: {err:.2e}")
