"""Run one validated procedure on an open bench into one run file, with an honest status at the end."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tspcm_lab.runner.session import BenchSession
from tspcm_lab.runner.signals import StopSignals
from tspcm_lab.runner.worker import describe_failure, worker_class

#: statuses and exit codes (``tspcm run``: 0 only for a completed run, 2 invalid input, 1 otherwise)
EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


@dataclass
class RunOutcome:
    """How one run ended."""

    path: Path
    status: str  #: completed | aborted | failed | interrupted (from the run file)
    n_rows: int = 0
    message: str = ""  #: one line: why it failed or was aborted
    off_problems: list[str] = field(default_factory=list)  #: outputs not confirmed off
    interrupted: bool = False  #: the user asked to stop (Ctrl-C / SIGTERM)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.status == "completed" and not self.off_problems else EXIT_FAILED


class Progress:
    """What :func:`execute` reports to; the CLI draws a bar or prints lines. All no-ops here."""

    def start(self, outcome_path: Path, procedure: Any) -> None: ...

    def update(self, percent: float) -> None: ...

    def stopping(self, count: int) -> None: ...

    def finish(self, outcome: RunOutcome) -> None: ...


def execute(
    procedure: Any,
    session: BenchSession,
    path: str | Path,
    *,
    seed: int | None = None,
    title: str = "",
    last: bool = True,
    progress: Progress | None = None,
    stop_event: threading.Event | None = None,
) -> RunOutcome:
    """Run a validated procedure on an open bench into the run file ``path``; returns its outcome.

    Ctrl-C / SIGTERM (or ``stop_event``) ask the procedure to stop at its next ``should_stop()``; each
    further Ctrl-C repeats the request, the third gives up waiting: every output is turned off from here
    and the file is left as it is (it reads ``interrupted``). Never raises for what happens inside the run;
    raises FileExistsError, before anything is applied, when ``path`` exists (a run never writes into, or
    is mistaken for, an earlier run's file).
    """
    from tspcm_lab.store.pymeasure_glue import HDF5Results

    progress = progress or Progress()
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists: a run writes a new file (runner.unique_path gives one)")
    procedure.bench = session.bench
    results = HDF5Results(procedure, path, bench=session.snapshot(), seed=seed, title=title)
    worker = worker_class()(results, last=last)
    outcome = RunOutcome(path=path, status="running")
    started = time.monotonic()
    progress.start(path, procedure)
    with StopSignals():
        worker.start()
        abandoned = _follow(worker, outcome, progress, stop_event)
    outcome.seconds = time.monotonic() - started
    # the one shutdown path once more from here: the procedure's shutdown() should have done it, but a
    # plugin's may not, and an abandoned worker certainly did not
    outcome.off_problems = session.all_off()
    if abandoned:
        outcome.status = "interrupted"
        outcome.message = "gave up waiting for the procedure to stop; outputs turned off from the runner"
    else:
        _read_ending(outcome, worker)
    progress.finish(outcome)
    return outcome


def _follow(worker: Any, outcome: RunOutcome, progress: Progress, stop_event: threading.Event | None) -> bool:
    """Pass the worker's progress on until it ends; Ctrl-C (or ``stop_event``) asks it to stop, the third
    Ctrl-C gives up waiting. True when given up (the worker may still be running)."""
    stops = 0
    while worker.is_alive():
        try:
            if stop_event is not None and stop_event.is_set() and not worker.should_stop():
                outcome.interrupted = True
                worker.stop()
            try:
                item = worker.monitor_queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                break
            topic, value = item
            if topic == "progress":
                progress.update(float(value))
        except KeyboardInterrupt:
            stops += 1
            outcome.interrupted = True
            worker.stop()
            progress.stopping(stops)
            if stops >= 3:
                return True
    while worker.is_alive():  # the worker's shutdown (outputs off, file closed) is finishing
        try:
            threading.Thread.join(worker, 0.2)
        except KeyboardInterrupt:
            stops += 1
            progress.stopping(stops)
            if stops >= 3:
                return True
    return False


def _read_ending(outcome: RunOutcome, worker: Any) -> None:
    """Status, rows and the one-line reason of a finished run, read back from its file."""
    from tspcm_lab.store.reader import read_ending

    try:
        outcome.status, outcome.n_rows = read_ending(outcome.path)
    except Exception as exc:  # noqa: BLE001 - e.g. the file could not be created at all
        outcome.status = "failed"
        outcome.message = (
            describe_failure(worker.exception)
            if worker.exception is not None
            else f"run file {outcome.path} unreadable: {type(exc).__name__}: {exc}"
        )
    if outcome.status == "running":  # the worker is done but could not end the file (a failed write)
        outcome.status = "failed"
    if outcome.status == "failed" and not outcome.message:
        outcome.message = describe_failure(worker.exception)
    elif outcome.status == "aborted":
        outcome.message = "stopped on request; rows so far kept" if outcome.interrupted else "stopped by the procedure"
