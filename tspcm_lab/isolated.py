"""Run a function over many files in child processes, so that a file which makes a library hang or crash
costs that file only, never the command.

Why: the HDF5 library can hang on a damaged file (seen: a run file left by a killed writer, then
truncated at its stale end-of-file address, blocks forever in the first attribute read) or, on other
damage, abort the process. Folder commands (``tspcm runs``, ``analyze``, ``repair``) must name such a
file and go on, so they read through `map_isolated`:

    for index, result in map_isolated(summarize, paths, timeout_s=lambda p: 60.0, workers=1):
        if isinstance(result, Failed): ...       # result.reason: "... hung ...", "... crashed ..."

Each worker is a child process that gets the items in small chunks and answers one message per item,
so the parent always knows which item a worker is on. A worker that sends nothing for the item's
``timeout_s`` is killed; one that dies is noticed at once; either way that item comes back as
`Failed`, a fresh worker takes the rest. Children start by ``fork`` when the caller has no other
thread (fast), else through a fork server (safe with threads). Ctrl-C stops the workers with the caller.
"""

from __future__ import annotations

import collections
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

#: items handed to a worker at once (one message each way per item; chunks only save round trips)
CHUNK = 16


@dataclass
class Failed:
    """An item whose function raised, or whose worker hung or died on it; ``reason`` is one line."""

    reason: str


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def _serve(conn, func: Callable[[Any], Any]) -> None:
    """The worker's loop: a list of (index, item) in, one (index, result) out per item."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for index, item in chunk:
            try:
                result = func(item)
            except Exception as exc:  # noqa: BLE001 - reported as this item's failure
                result = Failed(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
            conn.send((index, result))


class _Worker:
    def __init__(self, ctx, func):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, func), daemon=True)
        self.process.start()
        child.close()
        self.assigned: collections.deque = collections.deque()  # (index, item), in order
        self.since = time.monotonic()

    def give(self, chunk: list) -> None:
        self.assigned.extend(chunk)
        self.since = time.monotonic()
        self.conn.send(chunk)

    def stop(self, kill: bool = False) -> None:
        if kill and self.process.is_alive():
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
        self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)
        self.conn.close()


def map_isolated(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    timeout_s: Callable[[Any], float] | float,
    workers: int = 1,
    on_lost: Callable[[Any, int], None] | None = None,
    preload: Callable[[], None] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, func(item))`` for every item, in completion order, computed in ``workers`` child
    processes; a `Failed` result for an item whose call raised, hung past ``timeout_s`` (seconds, or a
    function of the item) or crashed its worker. ``func`` must be a module-level function (picklable)
    and return picklable results. ``on_lost(item, pid)`` is called after a worker was lost on ``item``
    (e.g. to remove its temporary files). ``preload()`` imports what ``func`` will import: it runs here
    when the workers start by ``fork``, so that they inherit those modules instead of each importing
    them again (and this process has them for its own later use: a report after the analysis); with
    another start method it is not called (each worker imports as it goes)."""
    items = list(items)
    if not items:
        return
    limit = timeout_s if callable(timeout_s) else (lambda _item, t=float(timeout_s): t)
    pending = collections.deque(enumerate(items))
    ctx = _context()
    if preload is not None and ctx.get_start_method() == "fork":
        preload()
    pool = [_Worker(ctx, func) for _ in range(max(1, min(int(workers), len(items))))]
    try:
        for worker in pool:
            _feed(worker, pending)
        while any(worker.assigned for worker in pool):
            busy = [worker for worker in pool if worker.assigned]
            now = time.monotonic()
            wait_s = min(w.since + limit(w.assigned[0][1]) - now for w in busy)
            ready = wait([w.conn for w in busy], timeout=max(0.0, wait_s))
            for index, worker in enumerate(pool):
                if not worker.assigned:
                    continue
                if worker.conn in ready:
                    try:
                        got_index, result = worker.conn.recv()
                    except (EOFError, OSError):
                        code = worker.process.exitcode
                        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                        yield _lose(
                            pool, index, ctx, func, pending, on_lost, f"reading it crashed the reader process ({how})"
                        )
                        continue
                    worker.assigned.popleft()
                    worker.since = time.monotonic()
                    yield got_index, result
                    if not worker.assigned:
                        _feed(worker, pending)
                elif time.monotonic() - worker.since > limit(worker.assigned[0][1]):
                    seconds = limit(worker.assigned[0][1])
                    yield _lose(
                        pool,
                        index,
                        ctx,
                        func,
                        pending,
                        on_lost,
                        f"no answer after {seconds:.0f} s (the HDF5 library hung on it)",
                    )
    finally:
        for worker in pool:
            worker.stop(kill=bool(worker.assigned))


def _feed(worker: _Worker, pending: collections.deque) -> None:
    chunk = [pending.popleft() for _ in range(min(CHUNK, len(pending)))]
    if chunk:
        worker.give(chunk)


def _lose(pool: list, position: int, ctx, func, pending: collections.deque, on_lost, reason: str) -> tuple[int, Failed]:
    """Worker ``position`` is lost on its current item: report the item, put the rest of its chunk back
    in front of the queue, start a fresh worker."""
    worker = pool[position]
    pid = worker.process.pid
    worker.stop(kill=True)
    index, item = worker.assigned.popleft()
    pending.extendleft(reversed(worker.assigned))
    if on_lost is not None:
        on_lost(item, pid)
    fresh = _Worker(ctx, func)
    pool[position] = fresh
    _feed(fresh, pending)
    return index, Failed(reason)


def size_timeout_s(path: str, base_s: float, bytes_per_s: float) -> float:
    """How long a worker may take over the file ``path`` before it counts as hung (s): ``base_s`` plus one
    second per ``bytes_per_s`` of the file (``base_s`` when it cannot be stat'ed)."""
    from pathlib import Path

    try:
        return base_s + Path(path).stat().st_size / bytes_per_s
    except OSError:
        return base_s
