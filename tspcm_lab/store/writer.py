"""`RunWriter`: stream one run into one self-describing, crash-safe HDF5 file.

The writer knows nothing of the procedure that feeds it: it takes the parameters, a bench snapshot, a
seed and a title at creation, then rows (`append_row`), whole columns (`append_columns`), waveforms
(`add_waveform`) and log records (`log`), and finally a status (`close`).

How it stays crash safe and readable while it writes (details in docs/file-format.md):

- Every dataset is created before the file switches to SWMR mode ("going live"); from then on the file
  only grows by appending to existing datasets, which HDF5 orders so that a reader in another process
  (``h5py.File(path, "r", swmr=True)``) and a file left by a killed writer always hold a consistent
  prefix of the data. Columns come from the procedure's ``DATA_COLUMNS`` (or `columns`, or the first
  row); waveforms and log records go into datasets made up front, so nothing new is needed mid-run.
- Appends are buffered in memory and written at least every ``flush_interval_s`` (1 s) by a small
  background thread, when the buffer holds ``max_buffer_rows`` rows, and at `close`. A kill -9 loses at
  most the rows since the last flush.
- Root attributes that change (``status``, ``end_time``, values set after going live) are written at
  `close`, after the SWMR session ends: SWMR does not allow creating or changing attributes.
- Every streamed dataset carries a Fletcher-32 checksum per chunk, so a damaged page reads as an error
  naming the dataset, never as silently wrong numbers.
- A full disk never reaches HDF5: before each flush the writer checks that the flush plus a reserve to
  end the run fit in the room left (`tspcm_lab.store.space`); if not it refuses the rows with
  `DiskFullError` ("disk full: ..."), the procedure stops, and `close` ends the file ``failed`` with
  every row flushed before readable. Should a write fail anyway (another process filled the disk in
  between), the file is detached from HDF5 so that nothing crashes, and is left for ``tspcm repair``.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tspcm_lab.store import layout, space
from tspcm_lab.store.digest import write_digest
from tspcm_lab.store.errors import DiskFullError, RunWriteError
from tspcm_lab.store.layout import (
    ABORTED,
    COMPLETED,
    FAILED,
    FINAL_STATUSES,
    INTERRUPTED,
    LIBVER,
    RUNNING,
    parse_label,
    unique_keys,
)
from tspcm_lab.store.params import ParameterRecord, from_mapping, from_procedure, write_parameters
from tspcm_lab.store.tree import write_tree

log = logging.getLogger(__name__)

_STR = {
    "log_level": h5py.string_dtype("utf-8", layout.LOG_LEVEL_BYTES),
    "log_message": h5py.string_dtype("utf-8", layout.LOG_MESSAGE_BYTES),
    "wf_name": h5py.string_dtype("utf-8", layout.WAVEFORM_NAME_BYTES),
    "wf_label": h5py.string_dtype("utf-8", layout.WAVEFORM_LABEL_BYTES),
    "wf_units": h5py.string_dtype("utf-8", layout.WAVEFORM_UNITS_BYTES),
}

#: longest error text kept in the root attribute ``error`` (characters)
ERROR_TEXT_CHARS = 16384

#: waveform index datasets under /waveforms: name -> (dtype, units, description)
WAVEFORM_INDEX = {
    "name": (_STR["wf_name"], "", "waveform name, e.g. scope_ch1"),
    "start": (np.int64, "", "index of the record's first sample in y (and x)"),
    "count": (np.int64, "", "number of samples of the record"),
    "t0": (np.float64, "", "x of the first sample when the record has a uniform time base"),
    "dt": (np.float64, "", "x step of a uniform time base; NaN when x holds explicit values"),
    "row": (np.int64, "", "number of /data rows appended before this record"),
    "y_label": (_STR["wf_label"], "", "y label, e.g. 'Current (A)'"),
    "y_units": (_STR["wf_units"], "", "y units"),
    "x_label": (_STR["wf_label"], "", "x label, e.g. 'Time (s)'"),
    "x_units": (_STR["wf_units"], "", "x units"),
}


def procedure_identity(procedure: Any) -> tuple[str, str]:
    """(class path "module:QualName", short name) of a procedure object.

    The short name is the class attribute ``name`` when the class defines one as a string
    (e.g. "iv-sweep"), otherwise the class name."""
    cls = type(procedure)
    short = getattr(cls, "name", None)
    if not isinstance(short, str) or not short:
        short = cls.__name__
    return f"{cls.__module__}:{cls.__qualname__}", short


def _fit_bytes(text: str, limit: int) -> bytes:
    """`text` as UTF-8 cut to at most `limit` bytes at a character boundary."""
    data = str(text).encode("utf-8", errors="replace")
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", errors="ignore").encode("utf-8")


class RunWriter:
    """Writes one run file. Create it with `RunWriter.create`; use it as a context manager.

    ``with RunWriter.create(path, procedure=proc, bench=snapshot, seed=1) as run:``
    ``    run.append_row({"Voltage (V)": 0.1, "Current (A)": 1e-9})``

    On leaving the block the status is ``completed``, ``aborted`` (KeyboardInterrupt) or ``failed``
    (any other exception, whose text is kept in the ``error`` attribute). Thread safe: the procedure
    thread appends while the flush thread writes.
    """

    #: check the room left before each flush (off only to exercise the fallback for a write that fails
    #: anyway, in tests/store/test_disk_full.py and checks/disk_full.py)
    check_room = True

    def __init__(self, path: Path, h5: h5py.File, flush_interval_s: float | None, max_buffer_rows: int):
        self.path = path
        self._h5 = h5
        self._lock = threading.RLock()
        self._flush_interval_s = flush_interval_s
        self._max_buffer_rows = int(max_buffer_rows)
        self._live = False
        self._live_requested = False
        self._closed = False
        self._status = RUNNING
        #: why the writer accepts nothing more (disk full, a failed write); raised by every later call
        self.failure: RunWriteError | None = None
        self._detached = False  # a write failed: the file was taken away from HDF5 (see _detach)
        self._late_attrs: dict[str, Any] = {}
        self._late_metadata: list[ParameterRecord] = []
        #: (parameters, metadata, bench) the checksum was computed over when going live (None before)
        self._digested: tuple[dict, dict, dict] | None = None
        self._unknown_columns: set[str] = set()
        self._progress: float | None = None
        # columns, defined at creation or by the first append
        self._labels: list[str] | None = None
        self._dtypes: list[np.dtype] = []
        self._units: list[str] = []
        self._label_index: dict[str, int] = {}
        self._label_set: frozenset[str] = frozenset()
        self._datasets: list[h5py.Dataset] = []
        self._row_buffers: list[list] = []
        self._row_items: list[tuple[str, list]] = []
        self._pieces: list[list[np.ndarray]] = []
        self._buffered_rows = 0
        self._rows_written = 0
        self._rows_appended = 0
        # waveforms and log records waiting for the next flush
        self._waveforms: list[tuple] = []
        self._logs: list[tuple[float, int, str, str]] = []
        self._wf_samples = 0
        self._next_flush = time.monotonic() + (flush_interval_s or math.inf)
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        procedure: Any = None,
        parameters: Mapping[str, Any] | None = None,
        columns: Sequence[str] | Mapping[str, Any] | None = None,
        bench: Mapping[str, Any] | None = None,
        seed: int | None = None,
        title: str = "",
        procedure_class: str | None = None,
        procedure_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        attrs: Mapping[str, Any] | None = None,
        key_parameters: Sequence[str] | None = None,
        start_time: str | None = None,
        flush_interval_s: float | None = 1.0,
        max_buffer_rows: int = 16_384,
        live: bool = True,
        overwrite: bool = False,
    ) -> RunWriter:
        """Create the run file at `path` with its full structure, status ``running``.

        :param procedure: a PyMeasure ``Procedure`` (class path, short name, parameters with units,
            ``DATA_COLUMNS``, optional ``KEY_PARAMETERS``); optional when `parameters` is given.
        :param parameters: ``{key: value}`` or ``{key: (value, units)}`` for non-PyMeasure callers;
            added to (and overriding) the procedure's.
        :param columns: column labels "Name (unit)" (or ``{label: dtype}``); default: the
            procedure's ``DATA_COLUMNS``, else the keys of the first append. Columns are float64
            unless a dtype is given.
        :param bench: the bench snapshot, a nested dict written under ``/bench``.
        :param seed: the random seed of the run (simulated bench, randomized procedures).
        :param key_parameters: parameter keys that `list_runs` shows first.
        :param flush_interval_s: longest time rows wait in memory before reaching the file (s);
            ``None`` writes only when the buffer is full, on `flush` and on `close`.
        :param live: switch to SWMR mode now (True), or at the first flush of data / `go_live`.
        :param overwrite: replace an existing file instead of refusing it.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"run file {path} already exists (pass overwrite=True to replace it)")
        if flush_interval_s is not None and not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be > 0 s or None, got {flush_interval_s!r}")
        if max_buffer_rows < 1:
            raise ValueError(f"max_buffer_rows must be >= 1, got {max_buffer_rows!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        room, needed = space.room_bytes(path), space.CREATE_BYTES + space.CLOSE_RESERVE_BYTES
        if room < needed:
            raise DiskFullError(
                f"disk full: {path} not created: {space.describe_bytes(max(room, 0))} free "
                f"there, a run file needs at least {space.describe_bytes(needed)}"
            )
        records: list[ParameterRecord] = []
        if procedure is not None:
            records = from_procedure(procedure)
            path_name = procedure_identity(procedure)
            procedure_class = procedure_class or path_name[0]
            procedure_name = procedure_name or path_name[1]
            if columns is None:
                columns = list(getattr(procedure, "DATA_COLUMNS", []) or []) or None
            if key_parameters is None:
                key_parameters = getattr(procedure, "KEY_PARAMETERS", None)
        if parameters:
            extra = {r.key: r for r in from_mapping(parameters)}
            records = [extra.pop(r.key, r) for r in records] + list(extra.values())

        # a small chunk cache per dataset: appends touch only the last chunk or two, and HDF5 2.0's
        # larger default (8 MB per dataset) would make a long run's memory grow by that per column
        h5 = h5py.File(path, "w", libver=LIBVER, rdcc_nbytes=layout.CHUNK_CACHE_BYTES)
        try:
            writer = cls(path, h5, flush_interval_s, max_buffer_rows)
            root = h5.attrs
            root["format"] = layout.FORMAT_NAME
            root["format_version"] = layout.FORMAT_VERSION
            root["procedure_class"] = procedure_class or ""
            root["procedure"] = procedure_name or ""
            root["title"] = title or ""
            root["status"] = RUNNING
            root["start_time"] = start_time or layout.utc_now_iso()
            root["end_time"] = ""
            root["seed"] = -1 if seed is None else int(seed)
            root["git_revision"] = layout.git_revision()
            for name, value in {**layout.software_versions(), **layout.writer_identity()}.items():
                root[name] = value
            if key_parameters:
                root["key_parameters"] = np.array([str(k) for k in key_parameters], dtype=h5py.string_dtype())
            for name, value in (attrs or {}).items():
                root[name] = value
            write_parameters(h5.create_group("parameters"), records)
            if metadata:
                write_parameters(h5.create_group("metadata"), from_mapping(metadata))
            write_tree(h5.create_group("bench"), dict(bench or {}))
            h5.create_group("analysis")
            writer._create_fixed_structure()
            if columns:
                writer._define_columns(columns)
            h5.flush()
        except BaseException as exc:
            # a half-made file holds nothing yet and would only be unreadable: it goes
            _detach(h5)
            path.unlink(missing_ok=True)
            if space.means_no_room(exc):
                raise DiskFullError(f"disk full: {path} could not be created ({_reason(exc)})") from None
            raise
        writer._live_requested = live
        if live and writer._labels is not None:
            writer.go_live()
        writer._start_thread()
        writer_ref = weakref.ref(writer)
        atexit.register(_close_at_exit, writer_ref)
        return writer

    def _create_fixed_structure(self) -> None:
        h5 = self._h5
        run = h5.create_group("run")
        self._ds_heartbeat = run.create_dataset("heartbeat", data=np.float64(time.time()))
        self._ds_heartbeat.attrs["units"] = "s"
        self._ds_heartbeat.attrs["description"] = "Unix time of the writer's last flush"
        self._ds_progress = run.create_dataset("progress", data=np.float64(math.nan))
        self._ds_progress.attrs["units"] = "%"
        self._ds_progress.attrs["description"] = "last progress the procedure reported"
        lg = h5.create_group("log")
        self._log_ds = {
            "time": self._stream(lg, "time", np.float64, 256, units="s", description="Unix time of the record"),
            "level": self._stream(
                lg, "level", np.int32, 256, description="Python logging level (30 warning, 40 error)"
            ),
            "levelname": self._stream(lg, "levelname", _STR["log_level"], 256),
            "message": self._stream(
                lg, "message", _STR["log_message"], 64, description=f"UTF-8, cut at {layout.LOG_MESSAGE_BYTES} bytes"
            ),
        }
        wf = h5.create_group("waveforms")
        wf.attrs["layout"] = "contiguous ragged array: record i is y[start[i]:start[i]+count[i]]"
        self._wf_y = self._stream(
            wf, "y", np.float64, layout.WAVEFORM_CHUNK, description="samples of all records, concatenated"
        )
        self._wf_x = self._stream(
            wf, "x", np.float64, layout.WAVEFORM_CHUNK, description="explicit x of records whose dt is NaN, else NaN"
        )
        self._wf_index = {
            name: self._stream(wf, name, dtype, 256, description=description)
            for name, (dtype, _, description) in WAVEFORM_INDEX.items()
        }

    @staticmethod
    def _stream(
        group: h5py.Group,
        name: str,
        dtype: Any,
        chunk: int,
        units: str | None = None,
        description: str | None = None,
        fillvalue: Any = None,
    ) -> h5py.Dataset:
        kind = np.dtype(dtype).kind
        if fillvalue is None and kind == "f":
            fillvalue = np.nan
        ds = group.create_dataset(
            name, shape=(0,), maxshape=(None,), chunks=(chunk,), dtype=dtype, fillvalue=fillvalue, fletcher32=True
        )
        if units is not None:
            ds.attrs["units"] = units
        if description:
            ds.attrs["description"] = description
        return ds

    def _define_columns(self, columns: Sequence[str] | Mapping[str, Any]) -> None:
        if isinstance(columns, Mapping):
            labels = [str(c) for c in columns]
            dtypes = [np.dtype(columns[c] if columns[c] is not None else np.float64) for c in columns]
        else:
            labels = [str(c) for c in columns]
            dtypes = [np.dtype(np.float64)] * len(labels)
        if len(set(labels)) != len(labels):
            raise ValueError(f"columns: duplicate labels in {labels}")
        if self._live:
            raise RuntimeError("columns cannot be added once the run file is live (SWMR)")
        data = self._h5.require_group("data")
        keys = unique_keys(labels)
        data.attrs["columns"] = np.array(keys, dtype=h5py.string_dtype())
        data.attrs["labels"] = np.array(labels, dtype=h5py.string_dtype())
        for order, (label, key, dtype) in enumerate(zip(labels, keys, dtypes)):
            ds = self._stream(data, key, dtype, layout.COLUMN_CHUNK)
            name, units = parse_label(label)
            ds.attrs["label"] = label
            ds.attrs["name"] = name
            ds.attrs["units"] = units
            ds.attrs["order"] = order
            self._datasets.append(ds)
            self._units.append(units)
        self._labels = labels
        self._dtypes = dtypes
        self._label_index = {label: i for i, label in enumerate(labels)}
        self._label_set = frozenset(labels)
        self._row_buffers = [[] for _ in labels]
        self._row_items = list(zip(labels, self._row_buffers))
        self._pieces = [[] for _ in labels]

    # ------------------------------------------------------------------ state
    @property
    def is_live(self) -> bool:
        """True once the file is in SWMR mode (other processes can read it)."""
        return self._live

    @property
    def rows(self) -> int:
        """Rows appended so far (written or still buffered)."""
        return self._rows_appended

    @property
    def columns(self) -> list[str]:
        """Column labels, in order ([] until defined)."""
        return list(self._labels or [])

    def go_live(self) -> None:
        """Switch to SWMR mode: from now on other processes can read the file while it grows."""
        with self._lock:
            self._check_open()
            if self._live:
                return
            self._check_failure()
            if self._labels is None:
                self._define_columns([])
            try:
                self._apply_late(self._h5)
                self._digested = write_digest(self._h5)
                self._h5.flush()
                self._h5.swmr_mode = True
            except Exception as exc:
                self._fail(exc)
            self._live = True
            self._live_requested = True

    # ------------------------------------------------------------------ appending
    def append_row(self, row: Mapping[str, Any]) -> None:
        """Append one row {label: scalar}. Missing columns get NaN; labels that are not columns are
        dropped (one warning per label in the run's log), as PyMeasure's CSV does."""
        with self._lock:
            self._start_append(row)
            for label, buffer in self._row_items:
                buffer.append(row.get(label, math.nan))
            self._buffered_rows += 1
            self._rows_appended += 1
            if self._buffered_rows >= self._max_buffer_rows or time.monotonic() >= self._next_flush:
                self._flush_locked()

    def _start_append(self, labelled: Mapping[str, Any]) -> None:
        """Under the lock, before an append: raise the failure already met; the first append defines the
        columns; labels that are not columns are noted."""
        if self.failure is not None:
            raise self.failure
        if self._labels is None:
            self._check_open()
            self._define_columns(list(labelled))
        if not self._label_set.issuperset(labelled):
            self._note_unknown(labelled)

    def append_columns(self, columns: Mapping[str, Any]) -> None:
        """Append whole columns at once {label: 1-D array}, all of one length (PyMeasure's
        ``emit('batch results', ...)``). Missing columns get NaN."""
        arrays = {label: np.asarray(values) for label, values in columns.items()}
        lengths = {label: a.shape[0] if a.ndim == 1 else None for label, a in arrays.items()}
        if any(n is None for n in lengths.values()):
            raise ValueError(
                f"append_columns: every column must be 1-D, got shapes { {k: a.shape for k, a in arrays.items()} }"
            )
        if len(set(lengths.values())) > 1:
            raise ValueError(f"append_columns: columns must have equal lengths, got {lengths}")
        n = next(iter(lengths.values()), 0)
        with self._lock:
            self._start_append(arrays)
            if n == 0:
                return
            self._seal_rows()
            for i, label in enumerate(self._labels):
                values = arrays.get(label)
                if values is None:
                    piece = np.full(n, math.nan if self._dtypes[i].kind == "f" else 0, dtype=self._dtypes[i])
                else:
                    piece = self._convert(values, i)
                self._pieces[i].append(piece)
            self._buffered_rows += n
            self._rows_appended += n
            if self._buffered_rows >= self._max_buffer_rows or time.monotonic() >= self._next_flush:
                self._flush_locked()

    def add_waveform(
        self,
        name: str,
        y: Any,
        *,
        dt: float | None = None,
        t0: float = 0.0,
        x: Any = None,
        y_label: str = "",
        x_label: str = "Time (s)",
        row: int | None = None,
    ) -> None:
        """Append one waveform record (a scope trace, a sweep): samples `y` with either a uniform time
        base (`t0`, `dt` in x units) or explicit `x` values of the same length.

        Labels carry the units as "Name (unit)", e.g. ``y_label="Current (A)"``. `row` links the
        record to the /data rows (default: the number of rows appended so far)."""
        y_arr = np.asarray(y, dtype=np.float64).ravel()
        if (dt is None) == (x is None):
            raise ValueError(f"add_waveform({name!r}): give exactly one of dt (uniform time base) or x")
        x_arr = None
        if x is not None:
            x_arr = np.asarray(x, dtype=np.float64).ravel()
            if x_arr.shape != y_arr.shape:
                raise ValueError(f"add_waveform({name!r}): x has {x_arr.size} samples, y has {y_arr.size}")
            t0, dt = (float(x_arr[0]) if x_arr.size else math.nan), math.nan
        elif not (isinstance(dt, (int, float, np.floating)) and dt > 0):
            raise ValueError(f"add_waveform({name!r}): dt must be a positive step in x units, got {dt!r}")
        if not name:
            raise ValueError("add_waveform: name must be a non-empty string")
        with self._lock:
            self._check_open()
            self._waveforms.append(
                (
                    name,
                    y_arr,
                    x_arr,
                    float(t0),
                    float(dt),
                    self._rows_appended if row is None else int(row),
                    y_label,
                    parse_label(y_label)[1] if y_label else "",
                    x_label,
                    parse_label(x_label)[1] if x_label else "",
                )
            )
            self._wf_samples += y_arr.size
            if self._wf_samples >= 4 * layout.WAVEFORM_CHUNK or time.monotonic() >= self._next_flush:
                self._flush_locked()

    def log(self, level: int | str, message: str, time_unix_s: float | None = None) -> None:
        """Keep a log record (a warning, an error) in the run's ``/log``."""
        if isinstance(level, str):
            levelname = level.upper()
            level = logging.getLevelName(levelname)
            level = level if isinstance(level, int) else logging.INFO
        else:
            levelname = logging.getLevelName(level)
        with self._lock:
            self._check_open()
            self._logs.append(
                (time.time() if time_unix_s is None else time_unix_s, int(level), str(levelname), str(message))
            )

    def set_progress(self, percent: float) -> None:
        """Record the procedure's progress (%); written with the next flush."""
        self._progress = float(percent)

    def set_attrs(self, **attrs: Any) -> None:
        """Set root attributes. Before going live they are written at once; after, at `close`
        (SWMR cannot create or change attributes), so they are lost if the writer is killed."""
        with self._lock:
            self._check_open()
            self._late_attrs.update(attrs)
            if not self._live:
                self._apply_late(self._h5)

    def set_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Store procedure metadata ``{key: value}`` or ``{key: (value, units)}`` under /metadata
        (now before going live, else at `close`)."""
        with self._lock:
            self._check_open()
            self._late_metadata.extend(from_mapping(metadata))
            if not self._live:
                self._apply_late(self._h5)

    # ------------------------------------------------------------------ flushing
    def flush(self) -> None:
        """Write everything buffered and make it visible to readers (and safe from a crash)."""
        with self._lock:
            self._check_open()
            self._flush_locked()

    def _flush_locked(self, final: bool = False) -> None:
        self._check_failure()
        pending = self._buffered_rows or self._waveforms or self._logs
        if not self._live:
            if self._labels is None:  # columns not known yet: wait for the first append
                if not final:
                    return
                self._define_columns([])
            if pending or self._live_requested:
                self.go_live()
        if self.check_room and pending:
            self._ensure_room()
        try:
            self._write_pending()
        except Exception as exc:
            self._fail(exc)
        self._next_flush = time.monotonic() + (self._flush_interval_s or math.inf)

    def _write_pending(self) -> None:
        if self._buffered_rows:
            self._seal_rows()
            start = self._rows_written
            stop = start + self._buffered_rows
            for ds, pieces in zip(self._datasets, self._pieces):
                data = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
                pieces.clear()
                ds.resize((stop,))
                ds[start:stop] = data
                ds.flush()
            self._rows_written = stop
            self._buffered_rows = 0
        if self._waveforms:
            self._flush_waveforms()
        if self._logs:
            self._flush_logs()
        if self._progress is not None:
            self._ds_progress[()] = self._progress
            self._ds_progress.flush()
            self._progress = None
        self._ds_heartbeat[()] = time.time()
        self._ds_heartbeat.flush()

    # ------------------------------------------------------------------ room and failures
    def _pending_bytes(self) -> int:
        """Upper bound of the bytes the next flush writes (see `space.append_bytes`)."""
        need = 0
        if self._buffered_rows:
            for dtype in self._dtypes:
                need += space.append_bytes(self._rows_written, self._buffered_rows, layout.COLUMN_CHUNK, dtype.itemsize)
        if self._waveforms:
            samples = sum(record[1].size for record in self._waveforms)
            for ds in (self._wf_y, self._wf_x):
                need += space.append_bytes(ds.shape[0], samples, layout.WAVEFORM_CHUNK, 8)
            for ds in self._wf_index.values():
                need += space.append_bytes(ds.shape[0], len(self._waveforms), ds.chunks[0], ds.dtype.itemsize)
        if self._logs:
            for ds in self._log_ds.values():
                need += space.append_bytes(ds.shape[0], len(self._logs), ds.chunks[0], ds.dtype.itemsize)
        return need

    def _ensure_room(self) -> None:
        """Refuse the flush (DiskFullError) unless it and the reserve to end the run fit."""
        need = self._pending_bytes()
        room = space.room_bytes(self.path)
        if room >= need + space.CLOSE_RESERVE_BYTES:
            return
        self.failure = DiskFullError(
            f"disk full: {space.describe_bytes(max(room, 0))} left for {self.path}, the next "
            f"{self._buffered_rows} rows need up to {space.describe_bytes(need)} and "
            f"{space.describe_bytes(space.CLOSE_RESERVE_BYTES)} is kept to end the run; "
            f"the {self._rows_written} rows written before are kept"
        )
        raise self.failure

    def _check_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _fail(self, exc: BaseException) -> None:
        """A write failed inside HDF5: its state for this file can no longer be trusted (closing it
        normally would try the failed writes again and has crashed the process). Detach the file and
        refuse everything from now on; the rows flushed before stay readable (SWMR) and ``tspcm
        repair`` makes the file plain readable again."""
        _detach(self._h5)
        self._detached = True
        what = "disk full" if space.means_no_room(exc) else "writing failed"
        cls = DiskFullError if space.means_no_room(exc) else RunWriteError
        self.failure = cls(
            f"{what}: {self.path}: {_reason(exc)}; the {self._rows_written} rows written "
            f"before are kept (run 'tspcm repair {self.path}' to end the file)"
        )
        raise self.failure from None

    def _seal_rows(self) -> None:
        """Turn the rows appended one by one into one array piece per column (keeps the order of
        row and column appends)."""
        if not self._row_buffers or not self._row_buffers[0]:
            return
        for i, buffer in enumerate(self._row_buffers):
            self._pieces[i].append(self._convert(buffer, i))
            buffer.clear()

    def _convert(self, values: Any, i: int) -> np.ndarray:
        dtype = self._dtypes[i]
        try:
            return np.asarray(values, dtype=dtype).ravel()
        except (TypeError, ValueError):
            return np.array([self._scalar(v, i) for v in values], dtype=dtype)

    def _scalar(self, value: Any, i: int) -> float:
        """One value that numpy could not convert: a pint Quantity, a numeric string, None."""
        if value is None:
            return math.nan
        units = self._units[i]
        if hasattr(value, "magnitude"):
            try:
                return float(value.m_as(units)) if units else float(value.magnitude)
            except Exception:  # pint DimensionalityError and friends
                self._warn_once(f"{self._labels[i]}: value {value} has the wrong units, stored NaN")
                return math.nan
        try:
            return float(value)
        except (TypeError, ValueError):
            self._warn_once(f"{self._labels[i]}: value {value!r} is not a number, stored NaN")
            return math.nan

    def _warn_once(self, message: str) -> None:
        if message not in self._unknown_columns:
            self._unknown_columns.add(message)
            self._logs.append((time.time(), logging.WARNING, "WARNING", message))
            log.warning("%s: %s", self.path, message)

    def _note_unknown(self, row: Mapping[str, Any]) -> None:
        for label in row:
            if label not in self._label_set:
                self._warn_once(
                    f"column {label!r} is not one of the run's columns {self._labels}; its values are not stored"
                )

    def _flush_waveforms(self) -> None:
        records, self._waveforms = self._waveforms, []
        self._wf_samples = 0
        y_ds, x_ds = self._wf_y, self._wf_x
        base = y_ds.shape[0]
        starts, offset = [], base
        for record in records:
            starts.append(offset)
            offset += record[1].size
        y_ds.resize((offset,))
        y_ds[base:offset] = np.concatenate([r[1] for r in records]) if records else []
        x_ds.resize((offset,))
        for start, record in zip(starts, records):
            if record[2] is not None and record[2].size:
                x_ds[start : start + record[2].size] = record[2]
        y_ds.flush()
        x_ds.flush()
        columns = {
            "name": [_fit_bytes(r[0], layout.WAVEFORM_NAME_BYTES) for r in records],
            "start": starts,
            "count": [r[1].size for r in records],
            "t0": [r[3] for r in records],
            "dt": [r[4] for r in records],
            "row": [r[5] for r in records],
            "y_label": [_fit_bytes(r[6], layout.WAVEFORM_LABEL_BYTES) for r in records],
            "y_units": [_fit_bytes(r[7], layout.WAVEFORM_UNITS_BYTES) for r in records],
            "x_label": [_fit_bytes(r[8], layout.WAVEFORM_LABEL_BYTES) for r in records],
            "x_units": [_fit_bytes(r[9], layout.WAVEFORM_UNITS_BYTES) for r in records],
        }
        self._append_streams(self._wf_index, columns)

    def _flush_logs(self) -> None:
        records, self._logs = self._logs, []
        self._append_streams(
            self._log_ds,
            {
                "time": [r[0] for r in records],
                "level": [r[1] for r in records],
                "levelname": [_fit_bytes(r[2], layout.LOG_LEVEL_BYTES) for r in records],
                "message": [_fit_bytes(r[3], layout.LOG_MESSAGE_BYTES) for r in records],
            },
        )

    @staticmethod
    def _append_streams(datasets: dict[str, h5py.Dataset], columns: dict[str, list]) -> None:
        """Append equal-length lists to parallel datasets; the first dataset ("name"/"time") is
        written last so that a reader using its length never sees a half-written record."""
        names = list(datasets)
        for name in names[1:] + names[:1]:
            ds = datasets[name]
            values = columns[name]
            n = ds.shape[0]
            ds.resize((n + len(values),))
            ds[n:] = np.asarray(values, dtype=ds.dtype)
            ds.flush()

    def _apply_late(self, h5: h5py.File) -> None:
        for name, value in self._late_attrs.items():
            h5.attrs[name] = "" if value is None else value
        self._late_attrs.clear()
        if self._late_metadata:
            group = h5.require_group("metadata")
            for record in self._late_metadata:
                if record.key in group:
                    del group[record.key]
            write_parameters(group, self._late_metadata)
            self._late_metadata.clear()

    # ------------------------------------------------------------------ flush thread
    def _start_thread(self) -> None:
        if self._flush_interval_s is None:
            return
        self._thread = threading.Thread(target=self._flush_loop, name=f"RunWriter flush {self.path.name}", daemon=True)
        self._thread.start()

    def _flush_loop(self) -> None:
        while not self._stop_event.wait(self._flush_interval_s):
            with self._lock:
                if self._closed:
                    return
                if not (self._live or self._live_requested or self._buffered_rows):
                    continue
                try:
                    self._flush_locked()
                except RunWriteError:  # kept in self.failure: the next append/flush/close raises it
                    return
                except Exception as exc:  # noqa: BLE001 - anything else is kept for the caller too
                    self.failure = RunWriteError(f"writing {self.path} failed in the flush thread: {exc}")
                    return

    # ------------------------------------------------------------------ closing
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"run file {self.path} is already closed")

    def close(self, status: str = COMPLETED, error: str | None = None) -> None:
        """Flush, end the SWMR session and write the final ``status`` (completed, aborted, failed or
        interrupted), ``end_time``, ``n_rows`` and, for a failure, the ``error`` text.

        After a refused or failed write (`failure`) the status is ``failed`` with that reason; the rows
        that did not fit are dropped. Raises the write error after closing, for the caller to report."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"close: status must be one of {FINAL_STATUSES}, got {status!r}")
        self._stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self._closed:
                return
            flush_error: BaseException | None = None
            if self.failure is None:
                try:
                    self._flush_locked(final=True)
                except Exception as exc:
                    flush_error = exc
            else:
                flush_error = self.failure
            if flush_error is not None:
                status = FAILED
                reason = str(flush_error)
                if not isinstance(flush_error, RunWriteError):
                    reason = f"writing the last rows failed: {reason}"
                error = f"{reason}{chr(10) + error if error and error != reason else ''}"
            self._closed = True
            rows = self._rows_written
            self._status = status
            if self._detached:  # nothing more may go through HDF5 for this file
                raise flush_error
            self._h5.close()
            # SWMR forbids attribute changes: write the final state in a short non-SWMR session.
            # locking=False: a reader that keeps the file open (SWMR) must not block the end of the run
            with h5py.File(self.path, "r+", libver=LIBVER, locking=False) as h5:
                # /parameters and /bench are written before going live, /metadata too unless some came late
                unchanged = None if self._late_metadata else self._digested
                self._apply_late(h5)
                h5.attrs["status"] = status
                h5.attrs["end_time"] = layout.utc_now_iso()
                h5.attrs["n_rows"] = rows
                if error:
                    h5.attrs["error"] = str(error)[:ERROR_TEXT_CHARS]
                write_digest(h5, unchanged)
        if flush_error is not None:
            raise flush_error

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close(COMPLETED)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close(ABORTED, error="KeyboardInterrupt")
        else:
            import traceback

            self.close(FAILED, error="".join(traceback.format_exception(exc_type, exc, tb)))

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("live" if self._live else "open")
        return f"<RunWriter {self.path} {state} rows={self._rows_appended}>"


def _detach(h5: h5py.File) -> None:
    """Close ``h5`` without letting HDF5 write to the file any more: its file descriptor is pointed at
    /dev/null first, so whatever HDF5 still flushes goes nowhere and the close succeeds. The file on
    disk keeps exactly what was written before."""
    try:
        fd = h5.id.get_vfd_handle()
        null = os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    except Exception:  # noqa: BLE001 - not a sec2 file or already closed: nothing to redirect
        pass
    try:
        h5.close()
    except Exception:  # noqa: BLE001
        pass


def _reason(exc: BaseException) -> str:
    """The useful part of an HDF5 error message ("File too large", "No space left on device")."""
    text = " ".join(str(exc).split())
    for marker in ("error message = '", 'error message = "'):
        if marker in text:
            return text.split(marker, 1)[1].split(marker[-1], 1)[0]
    return text or type(exc).__name__


def _close_at_exit(ref: weakref.ref[RunWriter]) -> None:
    """A writer still open when the interpreter exits: keep its rows, mark it interrupted."""
    writer = ref()
    if writer is not None and not writer._closed:
        try:
            writer.close(INTERRUPTED, error="the writing process exited without closing the run")
        except Exception:
            pass
