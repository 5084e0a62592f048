"""`repair_run`: make a run file left by a dead writer readable by plain h5py and h5dump.

A writer killed mid-run leaves the file's "open for write" consistency flag set; HDF5 then refuses a
normal open (SWMR readers, such as ours, still open it). Repair clears the flag (``h5clear -s`` from
hdf5-tools when it is installed, else by copying the file's objects into a fresh file through a SWMR
read), sets ``status`` to ``interrupted`` with ``end_time`` = the writer's last heartbeat, trims the
columns to their common length (a kill between two column flushes can leave one longer), and records
``repaired_time``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from tspcm_lab.store import layout
from tspcm_lab.store.errors import RunBusyError, RunFileError
from tspcm_lab.store.layout import INTERRUPTED, LIBVER, RUNNING
from tspcm_lab.store.reader import open_h5
from tspcm_lab.store.liveness import writer_alive
from tspcm_lab.store.tree import py_value


@dataclass
class RepairResult:
    path: Path
    flag_cleared: bool  #: the consistency flag was set and is now cleared
    status_before: str  #: the status attribute as found
    status: str  #: the status attribute now
    n_rows: int

    def __str__(self) -> str:
        if not self.flag_cleared and self.status_before == self.status:
            return f"{self.path}: nothing to repair (status {self.status}, {self.n_rows} rows)"
        what = ["consistency flag cleared"] if self.flag_cleared else []
        if self.status_before != self.status:
            what.append(f"status {self.status_before} -> {self.status}")
        return f"{self.path}: repaired ({', '.join(what)}; {self.n_rows} rows)"


def _clear_with_h5clear(path: Path) -> bool:
    tool = shutil.which("h5clear")
    if tool is None:
        return False
    result = subprocess.run([tool, "-s", str(path)], capture_output=True, text=True, timeout=60)
    return result.returncode == 0


def _clear_by_copy(path: Path) -> None:
    """Copy every object and root attribute through a SWMR read into a new file, then replace."""
    tmp = path.with_name(f".{path.name}.repair-{os.getpid()}")
    try:
        with h5py.File(path, "r", swmr=True) as src, h5py.File(tmp, "w", libver=LIBVER) as dst:
            for name, value in src.attrs.items():
                dst.attrs[name] = value
            for name in src:
                src.copy(src[name], dst, name=name)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def repair_run(path: str | Path, use_h5clear: bool = True) -> RepairResult:
    """Repair one run file in place (see the module docstring). Refuses a file whose writer is alive
    (`RunBusyError`) and files that are not runs (`NotARunError`)."""
    path = Path(path)
    with open_h5(path) as (h5, consistent):
        attrs = {k: py_value(v) for k, v in h5.attrs.items()}
        heartbeat = float(h5["run/heartbeat"][()]) if "run/heartbeat" in h5 else None
    status_before = str(attrs.get("status", ""))
    if status_before == RUNNING and writer_alive(
            str(attrs.get("writer_host", "")), int(attrs.get("writer_pid", 0) or 0),
            str(attrs.get("writer_process_start", "")), heartbeat):
        raise RunBusyError(f"{path}: is being written right now (pid {attrs.get('writer_pid')} on "
                           f"{attrs.get('writer_host')}); not repairing")
    if not consistent:
        if not (use_h5clear and _clear_with_h5clear(path)):
            _clear_by_copy(path)
    status = status_before
    with h5py.File(path, "r+", libver=LIBVER) as h5:
        n_rows = _trim_columns(h5)
        if status_before == RUNNING or not consistent:
            if status_before == RUNNING:
                status = INTERRUPTED
                h5.attrs["status"] = status
                h5.attrs["end_time"] = (layout.iso_from_unix(heartbeat) if heartbeat
                                        else layout.utc_now_iso())
            h5.attrs["n_rows"] = n_rows
            h5.attrs["repaired_time"] = layout.utc_now_iso()
    try:  # what the user was promised: a plain open now works
        h5py.File(path, "r").close()
    except OSError as exc:
        raise RunFileError(f"{path}: still not readable after repair ({exc})") from None
    return RepairResult(path, not consistent, status_before, status, n_rows)


def _trim_columns(h5: h5py.File) -> int:
    if "data" not in h5:
        return 0
    columns = [ds for ds in h5["data"].values() if isinstance(ds, h5py.Dataset)]
    if not columns:
        return 0
    n = min(ds.shape[0] for ds in columns)
    for ds in columns:
        if ds.shape[0] > n:
            ds.resize((n,))
    _trim_parallel(h5, "log", ("time", "level", "levelname", "message"))
    _trim_parallel(h5, "waveforms", ("name", "start", "count", "t0", "dt", "row", "y_label",
                                     "y_units", "x_label", "x_units"))
    return int(n)


def _trim_parallel(h5: h5py.File, group: str, names: tuple[str, ...]) -> None:
    if group not in h5:
        return
    g = h5[group]
    present = [g[name] for name in names if name in g]
    if not present:
        return
    n = min(ds.shape[0] for ds in present)
    if group == "waveforms" and n and "y" in g:  # drop records whose samples did not all land
        ends = g["start"][:n] + g["count"][:n]
        bad = np.nonzero(ends > g["y"].shape[0])[0]
        if bad.size:
            n = int(bad[0])
    for ds in present:
        if ds.shape[0] > n:
            ds.resize((n,))

