"""Benchmark ``xcat.topn`` against numpy, torch and faiss for exact cosine top-n.

How to run, from the repository root::

    pip install ".[bench]"                   # faiss-cpu, torch, threadpoolctl
    python benches/bench_topn.py --quick     # tiny shapes, a smoke test (~20 s)
    python benches/bench_topn.py             # full size: takes many minutes
    python benches/bench_topn.py --shapes 2,4 --methods xcat,faiss --threads 8 --out topn.md

Run it as a script (``python benches/bench_topn.py``), which puts ``benches/``
rather than the repository root on ``sys.path``, so the installed ``xcat`` is
the one measured; the report prints which file was imported.

Every method gets the same seeded data (float32 standard-normal users and
items) and the same thread count (``--threads``, default all CPUs available
to this process), set through ``torch.set_num_threads``,
``faiss.omp_set_num_threads``, ``threadpoolctl.threadpool_limits`` (numpy's
and faiss's BLAS, OpenMP) and ``num_threads=`` for xcat.

Methods
-------
xcat           ``xcat.topn(users, items, n, metric="cosine")`` on the raw arrays.
numpy          normalised vectors; users in blocks whose score block stays
               under ``--block-mb``; ``matmul`` + ``argpartition`` + sort of the
               n best (ties to the lower index).
torch          the same with torch (CPU) tensors: ``matmul`` + ``topk``.
torch-cuda     the same on a CUDA GPU (run only where torch sees one). Items are
               uploaded and normalised once (item prep, untimed); each timed
               call copies the users host->device, normalises them, runs the
               blocked ``matmul`` + ``topk`` (blocks under ``--gpu-block-mb``)
               and copies indices and scores back to the host, which
               synchronises. The notes give the GPU-side part alone (CUDA
               events) and the GPU memory peak. fp32 throughout (TF32 off).
faiss-default  ``IndexFlatIP`` on ``faiss.normalize_L2``-ed copies, faiss's
               default settings.
faiss-blas     the same with ``faiss.cvar.distance_compute_blas_threshold = 0``
               (faiss's BLAS path forced; the default is restored afterwards).
sgemm-numpy,   the ceiling: only the matmul of normalised users x items^T,
sgemm-torch    blocked like numpy, no selection. The table shows the faster of
               the two (``--methods sgemm`` runs both).

What is timed
-------------
The median wall time (``time.perf_counter``) of repeated calls after one
untimed warm-up call; repeats stop at ``--repeats`` or once the timed calls of
one method on one shape have used ``--time-budget`` seconds. Query-side work
(normalising users, the search, the selection) is timed. Item-side
preparation that a server would do once (normalising the items, building the
faiss index) is done before timing for numpy, torch, faiss and sgemm and shown
in the notes as "item prep"; xcat has no such step, so its time includes
whatever it does with the items on every call. This is the conservative
comparison for xcat.

Memory
------
Each (shape, method) runs in a fresh process (multiprocessing "spawn") that
regenerates the data from the seed. "peak extra MB" is the resident-set high
water mark (``VmHWM`` in ``/proc/self/status``) at the end minus the resident
set after the libraries are imported and the data generated (the high water
mark is reset there through ``/proc/self/clear_refs`` when the kernel allows
it). It includes item copies, indexes and score blocks.

Correctness
-----------
For a sample of users the parent process computes a float64 reference. A
method's row is correct when its indices are valid and distinct, each reported
score is within ``--tol`` of the float64 score of that item, and the float64
score of its j-th item is within ``--tol`` of the reference's j-th best score
(so indices may differ from the reference only among near-ties).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import multiprocessing
import os
import platform
import re
import statistics
import sys
import time
from collections import namedtuple

import numpy as np

Shape = namedtuple("Shape", ["users", "items", "dim", "n"])

DEFAULT_SHAPES = [
    Shape(1024, 1_000_000, 64, 10),
    Shape(10_000, 100_000, 64, 10),
    Shape(1024, 100_000, 128, 100),
    Shape(1, 1_000_000, 64, 10),
]
QUICK_SHAPES = [
    Shape(128, 20_000, 64, 10),
    Shape(1, 50_000, 128, 100),
]

# Method key -> (label in the table, module it needs besides numpy).
METHODS = {
    "xcat": ("xcat.topn", "xcat"),
    "xcat-dot": ("xcat.topn dot, normalised items", "xcat"),
    "numpy": ("numpy matmul + argpartition", "numpy"),
    "torch": ("torch matmul + topk", "torch"),
    "torch-cuda": ("torch matmul + topk, CUDA GPU", "torch.cuda"),
    "faiss-default": ("faiss IndexFlatIP, defaults", "faiss"),
    "faiss-blas": ("faiss IndexFlatIP, BLAS forced", "faiss"),
    "sgemm-numpy": ("sgemm alone (ceiling), numpy", "numpy"),
    "sgemm-torch": ("sgemm alone (ceiling), torch", "torch"),
}
METHOD_GROUPS = {
    "faiss": ["faiss-default", "faiss-blas"],
    "sgemm": ["sgemm-numpy", "sgemm-torch"],
}
FAISS_METHODS = ["faiss-default", "faiss-blas"]
SGEMM_METHODS = ["sgemm-numpy", "sgemm-torch"]
ENV_VARS = [
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "XCAT_NUM_THREADS",
    "FAISS_OPT_LEVEL",
]
ALWAYS_SHOWN_ENV_VARS = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
SAMPLE_USERS = 16


# ----------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Compare xcat.topn with numpy, torch and faiss (exact cosine top-n).",
    )
    parser.add_argument("--quick", action="store_true", help="tiny shapes, for a smoke test")
    parser.add_argument(
        "--shapes",
        help="comma-separated shape numbers (1-based, in the default or --quick list) or "
        "explicit shapes UxIxDxN, e.g. '1,3' or '1024x100_000x64x10'",
    )
    parser.add_argument(
        "--methods",
        help="comma-separated subset of: " + ", ".join([*METHODS, *METHOD_GROUPS]),
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per method (max)")
    parser.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="stop repeating once timed calls used this many seconds (default 20, quick 1)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for every library (default all CPUs)"
    )
    parser.add_argument(
        "--block-mb",
        type=float,
        default=None,
        help="max size of one users x items score block, MB (default 256, quick 1)",
    )
    parser.add_argument(
        "--gpu-block-mb",
        type=float,
        default=2048.0,
        help="max size of one users x items score block on the GPU (torch-cuda), MB",
    )
    parser.add_argument("--seed", type=int, default=0, help="data seed")
    parser.add_argument(
        "--tol", type=float, default=1e-5, help="absolute score tolerance vs float64"
    )
    parser.add_argument("--out", help="also write the report (markdown) to this file")
    args = parser.parse_args(argv)
    if args.time_budget is None:
        args.time_budget = 1.0 if args.quick else 20.0
    if args.block_mb is None:
        args.block_mb = 1.0 if args.quick else 256.0
    if args.threads is None:
        args.threads = len(os.sched_getaffinity(0))
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1")
    args.shape_list = parse_shapes(args.shapes, QUICK_SHAPES if args.quick else DEFAULT_SHAPES)
    args.method_list = parse_methods(args.methods)
    return args


def parse_shapes(text, defaults):
    """Turn '--shapes' into a list of Shape (numbers index ``defaults``, 1-based)."""
    if not text:
        return list(defaults)
    shapes = []
    for item in text.split(","):
        item = item.strip()
        if "x" in item:
            shape = Shape(*[int(part) for part in item.split("x")])
        else:
            shape = defaults[int(item) - 1]
        if min(shape) < 1 or shape.n > shape.items:
            raise SystemExit(f"bad shape {item!r}: need all >= 1 and n <= I")
        shapes.append(shape)
    return shapes


def parse_methods(text):
    """Turn '--methods' into an ordered list of method keys."""
    if not text:
        return list(METHODS)
    chosen = set()
    for item in text.split(","):
        item = item.strip()
        if item in METHOD_GROUPS:
            chosen.update(METHOD_GROUPS[item])
        elif item in METHODS:
            chosen.add(item)
        else:
            raise SystemExit(f"unknown method {item!r}; choose from {', '.join(METHODS)}")
    return [key for key in METHODS if key in chosen]


def module_available(name):
    """Whether ``import name`` would find a module, without importing it."""
    return importlib.util.find_spec(name) is not None


# ----------------------------------------------------------------------------
# Data and memory
# ----------------------------------------------------------------------------


def make_data(shape, seed):
    """Seeded float32 standard-normal users [U, d] and items [I, d]."""
    rng = np.random.default_rng(seed)
    users = rng.standard_normal((shape.users, shape.dim), dtype=np.float32)
    items = rng.standard_normal((shape.items, shape.dim), dtype=np.float32)
    return users, items


def sample_user_rows(num_users):
    """Evenly spread user rows checked against the float64 reference."""
    count = min(num_users, SAMPLE_USERS)
    return np.unique(np.linspace(0, num_users - 1, count).round().astype(np.int64))


def read_status_mb(field):
    """A memory field (e.g. 'VmHWM', 'VmRSS') of /proc/self/status, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss():
    """Reset VmHWM to the current resident set; False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def block_rows(num_users, num_items, block_mb):
    """Users per block so that one float32 score block stays under block_mb."""
    rows = int(block_mb * 2**20) // (4 * num_items)
    return max(1, min(num_users, rows))


# ----------------------------------------------------------------------------
# Methods. Each prepare_* does the untimed item-side work and returns
# (run, notes): run() does the timed query-side work and returns
# (indices, scores) as numpy arrays, or None for sgemm (no selection).
# ----------------------------------------------------------------------------


def prepare_xcat(users, items, shape, config):
    """xcat.topn on the raw arrays; nothing to prepare."""
    import xcat

    def run():
        result = xcat.topn(users, items, shape.n, metric="cosine", num_threads=config["threads"])
        return result.indices, result.scores

    return run, []


def prepare_xcat_dot(users, items, shape, config):
    """Like faiss's IndexFlatIP: normalise items once; per call: normalise users, dot top-n."""
    import xcat

    items_n = numpy_normalise(items)

    def run():
        result = xcat.topn(
            numpy_normalise(users), items_n, shape.n, metric="dot", num_threads=config["threads"]
        )
        return result.indices, result.scores

    return run, []


