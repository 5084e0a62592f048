"""PyMeasure glue: procedures `emit()` into a run file instead of a CSV.

- `HDF5Results`: a PyMeasure ``Results`` backed by a run file (``data_filenames = []``: no CSV is
  written). The GUI's live plots and browser use ``.procedure``, ``.parameters``, ``.data``,
  ``.reload()``, ``.data_filename`` and ``HDF5Results.load(path)`` as with CSV results.
- `HDF5Worker`: a PyMeasure ``Worker`` that streams ``emit('results', row)``,
  ``emit('batch results', {column: array})`` (written as whole columns, not row by row),
  ``emit('waveform', {...})`` (see `RunWriter.add_waveform` for the keys), ``emit('progress', %)``,
  the run's warnings and errors and its final status into the file.
- `restore_procedure`: rebuild the procedure of a stored run with its parameters. The stored class
  path is imported only when it is a registered procedure or allow-listed (never eval, never pickle,
  never an arbitrary module a file names); otherwise a stand-in procedure class is built from the
  stored parameter records.

Headless use::

    results = HDF5Results(procedure, "run.h5", bench=snapshot, seed=3, title="cell A1")
    worker = HDF5Worker(results)
    worker.start()
    while worker.is_alive():          # Worker.join(timeout) is a stop deadline, not a wait
        worker.join(60)
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pymeasure.experiment import Procedure, Results, Worker
from pymeasure.experiment import parameters as pm_parameters
from pymeasure.experiment.results import CSVFormatter

from tspcm_lab.store.layout import ABORTED, COMPLETED, FAILED, IMPORTED, INTERRUPTED, RUNNING
from tspcm_lab.store.reader import Run, open_run
from tspcm_lab.store.writer import RunWriter

log = logging.getLogger(__name__)

#: PyMeasure status of a procedure -> run file status
STATUS_FROM_PYMEASURE = {Procedure.FINISHED: COMPLETED, Procedure.ABORTED: ABORTED, Procedure.FAILED: FAILED}
#: run file status -> PyMeasure status of a reloaded procedure
STATUS_TO_PYMEASURE = {
    COMPLETED: Procedure.FINISHED,
    IMPORTED: Procedure.FINISHED,
    ABORTED: Procedure.ABORTED,
    FAILED: Procedure.FAILED,
    INTERRUPTED: Procedure.FAILED,
    RUNNING: Procedure.RUNNING,
}

#: the PyMeasure parameter classes a stand-in procedure may use (looked up by stored type name)
_PARAMETER_TYPES = {
    cls.__name__: cls
    for cls in (
        pm_parameters.FloatParameter,
        pm_parameters.IntegerParameter,
        pm_parameters.BooleanParameter,
        pm_parameters.ListParameter,
        pm_parameters.VectorParameter,
        pm_parameters.Parameter,
    )
}


class StoredProcedure(Procedure):
    """Stand-in for a procedure whose class cannot be imported here: it carries the stored
    parameters and columns so that the run can be browsed and re-plotted, but cannot be run."""

    def startup(self):
        raise NotImplementedError(f"{type(self).__name__} was rebuilt from a run file; import its procedure to run it")


#: environment variable with more class paths ("module:QualName", comma-separated) that run files and
#: CSV headers may name for import, besides the registered procedures
ALLOW_ENV = "TSPCM_ALLOWED_PROCEDURES"


def allowed_procedure_classes() -> set[str]:
    """Class paths a file's metadata may have imported: every registered procedure (entry points of
    ``tspcm_lab.procedures``) and those listed in ``$TSPCM_ALLOWED_PROCEDURES``. A file is data from
    anywhere; importing a module it names would run that module's code."""
    from tspcm_lab.plugins import registered

    allowed = {entry.value for entries in registered().values() for entry in entries}
    allowed.update(p.strip() for p in os.environ.get(ALLOW_ENV, "").split(",") if p.strip())
    return allowed


def import_procedure_class(class_path: str) -> type[Procedure] | None:
    """The class named "module:QualName" if it is allowed (`allowed_procedure_classes`), its module
    imports here and the name is a PyMeasure procedure class, else None. Nothing else is ever imported."""
    if class_path not in allowed_procedure_classes():
        return None
    module_name, _, qualname = class_path.partition(":")
    if not module_name or not qualname or module_name == "__main__" or "<" in qualname:
        return None
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception:  # any import failure means "not importable here"
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if isinstance(obj, type) and issubclass(obj, Procedure):
        return obj
    return None


def _stand_in_parameter(record) -> pm_parameters.Parameter:
    cls = _PARAMETER_TYPES.get(record.kind, pm_parameters.Parameter)
    kwargs: dict[str, Any] = {"default": record.value}
    if cls in (pm_parameters.FloatParameter, pm_parameters.IntegerParameter):
        kwargs["units"] = record.units or None
        for bound in ("minimum", "maximum"):
            if bound in record.extra:
                kwargs[bound] = record.extra[bound]
    elif cls is pm_parameters.VectorParameter:
        kwargs["units"] = record.units or None
        kwargs["length"] = len(record.value) if isinstance(record.value, list) else 3
    elif cls is pm_parameters.ListParameter:
        kwargs["units"] = record.units or None
        kwargs["choices"] = record.extra.get("choices") or [record.value]
    try:
        return cls(record.label or record.key, **kwargs)
    except Exception:
        return pm_parameters.Parameter(record.label or record.key, default=record.value)


