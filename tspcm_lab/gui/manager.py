"""The GUI's Manager and Worker: PyMeasure's queue, streaming into HDF5 run files.

- :class:`GuiWorker` is the store's ``HDF5Worker`` plus three things the window relies on:
  the emitted rows also go to :class:`~tspcm_lab.gui.live.LiveResults` (the live plot reads them from
  memory), the end of a run is announced only once its file is closed, and a worker that dies
  (a run file that cannot be created, a raising shutdown) still ends its run as ``failed``.
- :class:`RunManager` is PyMeasure's ``Manager`` building a :class:`GuiWorker` (instead of patching the
  name ``Worker`` in ``pymeasure.display.manager`` for the whole process) with no ZMQ publisher
  (PyMeasure's would bind port 5888 on every interface).

Why the end is held back: PyMeasure's worker sends the final status (finished, aborted, failed) to the
window's monitor *before* ``HDF5Worker`` closes the run file -- a failure's status even before the
procedure's ``shutdown()`` has turned the outputs off. The Manager's ``finished``/``abort_returned``/
``failed`` signals would then fire while outputs may still be on and the file still says ``running``.
:class:`HoldingQueue` keeps those messages until the worker thread is done, so when the signal fires,
the outputs are off and the file has its final status.
"""

from __future__ import annotations

import logging
import queue
import threading

from pymeasure.display.listeners import Monitor
from pymeasure.display.manager import Manager
from pymeasure.experiment import Procedure

from tspcm_lab.store.layout import FAILED
from tspcm_lab.store.pymeasure_glue import HDF5Worker

log = logging.getLogger(__name__)

#: PyMeasure statuses that end a run
FINAL_STATUSES = (Procedure.FINISHED, Procedure.ABORTED, Procedure.FAILED)


class HoldingQueue(queue.Queue):
    """A worker's monitor queue that holds the run's end (final status, end marker) until
    :meth:`release`; progress and the ``running`` status pass at once."""

    def __init__(self):
        super().__init__()
        self._held: list = []
        self._holding = True
        self._hold_lock = threading.Lock()

    @staticmethod
    def _is_end(item) -> bool:
        return item is None or (
            isinstance(item, tuple) and len(item) == 2 and item[0] == "status" and item[1] in FINAL_STATUSES
        )

    def put(self, item, block=True, timeout=None):
        with self._hold_lock:
            if self._holding and self._is_end(item):
                self._held.append(item)
                return
        super().put(item, block, timeout)

    def release(self, status: int | None = None) -> None:
        """End the run for the window: exactly one final status -- ``status`` (the procedure's, as
        the run file recorded it) when it is final, else the last one held, else failed -- then the
        end marker (it stops the window's monitor thread)."""
        with self._hold_lock:
            self._holding = False
            held, self._held = self._held, []
        if status not in FINAL_STATUSES:
            sent = [item[1] for item in held if item is not None]
            status = sent[-1] if sent else Procedure.FAILED
        super().put(("status", status))
        super().put(None)


class GuiWorker(HDF5Worker):
    """``HDF5Worker`` for the window (see the module docstring)."""

    def __init__(self, results, log_queue=None, log_level=logging.INFO, port=None):
        super().__init__(results, log_queue=log_queue, log_level=log_level, port=None)
        self.monitor_queue = HoldingQueue()

    def handle_record(self, record) -> None:
        super().handle_record(record)
        add = getattr(self.results, "add_live_row", None)
        if add is not None:
            add(record)

    def emit(self, topic, record) -> None:
        super().emit(topic, record)
        add = getattr(self.results, "add_live_waveform", None)
        if topic == "waveform" and add is not None and isinstance(record, dict):
            add(record)

    def handle_batch_record(self, record) -> None:
        whole = self._is_dictionary_of_sequences(record) and len({len(value) for value in record.values()}) <= 1
        super().handle_batch_record(record)
        add = getattr(self.results, "add_live_columns", None)
        if whole and add is not None:
            add(record)

    def run(self) -> None:
        try:
            super().run()
        except BaseException as exc:  # noqa: BLE001 - e.g. the run file could not be created
            procedure = self.results.procedure
            procedure.status = Procedure.FAILED
            log.error(
                "%s failed: %s: %s", getattr(procedure, "name", "") or type(procedure).__name__, type(exc).__name__, exc
            )
            writer = self.results.writer
            if writer is not None and not writer._closed:
                try:
                    writer.close(FAILED, error=f"{type(exc).__name__}: {exc}")
                except Exception:  # noqa: BLE001 - nothing more can be done for the file
                    log.exception("closing the run file %s failed", self.results.data_filename)
            # the procedure's shutdown() may not have run (a writer that failed to open: nothing was
            # enabled, but make sure)
            bench = getattr(procedure, "bench", None)
            if bench is not None:
                try:
                    bench.all_off()
                except Exception:  # noqa: BLE001 - all_off() logs its own problems
                    pass
        finally:
            end = getattr(self.results, "end_live", None)
            if end is not None:
                end()
            self.monitor_queue.release(self.results.procedure.status)


class RunManager(Manager):
    """PyMeasure's ``Manager`` running each experiment in a :class:`GuiWorker`."""

    def next(self):
        """Start the next queued experiment (PyMeasure's ``Manager.next`` with our worker)."""
        if self.is_running():
            raise Exception("Another procedure is already running")
        if not self.experiments.has_next():
            return
        experiment = self.experiments.next()
        self._running_experiment = experiment

        self._worker = GuiWorker(experiment.results, log_level=self.log_level)
        self._worker.is_last = lambda: not self.experiments.has_next()

        self._monitor = Monitor(self._worker.monitor_queue)
        self._monitor.worker_running.connect(self._running)
        self._monitor.worker_failed.connect(self._failed)
        self._monitor.worker_abort_returned.connect(self._abort_returned)
        self._monitor.worker_finished.connect(self._finish)
        self._monitor.progress.connect(self._update_progress)
        self._monitor.status.connect(self._update_status)
        self._monitor.log.connect(self._update_log)

        self._monitor.start()
        self._worker.start()

    def _update_status(self, status):
        # PyMeasure writes the monitor's (late) status into procedure.status from the GUI thread; in
        # one process the worker has set it already, and a late "running" written after the worker's
        # "failed" turned a failed run into a completed one. Show it, don't write it.
        if self.is_running():
            self._running_experiment.browser_item.setStatus(status)

    def _clean_up(self):
        # the end was released by the worker's last lines: wait for them (PyMeasure's Worker.join()
        # has a timeout of 0, a stop deadline rather than a wait)
        worker = self._worker
        while worker is not None and worker.is_alive():
            threading.Thread.join(worker, 0.1)
        super()._clean_up()

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until the running worker thread (if any) has ended; False on timeout. For shutting
        the window down; the Manager's own signals still arrive through the event loop."""
        worker = self._worker
        if worker is None:
            return True
        import time

        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while worker.is_alive():
            if deadline is not None and time.monotonic() > deadline:
                return False
            threading.Thread.join(worker, 0.1)
        return True
