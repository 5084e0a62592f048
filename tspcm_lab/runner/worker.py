"""The PyMeasure worker of a headless run, and the one-line reason a run failed."""

from __future__ import annotations

import sys


def worker_class():
    from pymeasure.experiment import Procedure

    from tspcm_lab.store.pymeasure_glue import HDF5Worker

    class RunnerWorker(HDF5Worker):
        """HDF5Worker for headless runs: ``is_last`` answers (PyMeasure's raises without a manager), the
        exception that ended a run is kept for the message, and nothing escapes the thread."""

        def __init__(self, results, *, last: bool = True):
            super().__init__(results)
            # joined in every normal ending; daemon only so that a run given up on (third Ctrl-C) cannot
            # keep the process from exiting (the file then reads "interrupted")
            self.daemon = True
            self.last = last
            self.exception: BaseException | None = None

        def is_last(self) -> bool:
            return self.last

        def handle_error(self):
            self.exception = sys.exc_info()[1]
            super().handle_error()

        def run(self):
            try:
                super().run()
            except BaseException as exc:  # noqa: BLE001 - a raising shutdown(); the file is closed failed
                self.exception = self.exception or exc
                self.results.procedure.status = Procedure.FAILED
                writer = self.results.writer
                if writer is not None and not writer._closed:
                    writer.close("failed", error=describe_failure(exc))
                self.monitor_queue.put(None)

    return RunnerWorker


def describe_failure(exc: BaseException | None) -> str:
    """One line for an exception that ended a run, naming the instrument role it came from when the
    traceback passes through a role object (e.g. "smu (keithley2450 at GPIB0::18::INSTR): VisaIOError: ...")."""
    if exc is None:
        return "the procedure failed (see the run file's /log)"
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        role = getattr(owner, "role", None) if owner is not None else None
        if isinstance(role, str) and isinstance(getattr(owner, "resource", None), str):
            driver = getattr(owner, "driver_name", "") or ""
            where = f"{role} ({driver + ' at ' if driver else ''}{owner.resource}): "
        tb = tb.tb_next
    from tspcm_lab.store.errors import RunFileError

    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, RunFileError):  # the store's errors say what happened in words already
        return text
    return f"{where}{type(exc).__name__}: {text}"
