"""Results for the GUI: rows shown live from memory while the run file is being written.

The window's plot reads ``results.data`` every 0.2 s in the GUI thread while the worker thread writes
the same run file. Reading a file that this very process has open for SWMR writing is not safe:
HDF5 shares one open file between the two handles, and the writer's final non-SWMR session (status,
end time) was seen to be lost -- runs polled that way ended ``running`` (read back as ``interrupted``)
in 15 of 20 tries, and a reader that opened the file before its columns existed showed no rows at all.
Other processes (``tspcm runs``, ``h5ls``) read through SWMR as designed; inside the GUI:

- while the run writes, :class:`LiveResults` serves the rows the worker emitted, from memory;
- once the run file is closed, it reads the file (the truth, exactly as a reopened run shows it);
- the bench snapshot is taken when the run starts, in the worker thread, not when it is queued
  (a queued run may start minutes later, after another run changed the cell).

A lock keeps the switch atomic: the GUI thread never opens the file between the worker's creating it
and closing it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from tspcm_lab.store.pymeasure_glue import HDF5Results

#: scope traces kept in memory while a run writes (the views show the latest; the file keeps them all)
MAX_LIVE_WAVEFORMS = 60


class LiveResults(HDF5Results):
    """:class:`HDF5Results` of a run queued from the GUI (see the module docstring).

    :param snapshot: called in the worker thread when the run starts; returns the bench snapshot
        stored under /bench (e.g. ``BenchSession.snapshot``)
    Other arguments as for :class:`HDF5Results`.
    """

    def __init__(self, procedure, data_filename, *, snapshot: Callable[[], Mapping[str, Any]] | None = None, **kwargs):
        super().__init__(procedure, data_filename, **kwargs)
        self._snapshot = snapshot
        self._live_lock = threading.RLock()
        self._live = False
        self._live_rows: list[Mapping[str, Any]] = []  #: rows emitted since the last `data`
        self._live_pieces: list[pd.DataFrame] = []
        self._live_frame: pd.DataFrame | None = None
        self._live_waveforms: dict[str, list] = {}  #: name -> [Waveform] emitted so far (latest kept)

    @property
    def live(self) -> bool:
        """True from the creation of the run file until it is closed."""
        return self._live

    # ---------------------------------------------------------------- worker side
    def open_writer(self):
        with self._live_lock:
            self._live = True  # before the file exists: the GUI thread must not open it from now on
        if self._snapshot is not None and self.writer is None:
            self.bench = dict(self._snapshot())
        return super().open_writer()

    def close_writer(self, status: str, error: str | None = None) -> None:
        try:
            super().close_writer(status, error)
        finally:
            self.end_live()

    def end_live(self) -> None:
        """The run file is closed (or was never made): from now on ``data`` reads the file."""
        with self._live_lock:
            if not self._live:
                return
            self._live = False
            self._live_rows, self._live_pieces, self._live_frame = [], [], None
            self._live_waveforms = {}
            self._run = None  # read the finished file afresh
            self._pieces, self._rows_read, self._data = [], 0, None

    def add_live_row(self, record: Mapping[str, Any]) -> None:
        """One emitted row (``emit('results', row)``)."""
        with self._live_lock:
            if self._live:
                self._live_rows.append(dict(record))

    def add_live_columns(self, record: Mapping[str, Any]) -> None:
        """Whole columns of equal length (``emit('batch results', {...})``)."""
        with self._live_lock:
            if self._live:
                self._flush_live_rows()
                self._live_pieces.append(pd.DataFrame({k: list(v) for k, v in record.items()}))

    def add_live_waveform(self, record: Mapping[str, Any]) -> None:
        """One ``emit('waveform', {...})`` record (a scope trace), kept as the reader's Waveform; the
        latest MAX_LIVE_WAVEFORMS only (the file has them all)."""
        from tspcm_lab.gui.viewspec import column_units
        from tspcm_lab.store.reader import Waveform

        y = np.asarray(record.get("y", ()), dtype=float)
        x = record.get("x")
        y_label, x_label = str(record.get("y_label", "")), str(record.get("x_label", "Time (s)"))
        wave = Waveform(
            name=str(record.get("name", "")),
            y=y,
            t0=float(record.get("t0", 0.0) or 0.0),
            dt=float(record["dt"]) if x is None and record.get("dt") else math.nan,
            row=0,
            y_label=y_label,
            y_units=column_units(y_label),
            x_label=x_label,
            x_units=column_units(x_label),
            x_values=None if x is None else np.asarray(x, dtype=float),
        )
        with self._live_lock:
            if self._live:
                self._live_waveforms.setdefault(wave.name, []).append(wave)
                while len(self._live_waveforms) > MAX_LIVE_WAVEFORMS:
                    self._live_waveforms.pop(next(iter(self._live_waveforms)))

    def live_waveforms(self) -> dict[str, list]:
        with self._live_lock:
            return {name: list(waves) for name, waves in self._live_waveforms.items()}

    def _flush_live_rows(self) -> None:
        if self._live_rows:
            self._live_pieces.append(pd.DataFrame(self._live_rows))
            self._live_rows = []

    # ---------------------------------------------------------------- GUI side
    @property
    def data(self) -> pd.DataFrame:
        """The rows so far: from memory while the run writes, from the run file otherwise."""
        with self._live_lock:
            if self._live:
                self._flush_live_rows()
                if self._live_pieces:
                    pieces = ([self._live_frame] if self._live_frame is not None else []) + self._live_pieces
                    frame = pd.concat(pieces, ignore_index=True)
                    for column in self.procedure.DATA_COLUMNS:  # a column not emitted yet plots as empty
                        if column not in frame.columns:
                            frame[column] = float("nan")
                    self._live_frame, self._live_pieces = frame, []
                if self._live_frame is None:
                    return pd.DataFrame(columns=list(self.procedure.DATA_COLUMNS))
                return self._live_frame
            frame = super().data
            if self._run is not None and not self._run.column_labels:
                self._run = None  # opened before its columns existed: look again next time
            return frame

    def reload(self) -> None:
        with self._live_lock:
            if self._live:
                return  # memory holds every emitted row; the file is the writer's until it is closed
            super().reload()