def numpy_normalise(x):
    """Rows of x divided by their L2 norm (a new float32 array)."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def numpy_topn_block(scores, n):
    """Top-n (indices, scores) of each row, sorted desc, ties to the lower index."""
    num_cols = scores.shape[1]
    best = np.argpartition(scores, num_cols - n, axis=1)[:, num_cols - n :]
    best.sort(axis=1)  # ascending index, so the stable sort below keeps ties in index order
    best_scores = np.take_along_axis(scores, best, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1), np.take_along_axis(best_scores, order, axis=1)


def prepare_numpy(users, items, shape, config):
    """Normalise items once; per call: normalise users, blocked matmul + argpartition."""
    items_n = numpy_normalise(items)
    rows = block_rows(shape.users, shape.items, config["block_mb"])
    buffer = np.empty((rows, shape.items), dtype=np.float32)

    def run():
        users_n = numpy_normalise(users)
        indices = np.empty((shape.users, shape.n), dtype=np.int64)
        scores = np.empty((shape.users, shape.n), dtype=np.float32)
        for start in range(0, shape.users, rows):
            stop = min(shape.users, start + rows)
            block = np.matmul(users_n[start:stop], items_n.T, out=buffer[: stop - start])
            indices[start:stop], scores[start:stop] = numpy_topn_block(block, shape.n)
        return indices, scores

    return run, [f"{rows} users/block"]


def _blocked_topk(users_n, items_n, buffer, n, indices, scores):
    """Fill ``indices``/``scores`` with each user's top n: matmul + topk per block of users.

    ``buffer`` (rows x items, on the items' device) bounds the score block.
    """
    import torch

    rows = buffer.shape[0]
    for start in range(0, len(users_n), rows):
        stop = min(len(users_n), start + rows)
        block = torch.matmul(users_n[start:stop], items_n.T, out=buffer[: stop - start])
        top = torch.topk(block, n, dim=1, largest=True, sorted=True)
        scores[start:stop] = top.values
        indices[start:stop] = top.indices


def prepare_torch(users, items, shape, config):
    """Normalise items once; per call: normalise users, blocked matmul + topk."""
    import torch
    import torch.nn.functional as F

    items_n = F.normalize(torch.from_numpy(items), dim=1)
    users_t = torch.from_numpy(users)
    rows = block_rows(shape.users, shape.items, config["block_mb"])
    buffer = torch.empty((rows, shape.items), dtype=torch.float32)

    def run():
        users_n = F.normalize(users_t, dim=1)
        indices = torch.empty((shape.users, shape.n), dtype=torch.int64)
        scores = torch.empty((shape.users, shape.n), dtype=torch.float32)
        _blocked_topk(users_n, items_n, buffer, shape.n, indices, scores)
        return indices.numpy(), scores.numpy()

    return run, [f"{rows} users/block"]


def prepare_faiss(users, items, shape, config, blas_threshold=None):
    """Build IndexFlatIP on normalised item copies; per call: normalise a query copy, search.

    With ``blas_threshold`` set, faiss's threshold is set to it for the search
    and restored afterwards.
    """
    import faiss

    index = faiss.IndexFlatIP(shape.dim)
    items_n = items.copy()
    faiss.normalize_L2(items_n)
    index.add(items_n)
    del items_n  # the index holds its own copy

    def search():
        queries = users.copy()
        faiss.normalize_L2(queries)
        scores, indices = index.search(queries, shape.n)
        return indices, scores

    def run():
        if blas_threshold is None:
            return search()
        default = faiss.cvar.distance_compute_blas_threshold
        faiss.cvar.distance_compute_blas_threshold = blas_threshold
        try:
            return search()
        finally:
            faiss.cvar.distance_compute_blas_threshold = default

    threshold = faiss.cvar.distance_compute_blas_threshold
    kernel = f"BLAS kernel {faiss_blas_kernel()}"
    if blas_threshold is not None:
        return run, [f"threshold {blas_threshold} (default {threshold}, restored)", kernel]
    return run, [f"threshold {threshold} (default)", kernel]


def prepare_faiss_default(users, items, shape, config):
    """faiss with its default settings."""
    return prepare_faiss(users, items, shape, config)


def prepare_faiss_blas(users, items, shape, config):
    """faiss with the BLAS path forced (threshold 0)."""
    return prepare_faiss(users, items, shape, config, blas_threshold=0)


def prepare_sgemm_numpy(users, items, shape, config):
    """Ceiling: blocked numpy matmul of pre-normalised arrays, no selection."""
    users_n = numpy_normalise(users)
    items_n = numpy_normalise(items)
    rows = block_rows(shape.users, shape.items, config["block_mb"])
    buffer = np.empty((rows, shape.items), dtype=np.float32)

    def run():
        for start in range(0, shape.users, rows):
            stop = min(shape.users, start + rows)
            np.matmul(users_n[start:stop], items_n.T, out=buffer[: stop - start])

    return run, [f"{rows} users/block"]


def prepare_sgemm_torch(users, items, shape, config):
    """Ceiling: blocked torch matmul of pre-normalised tensors, no selection."""
    import torch
    import torch.nn.functional as F

    users_n = F.normalize(torch.from_numpy(users), dim=1)
    items_n = F.normalize(torch.from_numpy(items), dim=1)
    rows = block_rows(shape.users, shape.items, config["block_mb"])
    buffer = torch.empty((rows, shape.items), dtype=torch.float32)

    def run():
        for start in range(0, shape.users, rows):
            stop = min(shape.users, start + rows)
            torch.matmul(users_n[start:stop], items_n.T, out=buffer[: stop - start])

    return run, [f"{rows} users/block"]


def prepare_torch_cuda(users, items, shape, config):
    """Items to the GPU and normalised once; per call: users host->device, blocked
    matmul + topk on the GPU, results device->host (timed end to end)."""
    import torch
    import torch.nn.functional as F

    device = torch.device("cuda")
    items_n = F.normalize(torch.from_numpy(items).to(device), dim=1)
    rows = block_rows(shape.users, shape.items, config["gpu_block_mb"])
    buffer = torch.empty((rows, shape.items), dtype=torch.float32, device=device)
    indices = torch.empty((shape.users, shape.n), dtype=torch.int64, device=device)
    scores = torch.empty((shape.users, shape.n), dtype=torch.float32, device=device)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    gpu_ms = []

    def run():
        users_n = F.normalize(torch.from_numpy(users).to(device), dim=1)
        begin = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        begin.record()
        _blocked_topk(users_n, items_n, buffer, shape.n, indices, scores)
        end.record()
        result = indices.cpu().numpy(), scores.cpu().numpy()  # the copies synchronise
        gpu_ms.append(begin.elapsed_time(end))
        return result

    def after_notes():
        timed = gpu_ms[1:] or gpu_ms  # the first call is the untimed warm-up
        return [
            f"of which matmul + topk on the GPU {statistics.median(timed):.3g} ms (CUDA events); "
            "the rest is users H2D, normalising, results D2H, Python",
            f"GPU peak {torch.cuda.max_memory_allocated() / 2**20:,.0f} MB allocated",
        ]

    run.after_notes = after_notes
    name = torch.cuda.get_device_name(device)
    return run, [f"{name}", f"{rows} users/block"]


PREPARE = {
    "xcat": prepare_xcat,
    "xcat-dot": prepare_xcat_dot,
    "numpy": prepare_numpy,
    "torch": prepare_torch,
    "torch-cuda": prepare_torch_cuda,
    "faiss-default": prepare_faiss_default,
    "faiss-blas": prepare_faiss_blas,
    "sgemm-numpy": prepare_sgemm_numpy,
    "sgemm-torch": prepare_sgemm_torch,
}


# ----------------------------------------------------------------------------
# One (shape, method) case, run in a fresh process
# ----------------------------------------------------------------------------


def match_numpy_blas_kernel():
    """Give faiss's bundled OpenBLAS the kernel numpy's newer OpenBLAS detects.

    faiss-cpu wheels ship an older OpenBLAS that may not recognise a recent
    CPU and fall back to generic (Prescott, SSE3) kernels, several times
    slower; its best configuration here is with OPENBLAS_CORETYPE set. Only
    done when the variable is unset, and only in faiss's own process.
    """
    if os.environ.get("OPENBLAS_CORETYPE"):
        return
    from threadpoolctl import threadpool_info

    kernels = [
        info.get("architecture")
        for info in threadpool_info()
        if info.get("internal_api") == "openblas" and "numpy" in info.get("filepath", "")
    ]
    if kernels and kernels[0] and kernels[0] != "Prescott":
        os.environ["OPENBLAS_CORETYPE"] = kernels[0]


def faiss_blas_kernel():
    """The kernel faiss's OpenBLAS runs (after :func:`match_numpy_blas_kernel`)."""
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("internal_api") == "openblas" and "faiss" in info.get("filepath", ""):
            return info.get("architecture")
    return None


def import_and_set_threads(method, threads):
    """Import the method's library and give it ``threads`` threads."""
    module = METHODS[method][1]
    if module in ("torch", "torch.cuda"):
        import torch

        torch.set_num_threads(threads)
        if module == "torch.cuda":
            torch.backends.cuda.matmul.allow_tf32 = False  # exact fp32, like the CPU methods
            torch.zeros(1, device="cuda")  # create the CUDA context before the memory baseline
    elif module == "faiss":
        match_numpy_blas_kernel()
        import faiss

        faiss.omp_set_num_threads(threads)
    elif module == "xcat":
        import xcat  # noqa: F401


def time_calls(run, repeats, time_budget):
    """One untimed warm-up call, then timed calls; returns (times_s, last result)."""
    result = run()
    times = []
    while len(times) < repeats and sum(times) < time_budget:
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return times, result


def run_case(method, shape, config):
    """Measure one method on one shape; meant to run in a fresh process."""
    from threadpoolctl import threadpool_limits

    import_and_set_threads(method, config["threads"])
    with threadpool_limits(limits=config["threads"]):
        users, items = make_data(shape, config["seed"])
        baseline_mb = read_status_mb("VmRSS")
        hwm_was_reset = reset_peak_rss()

        start = time.perf_counter()
        run, notes = PREPARE[method](users, items, shape, config)
        prep_s = time.perf_counter() - start

        times, result = time_calls(run, config["repeats"], config["time_budget"])
        peak_extra_mb = read_status_mb("VmHWM") - baseline_mb
        if hasattr(run, "after_notes"):
            notes = [*notes, *run.after_notes()]

    sample = None
    if result is not None:
        rows = sample_user_rows(shape.users)
        indices, scores = result
        sample = (np.array(indices[rows]), np.array(scores[rows]))
    return {
        "times": times,
        "prep_s": prep_s if method != "xcat" else None,
        "peak_extra_mb": peak_extra_mb,
        "hwm_was_reset": hwm_was_reset,
        "notes": notes,
        "sample": sample,
    }


def run_in_fresh_process(function, *args):
    """Call function(*args) in a new 'spawn' process; returns its result or raises."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


# ----------------------------------------------------------------------------
# Correctness against a float64 reference
# ----------------------------------------------------------------------------


def reference_scores(shape, seed):
    """Float64 cosine scores [S, I] of the sampled users against all items."""
    users, items = make_data(shape, seed)
    queries = users[sample_user_rows(shape.users)].astype(np.float64)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    scores = np.empty((len(queries), shape.items), dtype=np.float64)
    chunk = 65_536
    for start in range(0, shape.items, chunk):
        block = items[start : start + chunk].astype(np.float64)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        scores[:, start : start + chunk] = queries @ block.T
    return scores


def check_sample(sample, ref_scores, n, tol):
    """'yes', 'yes (k near-tie swaps)' or 'NO: reason' for one method's sampled rows."""
    indices, scores = sample
    if indices.shape != (ref_scores.shape[0], n):
        return f"NO: shape {indices.shape}"
    if (indices < 0).any() or (indices >= ref_scores.shape[1]).any():
        return "NO: index out of range"
    if any(len(set(row.tolist())) != n for row in indices):
        return "NO: repeated index"
    exact = np.take_along_axis(ref_scores, indices, axis=1)
    ref_order = np.argsort(-ref_scores, axis=1, kind="stable")[:, :n]
    ref_top = np.take_along_axis(ref_scores, ref_order, axis=1)
    score_error = np.abs(scores.astype(np.float64) - exact).max()
    if score_error > tol:
        return f"NO: score off by {score_error:.1e}"
    rank_error = np.abs(exact - ref_top).max()
    if rank_error > tol:
        return f"NO: wrong item, {rank_error:.1e} below reference"
    swaps = int((indices != ref_order).sum())
    return "yes" if swaps == 0 else f"yes ({swaps} near-tie swaps)"


# ----------------------------------------------------------------------------
# Environment description
# ----------------------------------------------------------------------------


def cpu_model():
    """CPU model name from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def total_memory_gb():
    """MemTotal from /proc/meminfo, in GB."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def collect_environment(threads):
    """Library versions and BLAS details; meant to run in a fresh process."""
    import threadpoolctl

    env = {"numpy": np.__version__, "threadpoolctl": threadpoolctl.__version__}
    try:
        import xcat

        env["xcat"] = f"{getattr(xcat, '__version__', '?')} ({xcat.__file__})"
        env["xcat default_threads"] = xcat.default_threads()
    except ImportError as error:
        env["xcat"] = f"not importable: {error}"
    try:
        import faiss

        env["faiss"] = faiss.__version__
        env["faiss default distance_compute_blas_threshold"] = (
            faiss.cvar.distance_compute_blas_threshold
        )
        env["faiss compile options"] = faiss.get_compile_options().strip()
    except ImportError:
        env["faiss"] = "not installed (skipped)"
    try:
        import torch

        match = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
        env["torch"] = torch.__version__
        env["torch BLAS"] = match.group(1) if match else "?"
        env["torch CPU capability"] = torch.backends.cpu.get_cpu_capability()
        env["torch CUDA device"] = (
            f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
            if torch.cuda.is_available()
            else "none"
        )
    except ImportError:
        env["torch"] = "not installed (skipped)"
    env["threadpoolctl libraries"] = [
        describe_native_library(info) for info in threadpoolctl.threadpool_info()
    ]
    return env


def describe_native_library(info):
    """One line for a threadpoolctl entry: which package ships it, version, kernel."""
    parts = info["filepath"].split(os.sep)
    owner = parts[parts.index("site-packages") + 1] if "site-packages" in parts else "system"
    words = [f"{owner}: {info['prefix']}"]
    if info.get("version"):
        words.append(info["version"])
    if info.get("architecture"):
        words.append(f"kernel={info['architecture']}")
    if info.get("threading_layer"):
        words.append(f"threading={info['threading_layer']}")
    words.append(f"threads={info['num_threads']}")
    return " ".join(words)


def header_lines(args, env):
    """Markdown lines describing the machine, libraries and command line."""
    lines = [
        "# xcat.topn benchmark (exact cosine top-n)",
        "",
        f"- command: `{' '.join([os.path.basename(sys.executable), *sys.argv])}`",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical CPUs "
        f"({len(os.sched_getaffinity(0))} usable), {total_memory_gb():.1f} GB RAM; "
        f"load average at start {os.getloadavg()[0]:.2f}",
        f"- python {platform.python_version()}, {platform.platform()}",
        f"- threads for every library: {args.threads}; seed {args.seed}; "
        f"repeats <= {args.repeats}, <= {args.time_budget:g} s timed per method and shape; "
        f"score blocks <= {args.block_mb:g} MB",
    ]
    for key, value in env.items():
        if isinstance(value, list):
            lines.append(f"- {key}:")
            lines.extend(f"    - {item}" for item in value)
        else:
            lines.append(f"- {key}: {value}")
    for name in ENV_VARS:
        if name in ALWAYS_SHOWN_ENV_VARS or name in os.environ:
            lines.append(f"- env {name}={os.environ.get(name, '(unset)')}")
    return lines


# ----------------------------------------------------------------------------
# Table
# ----------------------------------------------------------------------------


def shape_label(shape):
    """'1024 x 1,000,000 x 64, n=10'."""
    return f"{shape.users:,} x {shape.items:,} x {shape.dim}, n={shape.n}"


def gflops(shape, seconds):
    """2 U I d / t, in GFLOP/s."""
    return 2.0 * shape.users * shape.items * shape.dim / seconds / 1e9


def format_ms(seconds):
    """Milliseconds with about three significant digits."""
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def pick_sgemm_ceiling(outcomes):
    """Keep the faster sgemm row; mention the slower (or skipped) one in its notes."""
    timed = [key for key in SGEMM_METHODS if outcomes.get(key, {}).get("times")]
    if len(timed) == 1:
        for key in SGEMM_METHODS:
            if key in outcomes and key not in timed:
                skipped = outcomes.pop(key)
                outcomes[timed[0]]["notes"].append(f"{key}: {skipped['skipped']}")
    if len(timed) < 2:
        return outcomes
    medians = {key: statistics.median(outcomes[key]["times"]) for key in timed}
    fastest = min(timed, key=medians.get)
    for key in timed:
        if key != fastest:
            other = outcomes.pop(key)
            outcomes[fastest]["notes"].append(
                f"{key.split('-')[1]}: {format_ms(statistics.median(other['times']))} ms"
            )
    return outcomes


def table_rows(shape, outcomes):
    """Markdown table rows for one shape."""
    faiss_medians = [
        statistics.median(outcomes[key]["times"])
        for key in FAISS_METHODS
        if outcomes.get(key, {}).get("times")
    ]
    best_faiss = min(faiss_medians) if faiss_medians else None
    rows = []
    for key, outcome in outcomes.items():
        label = METHODS[key][0]
        if "skipped" in outcome:
            rows.append(
                [shape_label(shape), label, "-", "-", "-", "-", "-", "0", outcome["skipped"]]
            )
            continue
        times = outcome["times"]
        median = statistics.median(times)
        notes = list(outcome["notes"])
        if outcome["prep_s"] is not None:
            notes.append(f"item prep {format_ms(outcome['prep_s'])} ms untimed")
        if len(times) > 1:
            notes.append(f"range {format_ms(min(times))}-{format_ms(max(times))} ms")
        if not outcome["hwm_was_reset"]:
            notes.append("peak not reset")
        ratio = f"{median / best_faiss:.2f}" if best_faiss else "-"
        rows.append(
            [
                shape_label(shape),
                label,
                format_ms(median),
                f"{gflops(shape, median):.1f}",
                f"{outcome['peak_extra_mb']:.0f}",
                ratio,
                outcome["correct"],
                str(len(times)),
                "; ".join(notes),
            ]
        )
    return rows


def markdown_table(rows):
    """A markdown table with the benchmark's columns."""
    columns = [
        "shape (U x I x d, n)",
        "method",
        "median ms",
        "GFLOP/s",
        "peak extra MB",
        "time / best faiss",
        "correct",
        "runs",
        "notes",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def footer_lines(args, env):
    """Notes printed under the table."""
    threshold = env.get("faiss default distance_compute_blas_threshold", "?")
    return [
        "",
        "Notes:",
        "- median ms: median wall time of the timed calls (warm-up excluded); "
        "GFLOP/s = 2*U*I*d / median.",
        "- Item-side preparation (normalised item copy, faiss index) is untimed for "
        "numpy/torch/faiss/sgemm (see 'item prep'); xcat.topn takes the raw arrays "
        "and its time includes all its work.",
        f"- faiss's default distance_compute_blas_threshold is {threshold} here: faiss "
        "uses BLAS only when the number of queries is at least this; 'BLAS forced' "
        "sets it to 0 for the search and restores it.",
        "- torch-cuda: per call, users host->device, normalise, blocked matmul + topk on the "
        "GPU, indices and scores device->host; item upload and normalisation untimed (item "
        f"prep); GPU score blocks <= {args.gpu_block_mb:g} MB; peak extra MB is host memory.",
        "- sgemm alone: only the blocked matmul of pre-normalised users x items^T (no "
        "selection), the faster of numpy and torch; a ceiling for matmul-based methods.",
        "- peak extra MB: VmHWM at the end minus VmRSS after imports and data "
        "generation, in a fresh process per (shape, method).",
        f"- correct: sampled users (up to {SAMPLE_USERS}) vs a float64 reference, "
        f"tolerance {args.tol:g} absolute; indices may differ only among near-ties.",
        f"- load average at end {os.getloadavg()[0]:.2f} (the machine may be shared).",
    ]


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------


def measure_shape(shape, args, available):
    """Run every chosen method on one shape; returns {method: outcome}."""
    config = {
        "threads": args.threads,
        "block_mb": args.block_mb,
        "seed": args.seed,
        "repeats": args.repeats,
        "time_budget": args.time_budget,
        "gpu_block_mb": args.gpu_block_mb,
    }
    outcomes = {}
    for method in args.method_list:
        module = METHODS[method][1]
        if not available[module]:
            why = "no CUDA device" if module == "torch.cuda" else f"{module} not installed"
            outcomes[method] = {"skipped": f"skipped: {why}"}
            continue
        print(f"[{shape_label(shape)}] {method} ...", end=" ", file=sys.stderr, flush=True)
        try:
            outcome = run_in_fresh_process(run_case, method, shape, config)
        except Exception as error:  # a failing method must not stop the others
            outcomes[method] = {"skipped": f"failed: {type(error).__name__}: {error}"}
            print("failed", file=sys.stderr)
            continue
        print(f"{format_ms(statistics.median(outcome['times']))} ms", file=sys.stderr)
        outcomes[method] = outcome
    return outcomes


def add_correctness(shape, outcomes, args):
    """Fill each outcome's 'correct' field from a float64 reference."""
    if not any(outcome.get("sample") is not None for outcome in outcomes.values()):
        ref = None
    else:
        ref = reference_scores(shape, args.seed)
    for outcome in outcomes.values():
        if "skipped" in outcome:
            continue
        if outcome["sample"] is None:
            outcome["correct"] = "n/a"
        else:
            outcome["correct"] = check_sample(outcome["sample"], ref, shape.n, args.tol)


def main(argv=None):
    """Run the benchmark and print the report."""
    args = parse_args(argv)
    available = {name: module_available(name) for name in ("numpy", "xcat", "torch", "faiss")}
    env = run_in_fresh_process(collect_environment, args.threads)
    available["torch.cuda"] = env.get("torch CUDA device", "none") != "none"
    lines = header_lines(args, env)
    for name in ("torch", "faiss", "xcat"):
        if not available[name]:
            lines.append(f"- note: {name} is not installed; its methods are skipped")
    if not available["torch.cuda"] and "torch-cuda" in args.method_list:
        lines.append("- note: torch sees no CUDA device; torch-cuda is skipped")
        if not args.methods:  # not asked for by name: leave its rows out
            args.method_list.remove("torch-cuda")

    rows = []
    for shape in args.shape_list:
        outcomes = measure_shape(shape, args, available)
        add_correctness(shape, outcomes, args)
        rows.extend(table_rows(shape, pick_sgemm_ceiling(outcomes)))

    lines += ["", *markdown_table(rows), *footer_lines(args, env)]
    report = "\n".join(lines) + "\n"
    print(report, end="")
    if args.out:
        with open(args.out, "w") as out:
            out.write(report)


if __name__ == "__main__":
    main()
