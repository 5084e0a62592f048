"""Reading run files: `open_run` for one run, `list_runs` for a folder of them.

Works on completed runs, on runs being written right now (through SWMR) and on runs whose writer died
(the file is still flagged "open for write"; we read it in SWMR mode, which HDF5 allows). Each access
opens the file briefly and closes it again, so a reader never blocks the writer and always sees the
rows flushed so far.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tspcm_lab.si import format_parameter
from tspcm_lab.store import layout
from tspcm_lab.store.digest import DIGEST_ATTR, metadata_digest
from tspcm_lab.store.errors import CorruptRunError, NotARunError, RunBusyError, RunFileError
from tspcm_lab.store.layout import INTERRUPTED, RUNNING
from tspcm_lab.store.liveness import writer_alive
from tspcm_lab.store.params import ParameterRecord, read_parameters
from tspcm_lab.store.tree import py_value, read_tree

#: how long a reader retries a file that another process holds locked (being created) (s)
LOCK_RETRY_S = 3.0


def _reason(text: str) -> str:
    """The useful part of an HDF5 error message, e.g. "file signature not found"."""
    inner = re.findall(r"\(([^()]*)\)", text)
    return inner[-1] if inner else text.splitlines()[0] if text else "unknown error"


def _is_lock_error(text: str) -> bool:
    return "unable to lock file" in text.lower()


#: what HDF5 raises for a damaged object (a failed checksum, an address past the end, a bad header)
DAMAGE_ERRORS = (
    OSError,
    RuntimeError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    UnicodeDecodeError,
    OverflowError,
)


@contextmanager
def reading(path: Path, what: str) -> Iterator[None]:
    """Turn any HDF5 failure inside the block into `CorruptRunError` naming the file and ``what``
    (an object path such as /data/current_A)."""
    try:
        yield
    except RunFileError:
        raise
    except DAMAGE_ERRORS as exc:
        raise CorruptRunError(f"{path}: {what} is damaged ({_reason(str(exc))})") from None


def damage_reason(exc: BaseException, ds: h5py.Dataset | None = None) -> str:
    """The reason a read failed, in words: HDF5 reports a failed Fletcher-32 check only as a failed
    filter."""
    text = _reason(str(exc))
    if ds is not None and "filter returned failure" in text and ds.fletcher32:
        return "its Fletcher-32 checksum does not match: the stored bytes were changed"
    return text


def read_dataset(path: Path, ds: h5py.Dataset, selection=()) -> np.ndarray:
    """``ds[selection]`` (all of it by default); a damaged chunk raises `CorruptRunError` naming it."""
    try:
        return ds[selection]
    except DAMAGE_ERRORS as exc:
        raise CorruptRunError(f"{path}: {ds.name} is damaged ({damage_reason(exc, ds)})") from None


@contextmanager
def open_h5(path: str | Path) -> Iterator[tuple[h5py.File, bool]]:
    """Open a run file read-only; yields (file, consistent).

    `consistent` is False when the file is still flagged open for write (a live SWMR writer, or a
    writer that died): it is then opened in SWMR read mode. Raises `NotARunError` with one line for
    files that HDF5 cannot open at all."""
    path = Path(path)
    if not path.exists():
        raise NotARunError(f"{path}: no such file")
    if path.is_dir():
        raise NotARunError(f"{path}: is a directory, not a run file")
    deadline = time.monotonic() + LOCK_RETRY_S
    consistent = True
    while True:
        try:
            h5 = h5py.File(path, "r") if consistent else h5py.File(path, "r", swmr=True)
            break
        except OSError as exc:
            text = str(exc)
            if consistent and "already open for write" in text:
                consistent = False
                continue
            if _is_lock_error(text) and time.monotonic() < deadline:
                time.sleep(0.05)
                consistent = True
                continue
            if _is_lock_error(text):
                raise RunBusyError(f"{path}: locked by another process that is creating it") from None
            if "already open for write" in text or "not already open for swmr writing" in text.lower():
                raise NotARunError(
                    f"{path}: left open for write by a writer that stopped before it "
                    f"went live; run 'tspcm repair {path}'"
                ) from None
            raise NotARunError(f"{path}: not a readable HDF5 file ({_reason(text)})") from None
    try:
        with reading(path, "the file's structure"):
            _check_format(path, h5)
            yield h5, consistent
    finally:
        try:
            h5.close()
        except DAMAGE_ERRORS:  # closing a damaged read-only file: nothing to lose
            pass


def attr(obj, name: str, default: Any = None) -> Any:
    """``obj.attrs.get(name, default)`` in one HDF5 look-up instead of two (an existence check, then
    the read): attribute reads are a large part of opening a small run file."""
    try:
        return obj.attrs[name]
    except KeyError:
        return default


def _check_format(path: Path, h5: h5py.File) -> None:
    fmt = py_value(attr(h5, "format", None))
    if fmt != layout.FORMAT_NAME:
        raise NotARunError(
            f"{path}: an HDF5 file but not a tspcm run file (no root attribute format = {layout.FORMAT_NAME!r})"
        )
    version = str(py_value(attr(h5, "format_version", "")))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise NotARunError(f"{path}: run file with an unreadable format_version {version!r}") from None
    if major > layout.FORMAT_MAJOR:
        raise NotARunError(
            f"{path}: run file format {version} is newer than this reader ({layout.FORMAT_VERSION}); update tspcm-lab"
        )


@dataclass
class Waveform:
    """One waveform record: samples `y` against `x` (a uniform time base or explicit values)."""

    name: str
    y: np.ndarray
    t0: float
    dt: float  #: NaN when `x_values` holds explicit x
    row: int  #: /data rows appended before this record
    y_label: str = ""
    y_units: str = ""
    x_label: str = ""
    x_units: str = ""
    x_values: np.ndarray | None = None

    @property
    def x(self) -> np.ndarray:
        """x of every sample: t0 + dt * i for a time base, else the stored values."""
        if self.x_values is not None:
            return self.x_values
        return self.t0 + self.dt * np.arange(self.y.size)


def _live_state(h5: h5py.File) -> tuple[dict[str, Any], float | None]:
    """The root attributes that change while a run is written (status, writer, end), and its heartbeat."""
    attrs = {
        name: py_value(value)
        for name, value in h5.attrs.items()
        if name in ("status", "writer_host", "writer_pid", "writer_process_start", "end_time", "n_rows", "error")
    }
    heartbeat = float(h5["run/heartbeat"][()]) if "run/heartbeat" in h5 else None
    return attrs, heartbeat


def _status_from(attrs: dict[str, Any], heartbeat: float | None) -> str:
    status = str(attrs.get("status", ""))
    if status != RUNNING:
        return status
    alive = writer_alive(
        str(attrs.get("writer_host", "")),
        int(attrs.get("writer_pid", 0) or 0),
        str(attrs.get("writer_process_start", "")),
        heartbeat,
    )
    return RUNNING if alive else INTERRUPTED


class Run:
    """A run file, read through its path. Construct with `open_run`.

    Small things (attributes, parameters, bench) are read once at opening; columns, waveforms, the
    log, the analysis and the status are read from the file at each access, so a run that is still
    being written shows its latest flushed state.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with open_h5(self.path) as (h5, consistent):
            self._read_static(h5)
            self.consistent = consistent

    @classmethod
    def snapshot(cls, path: str | Path) -> Run:
        """The run read once, in one open of the file: its static parts and every flushed row.

        `columns` and `read_columns` then serve those rows from memory (no further I/O), so a
        batch analysis reads each column exactly once; status, waveforms, log and analysis are still
        read from the file at each access."""
        run = cls.__new__(cls)
        run.path = Path(path)
        with open_h5(run.path) as (h5, consistent):
            datasets = run._read_static(h5)
            run.consistent = consistent
            n = min((ds.shape[0] for ds in datasets), default=0)
            # whole datasets read with [()] (h5py's fast path); a column caught ahead mid-flush is cut to n
            run._rows = {
                label: read_dataset(run.path, ds, () if ds.shape[0] == n else slice(0, n))
                for (_, label, _), ds in zip(run._column_info, datasets)
            }
        return run

    def _read_static(self, h5: h5py.File) -> list[h5py.Dataset]:
        """Read attributes, parameters, metadata, bench and the column index; returns the open column
        datasets (in column order) for a caller that reads the rows in the same session."""
        with reading(self.path, "the root attributes"):
            self.attrs: dict[str, Any] = {name: py_value(value) for name, value in h5.attrs.items()}
        with reading(self.path, "/parameters"):
            self.parameters: dict[str, ParameterRecord] = (
                read_parameters(h5["parameters"]) if "parameters" in h5 else {}
            )
        with reading(self.path, "/metadata"):
            self.metadata: dict[str, ParameterRecord] = read_parameters(h5["metadata"]) if "metadata" in h5 else {}
        with reading(self.path, "/bench"):
            self.bench: dict[str, Any] = read_tree(h5["bench"]) if "bench" in h5 else {}
        stored = self.attrs.get(DIGEST_ATTR)
        if stored is not None and stored != metadata_digest(self.attrs, self.parameters, self.metadata, self.bench):
            raise CorruptRunError(
                f"{self.path}: its metadata (root attributes, /parameters, /metadata or /bench) "
                f"is damaged: checksum {DIGEST_ATTR} does not match (changed since it was "
                f"written; a program that edits them must update it: "
                f"tspcm_lab.store.digest.write_digest)"
            )
        self._column_info: list[tuple[str, str, str]] = []
        datasets: list[h5py.Dataset] = []
        with reading(self.path, "/data"):
            if "data" in h5:
                data = h5["data"]  # members by name: .items() would hide a damaged one as None
                items = [
                    (py_value(attr(ds, "order", 0)), key, ds)
                    for key, ds in ((key, data[key]) for key in data)
                    if isinstance(ds, h5py.Dataset)
                ]
                for _, key, ds in sorted(items, key=lambda item: item[0]):
                    self._column_info.append(
                        (key, str(py_value(attr(ds, "label", key))), str(py_value(attr(ds, "units", ""))))
                    )
                    datasets.append(ds)
        return datasets

    # --------------------------------------------------------------- identity
    @property
    def procedure(self) -> str:
        """Short procedure name, e.g. "iv-sweep"."""
        return str(self.attrs.get("procedure", ""))

    @property
    def procedure_class(self) -> str:
        """Class path "module:QualName" of the procedure that wrote the run."""
        return str(self.attrs.get("procedure_class", ""))

    @property
    def title(self) -> str:
        return str(self.attrs.get("title", ""))

    @property
    def seed(self) -> int | None:
        seed = self.attrs.get("seed", -1)
        return None if seed is None or int(seed) < 0 else int(seed)

    @property
    def start_time(self) -> str:
        return str(self.attrs.get("start_time", ""))

    @property
    def parameter_values(self) -> dict[str, Any]:
        """{key: value} of the parameters (units in `parameters[key].units`)."""
        return {key: record.value for key, record in self.parameters.items()}

    # --------------------------------------------------------------- live state
    @property
    def status(self) -> str:
        """running, completed, aborted, failed, interrupted or imported, read now.

        ``running`` in the file with a writer that is no longer alive reads as ``interrupted``."""
        with open_h5(self.path) as (h5, consistent):
            self.consistent = consistent
            attrs, heartbeat = _live_state(h5)
        self.attrs.update(attrs)
        return _status_from(attrs, heartbeat)

    @property
    def heartbeat(self) -> float | None:
        """Unix time (s) of the writer's last flush."""
        with open_h5(self.path) as (h5, _):
            return float(h5["run/heartbeat"][()]) if "run/heartbeat" in h5 else None

    @property
    def progress(self) -> float | None:
        """Last progress (%) the procedure reported, None if it never did."""
        with open_h5(self.path) as (h5, _):
            value = float(h5["run/progress"][()]) if "run/progress" in h5 else float("nan")
        return None if np.isnan(value) else value

    @property
    def error(self) -> str:
        """The error text of a failed run ("" otherwise)."""
        return str(self.attrs.get("error", "") or "")

    # --------------------------------------------------------------- data
    @property
    def column_labels(self) -> list[str]:
        """Column labels as the procedure named them, e.g. ["Voltage (V)", "Current (A)"]."""
        return [label for _, label, _ in self._column_info]

    @property
    def units(self) -> dict[str, str]:
        """{label: units} of the columns."""
        return {label: units for _, label, units in self._column_info}

    @property
    def column_keys(self) -> dict[str, str]:
        """{label: dataset name under /data}, e.g. {"Current (A)": "current_A"}."""
        return {label: key for key, label, _ in self._column_info}

    @property
    def n_rows(self) -> int:
        """Rows readable now (the shortest column, for a file caught mid-flush)."""
        with open_h5(self.path) as (h5, _):
            return self._n_rows(h5)

    def _n_rows(self, h5: h5py.File) -> int:
        if not self._column_info:
            return 0
        return min(h5["data"][key].shape[0] for key, _, _ in self._column_info)

    def read_columns(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """{label: array} of rows start..stop (all flushed rows by default)."""
        rows = getattr(self, "_rows", None)
        if rows is not None:  # a snapshot: the rows read at opening
            n = min((a.shape[0] for a in rows.values()), default=0)
            stop = n if stop is None else min(stop, n)
            start = min(start, stop)
            return {label: a[start:stop].copy() for label, a in rows.items()}
        with open_h5(self.path) as (h5, _):
            n = self._n_rows(h5)
            stop = n if stop is None else min(stop, n)
            start = min(start, stop)
            return {
                label: read_dataset(self.path, h5["data"][key], slice(start, stop))
                for key, label, _ in self._column_info
            }

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """{label: numpy array} of every flushed row."""
        return self.read_columns()

    def to_pandas(self, start: int = 0, stop: int | None = None):
        """The rows as a pandas DataFrame with the original labels; ``df.attrs["units"]`` maps
        label -> units."""
        import pandas as pd

        frame = pd.DataFrame(self.read_columns(start, stop), columns=self.column_labels)
        frame.attrs["units"] = self.units
        frame.attrs["path"] = str(self.path)
        return frame

    def to_xarray(self):
        """The rows as an xarray Dataset over dimension "row", with ``units``/``label`` attributes
        and the parameters and root attributes as dataset attributes."""
        import xarray as xr

        columns = self.columns
        data_vars = {
            key: ("row", columns[label], {"units": units, "label": label}) for key, label, units in self._column_info
        }
        attrs = {k: v for k, v in self.attrs.items() if isinstance(v, (str, int, float))}
        for key, record in self.parameters.items():
            if isinstance(record.value, (str, int, float)):
                attrs[f"parameter_{key}"] = record.value
                attrs[f"parameter_{key}_units"] = record.units
        return xr.Dataset(data_vars, attrs=attrs)

    # --------------------------------------------------------------- waveforms, log, analysis
    @property
    def waveforms(self) -> dict[str, list[Waveform]]:
        """{name: [Waveform, ...]} in the order they were added."""
        out: dict[str, list[Waveform]] = {}
        with open_h5(self.path) as (h5, _):
            if "waveforms" not in h5:
                return out
            wf = h5["waveforms"]
            n = wf["name"].shape[0]  # written last: every index entry below n is complete
            if n == 0:
                return out
            index = {
                name: read_dataset(self.path, wf[name], slice(0, n))
                for name in ("name", "start", "count", "t0", "dt", "row", "y_label", "y_units", "x_label", "x_units")
            }
            n_samples = wf["y"].shape[0]
            y_all = read_dataset(self.path, wf["y"], slice(0, n_samples))
            x_all = read_dataset(self.path, wf["x"], slice(0, wf["x"].shape[0]))
        text = {
            k: [v.decode("utf-8", errors="replace") for v in index[k]]
            for k in ("name", "y_label", "y_units", "x_label", "x_units")
        }
        for i in range(n):
            start, count = int(index["start"][i]), int(index["count"][i])
            if start + count > n_samples:
                break
            dt = float(index["dt"][i])
            x_values = None
            if np.isnan(dt):
                x_values = x_all[start : start + count] if start + count <= x_all.size else None
            out.setdefault(text["name"][i], []).append(
                Waveform(
                    name=text["name"][i],
                    y=y_all[start : start + count],
                    t0=float(index["t0"][i]),
                    dt=dt,
                    row=int(index["row"][i]),
                    y_label=text["y_label"][i],
                    y_units=text["y_units"][i],
                    x_label=text["x_label"][i],
                    x_units=text["x_units"][i],
                    x_values=x_values,
                )
            )
        return out

    @property
    def log(self) -> list[dict[str, Any]]:
        """The run's log records: [{"time": unix s, "level": int, "levelname": str, "message": str}]."""
        with open_h5(self.path) as (h5, _):
            if "log" not in h5:
                return []
            lg = h5["log"]
            n = lg["time"].shape[0]
            columns = {
                name: read_dataset(self.path, lg[name], slice(0, n))
                for name in ("time", "level", "levelname", "message")
            }
        n = min(len(v) for v in columns.values())
        return [
            {
                "time": float(columns["time"][i]),
                "level": int(columns["level"][i]),
                "levelname": columns["levelname"][i].decode("utf-8", errors="replace"),
                "message": columns["message"][i].decode("utf-8", errors="replace"),
            }
            for i in range(n)
        ]

    @property
    def analysis(self) -> dict[str, dict[str, Any]]:
        """{name: {"values": {k: v}, "units": {k: units}, "method": ..., "criterion": ..., ...}}."""
        out: dict[str, dict[str, Any]] = {}
        with open_h5(self.path) as (h5, _):
            if "analysis" not in h5:
                return out
            analysis = h5["analysis"]
            for name in analysis:
                group = analysis[name]  # not .items(): it hides a damaged member as None
                if not isinstance(group, h5py.Group):
                    continue
                entry = {k: py_value(v) for k, v in group.attrs.items()}
                entry["values"] = {}
                entry["units"] = {}
                for key in group:
                    ds = group[key]
                    if isinstance(ds, h5py.Dataset):
                        entry["values"][key] = py_value(ds[()])
                        entry["units"][key] = str(py_value(ds.attrs.get("units", "")))
                out[name] = entry
        return out

    def summary(self) -> dict[str, Any]:
        """One row for `list_runs`."""
        return {
            "procedure": self.procedure,
            "status": self.status,
            "title": self.title,
            "start_time": self.start_time,
            "n_rows": self.n_rows,
            "parameters": self.key_parameter_text(),
            "path": str(self.path),
            "error": "",
        }

    def key_parameter_text(self, limit: int = 4) -> str:
        """ "label=value unit" of the key parameters (``key_parameters`` attribute, else the first
        few)."""
        keys = self.attrs.get("key_parameters") or list(self.parameters)[:limit]
        if isinstance(keys, str):
            keys = [keys]
        parts = []
        for key in keys:
            record = self.parameters.get(key)
            if record is not None:
                parts.append(f"{record.label or key}={format_parameter(record.value, record.units)}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<Run {self.path} procedure={self.procedure!r} status={self.attrs.get('status')!r}>"


def data_rows(h5: h5py.File) -> int:
    """Rows readable in /data now: its shortest column (a file caught mid-flush), 0 without columns."""
    columns = [ds for ds in h5["data"].values() if isinstance(ds, h5py.Dataset)] if "data" in h5 else []
    return int(min((ds.shape[0] for ds in columns if ds.shape), default=0))


def read_ending(path: str | Path) -> tuple[str, int]:
    """(status, rows) of a run file, as `Run.status` and `Run.n_rows` read them, without reading its
    metadata (parameters, bench: ~20 ms a file): for the runner, which asks only how a run it just
    wrote ended. Raises `NotARunError` for a file HDF5 cannot open."""
    with open_h5(Path(path)) as (h5, _):
        attrs, heartbeat = _live_state(h5)
        rows = data_rows(h5)
    return _status_from(attrs, heartbeat), rows


def open_run(path: str | Path) -> Run:
    """Open a run file for reading. Raises `NotARunError` (one line) for anything that is not one."""
    return Run(path)


def read_run(path: str | Path) -> Run:
    """Read a run file once (static parts and every flushed row, one open); see `Run.snapshot`.

    For batch work on finished runs; use `open_run` to follow a run that is still being written."""
    return Run.snapshot(path)


RUN_SUFFIXES = (".h5", ".hdf5")


def summarize(path: str | Path) -> dict[str, Any]:
    """`Run.summary` of one file; a file that cannot be read gives status ``unreadable`` and the
    reason in ``error`` (never raises for a damaged file)."""
    try:
        return open_run(path).summary()
    except RunFileError as exc:
        return unreadable_row(path, str(exc))
    except DAMAGE_ERRORS as exc:  # anything HDF5 raised that the reader did not name
        return unreadable_row(path, f"{path}: damaged ({_reason(str(exc))})")


def unreadable_row(path: str | Path, error: str) -> dict[str, Any]:
    """The `list_runs` row of a file that cannot be read."""
    return {
        "procedure": "",
        "status": "unreadable",
        "title": "",
        "start_time": "",
        "n_rows": 0,
        "parameters": "",
        "path": str(path),
        "error": error,
    }


def find_run_files(paths, recursive: bool = True) -> list[str]:
    """The run files named by ``paths``: files as given, folders searched for .h5/.hdf5 (with
    ``recursive``, their subfolders too), in the order given (each folder's files sorted), each once.
    FileNotFoundError names a path that does not exist."""
    out: dict[str, None] = {}
    for p in map(Path, paths):
        if p.is_dir():
            found = p.rglob("*") if recursive else p.glob("*")
            out.update(dict.fromkeys(str(f) for f in sorted(found) if f.suffix.lower() in RUN_SUFFIXES and f.is_file()))
        elif p.exists():
            out[str(p)] = None
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return list(out)


def list_runs(folder: str | Path, recursive: bool = False):
    """A pandas DataFrame with one row per file ending in .h5/.hdf5 under `folder`: procedure,
    status, title, start_time, n_rows, parameters (key parameters as text), path and error (the
    reason a file could not be read as a run; its other fields are then empty). Sorted by start time.
    """
    import pandas as pd

    folder = Path(folder)
    if not folder.is_dir():
        raise NotARunError(f"{folder}: not a folder")
    pattern = "**/*" if recursive else "*"
    rows = []
    for path in sorted(folder.glob(pattern)):
        if path.suffix.lower() not in RUN_SUFFIXES or not path.is_file():
            continue
        rows.append(summarize(path))
    columns = ["procedure", "status", "title", "start_time", "n_rows", "parameters", "path", "error"]
    frame = pd.DataFrame(rows, columns=columns)
    if len(frame):
        frame = frame.sort_values(["start_time", "path"], kind="stable").reset_index(drop=True)
    return frame