def _stand_in_class(run: Run) -> type[Procedure]:
    name = re.sub(r"\W", "_", run.procedure_class.rpartition(":")[2].rpartition(".")[2] or "Stored")
    attrs: dict[str, Any] = {key: _stand_in_parameter(record) for key, record in run.parameters.items()}
    attrs["name"] = run.procedure
    attrs["__doc__"] = f"Stand-in for {run.procedure_class or 'an unknown procedure'} (from {run.path.name})"
    return type(name or "StoredProcedure", (StoredProcedure,), attrs)


def restore_procedure(run: Run | str | os.PathLike, procedure_class: type[Procedure] | None = None) -> Procedure:
    """A procedure instance with the stored parameter values (and columns) of a run."""
    if not isinstance(run, Run):
        run = open_run(run)
    cls = procedure_class or import_procedure_class(run.procedure_class) or _stand_in_class(run)
    procedure = cls()
    objects = procedure._parameters
    renamed = getattr(cls, "RENAMED_PARAMETERS", {})  # runs stored before a parameter was renamed
    for stored_key, record in run.parameters.items():
        key = stored_key if stored_key in objects else renamed.get(stored_key, stored_key)
        parameter = objects.get(key)
        if parameter is None:
            continue
        try:
            parameter.value = record.value
            value = parameter.value
        except Exception:  # e.g. a range narrowed since the run: the stored value is the truth
            parameter._value = record.value
            value = record.value
        setattr(procedure, key, value)
    if run.column_labels and (isinstance(procedure, StoredProcedure) or not procedure.DATA_COLUMNS):
        procedure.DATA_COLUMNS = list(run.column_labels)
    procedure.status = STATUS_TO_PYMEASURE.get(run.status, Procedure.FINISHED)
    return procedure


class HDF5Results(Results):
    """PyMeasure ``Results`` stored in one run file (see the module docstring).

    :param procedure: the procedure to run (or that ran, when `data_filename` exists)
    :param data_filename: the run file; an existing one is opened for reading
    :param bench: bench snapshot (nested dict) stored under /bench
    :param seed: the run's random seed
    :param title: a free-text title
    :param flush_interval_s: longest time a row waits in memory before it reaches the file (s)
    """

    def __init__(
        self,
        procedure: Procedure,
        data_filename: str | os.PathLike,
        *,
        bench: Mapping[str, Any] | None = None,
        seed: int | None = None,
        title: str = "",
        flush_interval_s: float | None = 1.0,
    ):
        if not isinstance(procedure, Procedure):
            raise ValueError("Results require a Procedure object")
        self.procedure = procedure
        self.procedure_class = procedure.__class__
        self.parameters = procedure.parameter_objects()
        self._header_count = -1
        self._metadata_count = -1
        self._formatter = None
        self.data_filename = str(data_filename)
        self.data_filenames: list[str] = []  # no CSV files
        self.bench = dict(bench or {})
        self.seed = seed
        self.title = title
        self.flush_interval_s = flush_interval_s
        self.writer: RunWriter | None = None
        self._run: Run | None = None
        self._pieces: list[pd.DataFrame] = []
        self._rows_read = 0
        self._data = None

    @property
    def formatter(self) -> CSVFormatter:
        """PyMeasure's CSV row formatter (its API; a run file does not use it). Made when first asked
        for: it has Pint parse the column units, which a run does not otherwise need."""
        if self._formatter is None:
            self._formatter = CSVFormatter(columns=list(self.procedure.DATA_COLUMNS))
        return self._formatter

    @formatter.setter
    def formatter(self, value: CSVFormatter) -> None:
        self._formatter = value

    # ----------------------------------------------------------- writing (called by HDF5Worker)
    def open_writer(self) -> RunWriter:
        """Create the run file (status running). It goes live (SWMR) once the metadata are stored
        or the first rows are flushed."""
        if self.writer is None:
            self.writer = RunWriter.create(
                self.data_filename,
                procedure=self.procedure,
                bench=self.bench,
                seed=self.seed,
                title=self.title,
                flush_interval_s=self.flush_interval_s,
                live=False,
            )
        return self.writer

    def store_metadata(self) -> None:
        """Store the procedure's evaluated metadata, then go live."""
        if self.writer is None:
            return
        metadata = {
            key: (getattr(self.procedure, key, item.value), getattr(item, "units", "") or "")
            for key, item in self.procedure.metadata_objects().items()
        }
        if metadata:
            self.writer.set_metadata(metadata)
        self.writer.go_live()

    def close_writer(self, status: str, error: str | None = None) -> None:
        if self.writer is not None:
            self.writer.close(status, error=error)

    # ----------------------------------------------------------- reading (GUI plots, browser)
    def _reader(self) -> Run | None:
        if self._run is None:
            if not Path(self.data_filename).exists():
                return None
            try:
                self._run = open_run(self.data_filename)
            except Exception as exc:  # being created (locked) or not yet live: no data yet
                log.debug("run file %s not readable yet: %s", self.data_filename, exc)
                return None
        return self._run

    @property
    def data(self) -> pd.DataFrame:
        """The rows flushed so far, as a DataFrame with the procedure's column labels; reads only
        the rows added since the last call."""
        run = self._reader()
        columns = list(self.procedure.DATA_COLUMNS)
        if run is None:
            return pd.DataFrame(columns=columns) if self._data is None else self._data
        try:
            new = run.to_pandas(start=self._rows_read)
        except Exception as exc:
            log.debug("reading %s failed: %s", self.data_filename, exc)
            new = None
        if new is not None and len(new):
            self._rows_read += len(new)
            self._pieces.append(new)
            self._data = None
        if self._data is None:
            self._data = (
                pd.concat(self._pieces, ignore_index=True)
                if self._pieces
                else pd.DataFrame(columns=run.column_labels or columns)
            )
            self._pieces = [self._data] if len(self._data) else []
        return self._data

    def reload(self) -> None:
        """Forget what was read and read the whole file again."""
        self._run = None
        self._pieces = []
        self._rows_read = 0
        self._data = None
        self.data

    def header(self) -> str:  # PyMeasure API; a run file has no text header
        return ""

    def labels(self) -> str:
        return ""

    @staticmethod
    def load(data_filename: str | os.PathLike, procedure_class: type[Procedure] | None = None) -> HDF5Results:
        """Reopen a run file: a Results whose ``.procedure`` has the stored parameters."""
        run = open_run(data_filename)
        procedure = restore_procedure(run, procedure_class)
        results = HDF5Results(procedure, data_filename, bench=run.bench, seed=run.seed, title=run.title)
        results._run = run
        return results

    def __getstate__(self):
        state = super().__getstate__()
        state["writer"] = None
        state["_run"] = None
        return state

    def __repr__(self) -> str:
        return f"<HDF5Results(filename='{self.data_filename}', procedure={self.procedure_class.__name__})>"


