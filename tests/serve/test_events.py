"""The feedback log: whole lines only, under threads, processes, full disks and kill -9."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from xcat.data.idmap import IdMap
from xcat.recommend import Recommender
from xcat.serve.events import EVENT_COLUMNS, EventLog

HEADER = ",".join(EVENT_COLUMNS)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_a_new_log_gets_the_header_and_events_round_trip_through_csv(tmp_path):
    with EventLog(tmp_path / "e.csv") as log:
        assert log.append([{"user": 'a,"b"', "item": 7, "category": None, "timestamp": 1.5}]) == 1
        assert log.append([]) == 0
    assert rows(tmp_path / "e.csv") == [list(EVENT_COLUMNS), ['a,"b"', "7", "", "1.5"]]


def test_a_file_that_is_not_a_log_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("user,item\nu,i\n")
    with pytest.raises(ValueError, match="path: .* is not an xcat events log"):
        EventLog(path)
    assert path.read_text() == "user,item\nu,i\n"
    with pytest.raises(ValueError, match="is a directory"):
        EventLog(tmp_path)


def test_a_torn_last_line_is_cut_at_open_with_a_warning(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(f"{HEADER}\nu1,i1,toys,1\nu2,i2,to")
    with pytest.warns(RuntimeWarning, match="torn last line of 8 bytes"):
        log = EventLog(path)
    log.append([{"user": "u3", "item": "i3", "category": "toys", "timestamp": 2}])
    log.close()
    assert path.read_text() == f"{HEADER}\nu1,i1,toys,1\nu3,i3,toys,2\n"


def test_an_event_without_user_or_item_writes_nothing(tmp_path):
    with EventLog(tmp_path / "e.csv") as log:
        with pytest.raises(ValueError, match=r"events\[1\]: has no 'item'"):
            log.append([{"user": "u", "item": "i"}, {"user": "u"}])
    assert rows(tmp_path / "e.csv") == [list(EVENT_COLUMNS)]


def test_a_write_that_fails_part_way_leaves_no_partial_line(tmp_path, monkeypatch):
    # a full disk: the first write call stores some bytes, the next one fails
    path = tmp_path / "e.csv"
    log = EventLog(path)
    real_write, calls = os.write, []

    def short_then_enospc(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:5]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_enospc)
    with pytest.raises(OSError, match="No space"):
        log.append([{"user": "u1", "item": "i1"}, {"user": "u2", "item": "i2"}])
    monkeypatch.setattr(os, "write", real_write)
    log.append([{"user": "u3", "item": "i3"}])
    log.close()
    assert rows(path) == [list(EVENT_COLUMNS), ["u3", "i3", "", ""]]


def test_threads_and_processes_never_interleave_lines(tmp_path):
    path = tmp_path / "e.csv"
    writer = (
        "import sys\nfrom xcat.serve.events import EventLog\n"
        "log = EventLog(sys.argv[1])\n"
        "for k in range(200):\n"
        "    log.append([{'user': f'p{sys.argv[2]}-{k}', 'item': 'x' * 3000, 'category': 'c',"
        " 'timestamp': k} for _ in range(3)])\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(path), str(p)]) for p in range(2)]
    log = EventLog(path)

    def burst(t):
        for k in range(200):
            log.append([{"user": f"t{t}-{k}", "item": "y" * 3000, "category": "c", "timestamp": k}])

    threads = [threading.Thread(target=burst, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(p.wait(timeout=120) == 0 for p in procs)
    log.close()
    got = rows(path)[1:]
    assert len(got) == 2 * 200 * 3 + 4 * 200
    assert all(len(r) == 4 and r[1] in ("x" * 3000, "y" * 3000) for r in got)
    users = [r[0] for r in got]
    assert sorted(set(users)) == sorted(
        {f"p{p}-{k}" for p in range(2) for k in range(200)}
        | {f"t{t}-{k}" for t in range(4) for k in range(200)}
    )


# ------------------------------------------------------------------ kill -9 of a server


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port, body):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/feedback",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, json.loads(r.read())


def test_no_acknowledged_event_is_lost_when_the_server_is_killed(tmp_path):
    pytest.importorskip("uvicorn", reason="the serve extra is not installed")
    rng = np.random.default_rng(0)
    rec = Recommender(
        rng.standard_normal((3, 4)).astype(np.float32),
        rng.standard_normal((5, 4)).astype(np.float32),
        user_ids=IdMap(["a", "b", "c"], name="user"),
        item_ids=IdMap([f"i{i}" for i in range(5)], name="item"),
        item_categories=["toys"] * 5,
        history=sp.csr_matrix((3, 5)),
    )
    rec.save(tmp_path / "rec", extra={"target": ["toys"]})
    log, port = tmp_path / "events.csv", _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from xcat.cli import main; main()", "serve",
         "--model", tmp_path / "rec", "--events", log, "--port", str(port),
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"the server did not start: {server.stderr.read().decode()}")
                time.sleep(0.2)
        acked, stop = [], threading.Event()
        lock = threading.Lock()

        def client(c):
            k = 0
            while not stop.is_set():
                batch = [{"user": f"c{c}-{k}-{j}", "item": f"i{j % 5}"} for j in range(5)]
                try:
                    status, body = _post(port, {"events": batch})
                except (urllib.error.URLError, ConnectionError, OSError):
                    return  # the server is gone: this batch was never acknowledged
                assert status == 200 and body == {"accepted": 5}
                with lock:
                    acked.extend(e["user"] for e in batch)
                k += 1

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(client, c) for c in range(8)]
            while len(acked) < 400 and time.monotonic() < deadline + 60:
                time.sleep(0.02)
            server.send_signal(signal.SIGKILL)  # mid-burst: requests are in flight
            server.wait(timeout=30)
            stop.set()
            for f in futures:
                f.result()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert len(acked) >= 400
    got = rows(log)
    assert got[0] == list(EVENT_COLUMNS) and all(len(r) == 4 for r in got[1:])
    logged = [r[0] for r in got[1:]]
    assert len(logged) == len(set(logged))  # no line written twice
    missing = set(acked) - set(logged)
    assert not missing, f"{len(missing)} acknowledged events are not in the log"
    # the log is still a log: a restarted server appends to it
    EventLog(log).close()
