"""Benchmark ``xcat serve``: requests/s and latency of ``GET /recommend`` over loopback.

How to run, from the repository root::

    pip install ".[serve]"
    python benches/bench_serve.py                    # 1,000,000 items, 1 / 4 / 16 clients
    python benches/bench_serve.py --items 100000 --seconds 3 --clients 1,4

A synthetic recommender (seeded standard-normal float32 vectors, ``--dim``,
two categories of ``--items / 2`` items each, 5 seen items per user) is
saved to a temporary directory and served by ``xcat serve`` in a child
process (uvicorn, one worker) on a free loopback port. For each
concurrency ``c`` in ``--clients``, ``c`` client threads each hold one
keep-alive connection and send ``GET /recommend?user=<random known
user>&n=10`` back to back for ``--seconds`` (after a short warm-up); each
request recommends over the target category (``--items / 2`` items, exact
cosine, seen items excluded). The table gives completed requests per
second and the p50 / p99 latency seen by the clients. Every answer is
checked to be a 200 with ``n`` items. The run stops by itself: total time
is about ``len(clients) * (seconds + 1)`` plus the set-up.

Clients and server share this machine's cores (on 2 cores the numbers are
a lower bound of what a dedicated server does); the report prints the CPU
count so runs can be compared.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from xcat.data.idmap import IdMap
from xcat.recommend import Recommender


def build(n_users: int, n_items: int, dim: int, seed: int) -> Recommender:
    rng = np.random.default_rng(seed)
    seen = rng.integers(0, n_items, (n_users, 5))
    history = sp.csr_matrix(
        (np.ones(seen.size), seen.ravel(), np.arange(0, seen.size + 1, 5)),
        shape=(n_users, n_items),
    )
    history.sum_duplicates()
    return Recommender(
        rng.standard_normal((n_users, dim), dtype=np.float32),
        rng.standard_normal((n_items, dim), dtype=np.float32),
        user_ids=IdMap([f"u{i}" for i in range(n_users)], name="user"),
        item_ids=IdMap(np.arange(n_items), name="item"),
        item_categories=np.where(np.arange(n_items) < n_items // 2, "source", "target"),
        history=history,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start in time")


def client(port: int, n_users: int, n: int, until: float, seed: int, out: list, errors: list):
    rng = np.random.default_rng(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat = []
    while time.perf_counter() < until:
        t = time.perf_counter()
        conn.request("GET", f"/recommend?user=u{rng.integers(n_users)}&n={n}")
        r = conn.getresponse()
        body = r.read()
        lat.append(time.perf_counter() - t)
        if r.status != 200 or len(json.loads(body)["items"]) != n:
            errors.append((r.status, body[:200]))
    conn.close()
    out.extend(lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    clients = [int(c) for c in a.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        build(a.users, a.items, a.dim, a.seed).save(Path(tmp) / "rec", extra={"target": ["target"]})
        print(f"built and saved the recommender in {time.perf_counter() - t:.1f} s", flush=True)
        port = free_port()
        cmd = [sys.executable, "-c", "from xcat.cli import main; main()", "serve"]
        cmd += ["--model", str(Path(tmp) / "rec"), "--port", str(port), "--log-level", "error"]
        proc = subprocess.Popen(cmd)
        try:
            wait_up(port, proc)
            rows = []
            for c in clients:
                # warm-up (first requests, thread pool), then the timed window
                warm: list = []
                client(port, a.users, a.n, time.perf_counter() + 0.5, 99, warm, [])
                lat: list = []
                errors: list = []
                until = time.perf_counter() + a.seconds
                threads = [
                    threading.Thread(
                        target=client, args=(port, a.users, a.n, until, a.seed + i, lat, errors)
                    )
                    for i in range(c)
                ]
                start = time.perf_counter()
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                wall = time.perf_counter() - start
                if errors:
                    raise SystemExit(f"{len(errors)} bad answers, e.g. {errors[0]}")
                ms = np.asarray(lat) * 1e3
                p50, p99 = np.percentile(ms, [50, 99])
                rows.append((c, len(ms), len(ms) / wall, p50, p99))
                print(f"clients {c}: {len(ms)} requests", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"\nGET /recommend, {a.items:,} items ({a.items // 2:,} in the target category) x "
        f"{a.dim}, n={a.n}, {a.users:,} users, {os.cpu_count()} CPUs shared by server and clients\n"
    )
    print("| clients | requests | requests/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for c, count, rps, p50, p99 in rows:
        print(f"| {c} | {count} | {rps:.0f} | {p50:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