class _RunLogHandler(logging.Handler):
    """Copies the warnings and errors logged by the worker thread into the run's /log."""

    def __init__(self, writer: RunWriter, thread_id: int):
        super().__init__(level=logging.WARNING)
        self.writer = writer
        self.thread_id = thread_id
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread_id:
            return
        try:
            self.writer.log(record.levelno, self.format(record), record.created)
        except Exception:  # never let logging break the run
            pass


class HDF5Worker(Worker):
    """A PyMeasure ``Worker`` that streams into the run file of an `HDF5Results`."""

    def __init__(self, results: HDF5Results, log_queue=None, log_level=logging.INFO, port=None):
        if not isinstance(results, HDF5Results):
            raise ValueError("HDF5Worker needs HDF5Results (use PyMeasure's Worker for CSV Results)")
        super().__init__(results, log_queue=log_queue, log_level=log_level, port=port)
        self._error_text: str | None = None

    def run(self) -> None:
        writer = self.results.open_writer()
        handler = _RunLogHandler(writer, threading.get_ident())
        logging.getLogger().addHandler(handler)
        try:
            super().run()
        finally:
            logging.getLogger().removeHandler(handler)
            if writer is not None and not writer._closed:  # shutdown() did not get to close it
                writer.close(FAILED, error=self._error_text or "the worker stopped unexpectedly")

    def emit(self, topic: str, record: Any) -> None:
        writer = self.results.writer
        if topic == "waveform" and writer is not None:
            writer.add_waveform(**record)
        elif topic == "progress" and writer is not None:
            writer.set_progress(float(record))
        elif topic == "error":
            self._error_text = str(record)
        super().emit(topic, record)

    def handle_record(self, record: Mapping[str, Any]) -> None:
        self.results.writer.append_row(record)

    def handle_batch_record(self, record: Any) -> None:
        """Whole columns go to the file as columns (no per-row split). Unequal lengths or values
        that are not sequences stop the run, as in PyMeasure."""
        if not self._is_dictionary_of_sequences(record):
            log.error(f"Unsupported type ({type(record)}) for batch results.")
            self.stop()
            return
        lengths = {len(value) for value in record.values()}
        if len(lengths) > 1:
            log.error("Data loss detected: not all sequences in the batch have the same length.")
            self.stop()
            return
        self.results.writer.append_columns(record)

    def shutdown(self) -> None:
        error: str | None = None
        try:
            super().shutdown()
        except Exception as exc:
            error = f"procedure shutdown failed: {exc!r}"
            self.procedure.status = Procedure.FAILED
            raise
        finally:
            status = STATUS_FROM_PYMEASURE.get(self.procedure.status, COMPLETED)
            if status == FAILED:
                error = "\n".join(e for e in (self._error_text, error) if e) or "failed"
            self.results.close_writer(status, error=error)
