"""`repair_run`: make a run file left by a dead writer (or damaged) readable by plain h5py and h5dump,
keeping every row that can be read, and prove it before saying so.

What a crash leaves: a writer killed mid-run (kill -9, power cut) leaves the HDF5 "open for write"
flags set, so a normal open is refused (a SWMR reader still sees every flushed row), and an end-of-file
address in the superblock from when the file went live, so everything written later lies "beyond the
end" (``h5clear -s`` alone therefore truncates the file and loses the rows). A damaged file (a flipped
bit, a zeroed page) has objects whose checksums fail.

What repair does:

1. Opens the file for reading: plainly; else in SWMR mode (a SWMR writer that died); else through a
   temporary copy with a fixed superblock (a writer that died before going live; see `superblock`).
   Refuses a file whose writer is alive (`RunBusyError`) and files that are not runs (`NotARunError`).
2. Reads every object in full. A finished, closed file whose every object reads, and which h5dump
   reads, is left alone ("nothing to repair").
3. Otherwise copies every readable group, attribute and dataset into a fresh file next to it (rows
   chunk by chunk: a damaged chunk is left as the fill value and reported), trims the columns to their
   common length (a kill between two column flushes leaves one longer), sets ``status`` ``interrupted``
   (for a run that was running) with ``end_time`` = the writer's last heartbeat, ``n_rows`` and
   ``repaired_time`` (and ``repair_lost``, naming what could not be read).
4. Verifies the new file: plain h5py reads every dataset in full, and h5dump (when installed) exits 0.
   Only then it replaces the original, which is kept as ``<name>.bak`` (unless ``backup=False`` and
   nothing was lost). If verification fails, the original is left untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from tspcm_lab.store import layout, superblock
from tspcm_lab.store.digest import DIGEST_ATTR, metadata_digest, read_metadata, write_digest
from tspcm_lab.store.errors import NotARunError, RunBusyError, RunFileError
from tspcm_lab.store.layout import INTERRUPTED, LIBVER, RUNNING
from tspcm_lab.store.liveness import writer_alive
from tspcm_lab.store.reader import _check_format, _reason, damage_reason, data_rows
from tspcm_lab.store.tree import py_value

#: elements read at a time when a dataset is read or copied in full
BLOCK_ELEMENTS = 1 << 20


@dataclass
class RepairResult:
    path: Path
    status_before: str  #: the status attribute as found
    status: str  #: the status attribute now
    n_rows: int  #: rows in the (repaired) file
    rebuilt: bool = False  #: a new file replaced the original
    backup: Path | None = None  #: where the original was kept
    lost: list[str] = field(default_factory=list)  #: objects (or row ranges) that could not be read
    checked_with: str = "h5py"  #: "h5py and h5dump", or "h5py" when h5dump is not installed

    @property
    def ok(self) -> bool:
        """True when every object of the file could be read (nothing lost)."""
        return not self.lost

    def __str__(self) -> str:
        if not self.rebuilt:
            return (
                f"{self.path}: nothing to repair (status {self.status}, {self.n_rows} rows, every object "
                f"read by {self.checked_with})"
            )
        change = (
            f"status {self.status_before} -> {self.status}"
            if self.status_before != self.status
            else f"status {self.status}"
        )
        kept = f"; original kept as {self.backup.name}" if self.backup else ""
        if self.lost:
            shown = "; ".join(self.lost[:3]) + (f"; and {len(self.lost) - 3} more" if len(self.lost) > 3 else "")
            return (
                f"{self.path}: partly repaired ({change}; {self.n_rows} rows kept; unreadable and left "
                f"out: {shown}{kept})"
            )
        return (
            f"{self.path}: repaired ({change}; {self.n_rows} rows, every object read back by {self.checked_with}{kept})"
        )


class RepairError(RunFileError):
    """The repaired copy did not pass verification; the original was left untouched."""


# ---------------------------------------------------------------------------------------------- reading
@contextmanager
def _open_source(path: Path) -> Iterator[tuple[h5py.File, bool]]:
    """The run file open for reading; yields (file, closed_cleanly)."""
    if not path.exists():
        raise NotARunError(f"{path}: no such file")
    if path.is_dir():
        raise NotARunError(f"{path}: is a directory, not a run file")
    try:
        h5 = h5py.File(path, "r", locking=False)
    except OSError as exc:
        error = str(exc)
    else:
        with h5:
            yield h5, True
        return
    if "already open for write" not in error:  # e.g. truncated, not HDF5: HDF5 says why
        raise NotARunError(f"{path}: not a readable HDF5 file ({_reason(error)})")
    try:  # left by a SWMR writer that died: every flushed object is readable this way
        h5 = h5py.File(path, "r", swmr=True, locking=False)
    except OSError:
        pass
    else:
        with h5:
            yield h5, False
        return
    # flagged by a writer that died before it went live (SWMR): read a copy with a fixed superblock
    fixed = path.with_name(f".{path.name}.repair-src-{os.getpid()}")
    try:
        try:
            superblock.fixed_copy(path, fixed)
            h5 = h5py.File(fixed, "r", locking=False)
        except (OSError, ValueError) as exc:
            raise NotARunError(f"{path}: not a readable HDF5 file ({_reason(str(exc))})") from None
        with h5:
            yield h5, False
    finally:
        fixed.unlink(missing_ok=True)


def _read_all(ds: h5py.Dataset) -> None:
    """Read every element of ``ds`` (in blocks); raises what HDF5 raises."""
    if ds.shape is None or ds.ndim == 0 or ds.ndim > 1:
        ds[()]
        return
    n = ds.shape[0]
    step = max(BLOCK_ELEMENTS, ds.chunks[0] if ds.chunks else 0)
    for start in range(0, n, step):
        ds[start : min(n, start + step)]


def _attributes(obj, problems: list[str]) -> Iterator[tuple[str, object]]:
    """(name, value) of every attribute of ``obj`` that reads; the others are named in ``problems``."""
    try:
        names = list(obj.attrs.keys())
    except Exception as exc:  # noqa: BLE001 - any HDF5 error is a finding
        problems.append(f"{obj.name} attributes: {_reason(str(exc))}")
        return
    for name in names:
        try:
            value = obj.attrs[name]
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{obj.name} attribute {name}: {_reason(str(exc))}")
            continue
        yield name, value


def _members(group: h5py.Group, problems: list[str]) -> Iterator[tuple[str, str, object]]:
    """(path, name, object) of every member of ``group`` that opens; the others are named in ``problems``."""
    try:
        names = list(group.keys())
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{group.name}: members unreadable: {_reason(str(exc))}")
        return
    for name in names:
        where = f"{group.name.rstrip('/')}/{name}"
        try:
            obj = group[name]
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{where}: {_reason(str(exc))}")
            continue
        yield where, name, obj


def unreadable_objects(h5: h5py.File) -> list[str]:
    """Every object and attribute of an open file that cannot be read in full: ["/data/x: reason", ...]."""
    problems: list[str] = []

    def walk(obj) -> None:
        for _ in _attributes(obj, problems):
            pass
        if isinstance(obj, h5py.Group):
            for _, _, member in _members(obj, problems):
                walk(member)
            return
        try:
            _read_all(obj)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{obj.name}: {damage_reason(exc, obj)}")

    walk(h5)
    return problems


def verify(path: str | Path) -> tuple[list[str], str]:
    """(problems, checked_with): a plain h5py open that reads every object in full, then h5dump of the
    whole file when it is installed. ``problems`` is empty when the file is readable by both."""
    path = Path(path)
    try:
        with h5py.File(path, "r", locking=False) as h5:
            problems = unreadable_objects(h5)
    except OSError as exc:
        return [f"h5py cannot open it: {_reason(str(exc))}"], "h5py"
    tool = shutil.which("h5dump")
    if tool is None:
        return problems, "h5py"
    timeout = 60 + path.stat().st_size / 5e6
    try:
        out = subprocess.run(
            [tool, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return problems + [f"h5dump did not finish in {timeout:.0f} s"], "h5py and h5dump"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no message"])[-1]
        problems.append(f"h5dump exit code {out.returncode}: {last}")
    return problems, "h5py and h5dump"


# ---------------------------------------------------------------------------------------------- copying
def _copy_attrs(src, dst, lost: list[str]) -> None:
    for name, value in _attributes(src, lost):
        try:
            if isinstance(value, h5py.Empty):
                dst.attrs[name] = value
            else:
                dst.attrs.create(name, value, dtype=src.attrs.get_id(name).dtype)
        except Exception as exc:  # noqa: BLE001
            lost.append(f"{src.name} attribute {name}: {_reason(str(exc))}")


def _copy_dataset(ds: h5py.Dataset, group: h5py.Group, name: str, lost: list[str]) -> None:
    where = ds.name
    if ds.shape is None:  # an empty dataspace (h5py.Empty)
        out = group.create_dataset(name, data=h5py.Empty(ds.dtype))
    elif ds.ndim == 0 or ds.ndim > 1 or not ds.chunks:
        try:
            data = ds[()]
        except Exception as exc:  # noqa: BLE001
            lost.append(f"{where}: {_reason(str(exc))}")
            return
        out = group.create_dataset(
            name, data=data, dtype=ds.dtype, chunks=ds.chunks, maxshape=ds.maxshape if ds.chunks else None
        )
    else:
        chunk = ds.chunks[0]
        out = group.create_dataset(
            name,
            shape=ds.shape,
            maxshape=ds.maxshape,
            chunks=ds.chunks,
            dtype=ds.dtype,
            fillvalue=ds.fillvalue,
            fletcher32=ds.fletcher32,
            compression=ds.compression,
            compression_opts=ds.compression_opts,
            shuffle=ds.shuffle,
        )
        n = ds.shape[0]
        step = max(chunk, BLOCK_ELEMENTS // chunk * chunk)
        for start in range(0, n, step):
            stop = min(n, start + step)
            try:
                out[start:stop] = ds[start:stop]
                continue
            except Exception:  # noqa: BLE001 - find the damaged chunks one by one
                pass
            for first in range(start, stop, chunk):
                last = min(stop, first + chunk)
                try:
                    out[first:last] = ds[first:last]
                except Exception as exc:  # noqa: BLE001
                    lost.append(f"{where} rows {first}-{last - 1}: {damage_reason(exc, ds)}")
    _copy_attrs(ds, out, lost)


def _copy_group(src: h5py.Group, dst: h5py.Group, lost: list[str]) -> None:
    _copy_attrs(src, dst, lost)
    for where, name, obj in _members(src, lost):
        try:
            if isinstance(obj, h5py.Group):
                _copy_group(obj, dst.create_group(name), lost)
            else:
                _copy_dataset(obj, dst, name, lost)
        except Exception as exc:  # noqa: BLE001
            lost.append(f"{where}: {_reason(str(exc))}")


# ---------------------------------------------------------------------------------------------- repair
def repair_run(path: str | Path, backup: bool = True) -> RepairResult:
    """Repair one run file (see the module docstring). Raises `RunBusyError` for a file whose writer is
    alive, `NotARunError` for a file that is not a run (or not HDF5 at all), `RepairError` when the
    repaired copy fails verification (the original then stays as it was)."""
    path = Path(path)
    with ExitStack() as stack:
        h5, clean = stack.enter_context(_open_source(path))
        _check_format(path, h5)
        attrs = {k: py_value(v) for k, v in h5.attrs.items()}
        try:
            heartbeat = float(h5["run/heartbeat"][()]) if "run/heartbeat" in h5 else None
        except Exception:  # noqa: BLE001 - a damaged heartbeat: treat as unknown
            heartbeat = None
        status_before = str(attrs.get("status", ""))
        if status_before == RUNNING and writer_alive(
            str(attrs.get("writer_host", "")),
            int(attrs.get("writer_pid", 0) or 0),
            str(attrs.get("writer_process_start", "")),
            heartbeat,
        ):
            raise RunBusyError(
                f"{path}: is being written right now (pid {attrs.get('writer_pid')} on "
                f"{attrs.get('writer_host')}); not repairing"
            )
        if clean and status_before != RUNNING:
            problems, checked_with = verify(path)
            if not problems and not _damaged_metadata(h5):
                return RepairResult(path, status_before, status_before, data_rows(h5), checked_with=checked_with)
        fresh = path.with_name(f".{path.name}.repair-{os.getpid()}")
        lost: list[str] = _damaged_metadata(h5)
        try:
            with h5py.File(fresh, "w", libver=LIBVER) as out:
                _copy_group(h5, out, lost)
                status = _finish(out, status_before, heartbeat, lost)
                n_rows = data_rows(out)
            stack.close()  # the source (and a temporary fixed copy of it) is closed before replacing
            problems, checked_with = verify(fresh)
            if problems:
                raise RepairError(
                    f"{path}: repair failed, original left untouched: the repaired copy does "
                    f"not read back ({'; '.join(problems[:3])})"
                )
            kept = _replace(path, fresh, backup or bool(lost))
        finally:
            fresh.unlink(missing_ok=True)
    return RepairResult(
        path, status_before, status, n_rows, rebuilt=True, backup=kept, lost=lost, checked_with=checked_with
    )


def _finish(h5: h5py.File, status_before: str, heartbeat: float | None, lost: list[str]) -> str:
    """Equal column lengths, the final status and the repair record in the new file; returns the status."""
    n_rows = _trim_columns(h5)
    status = status_before
    if status_before == RUNNING:
        status = INTERRUPTED
        h5.attrs["end_time"] = layout.iso_from_unix(heartbeat) if heartbeat else layout.utc_now_iso()
    h5.attrs["status"] = status
    h5.attrs["n_rows"] = n_rows
    h5.attrs["repaired_time"] = layout.utc_now_iso()
    if lost:
        h5.attrs["repair_lost"] = np.array(lost, dtype=h5py.string_dtype())
    write_digest(h5)
    return status


def _damaged_metadata(h5: h5py.File) -> list[str]:
    """["metadata: ..."] when the file's metadata checksum does not match (a damaged text), else []."""
    try:
        attrs, parameters, metadata, bench = read_metadata(h5)
    except Exception:  # noqa: BLE001 - named object by object during the copy
        return []
    stored = attrs.get(DIGEST_ATTR)
    if stored is None or stored == metadata_digest(attrs, parameters, metadata, bench):
        return []
    return [f"metadata: checksum {DIGEST_ATTR} does not match (a text attribute is damaged; copied as found)"]


def _replace(path: Path, fresh: Path, backup: bool) -> Path | None:
    """Put ``fresh`` in place of ``path``; with ``backup`` the original stays as ``<name>.bak``
    (``.bak2``... if taken) through a hard link (a copy where links are not possible)."""
    kept = None
    if backup:
        kept = path.with_name(path.name + ".bak")
        n = 2
        while kept.exists():
            kept = path.with_name(f"{path.name}.bak{n}")
            n += 1
        try:
            os.link(path, kept)
        except OSError:
            shutil.copy2(path, kept)
    os.replace(fresh, path)
    return kept


def _trim_columns(h5: h5py.File) -> int:
    if "data" not in h5:
        return 0
    columns = [ds for ds in h5["data"].values() if isinstance(ds, h5py.Dataset) and ds.shape]
    if not columns:
        return 0
    n = min(ds.shape[0] for ds in columns)
    for ds in columns:
        if ds.shape[0] > n:
            ds.resize((n,))
    _trim_parallel(h5, "log", ("time", "level", "levelname", "message"))
    _trim_parallel(
        h5, "waveforms", ("name", "start", "count", "t0", "dt", "row", "y_label", "y_units", "x_label", "x_units")
    )
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
