"""`write_analysis`: store extracted features of a run under ``/analysis/<name>``.

One group per analysis; one dataset per value (scalar or array) with a ``units`` attribute; group
attributes ``method``, ``criterion``, ``software_version``, ``created_time`` plus any extra settings.
Writing the same name again replaces the group (never duplicates it), so re-running an analysis is
idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tspcm_lab.store import layout
from tspcm_lab.store.errors import RunBusyError
from tspcm_lab.store.layout import LIBVER, RUNNING, hdf5_name
from tspcm_lab.store.liveness import writer_alive
from tspcm_lab.store.reader import _check_format, attr, open_h5
from tspcm_lab.store.tree import py_value


def _value(value: Any) -> Any:
    if value is None:
        return h5py.Empty("f8")
    if isinstance(value, str):
        return np.array(value, dtype=h5py.string_dtype())
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return np.array(value, dtype=h5py.string_dtype())
    return np.asarray(value)


def write_analysis(
    path: str | Path,
    name: str,
    values: Mapping[str, Any],
    units: Mapping[str, str] | None = None,
    method: str = "",
    criterion: str = "",
    *,
    described: Mapping[str, Mapping[str, str]] | None = None,
    **settings: Any,
) -> None:
    """Write (or replace) ``/analysis/<name>`` in the run file at `path`.

    :param values: {feature: scalar or array}, e.g. {"vth_V": [0.91, 0.93], "vhold_V": [...]}
    :param units: {feature: units}; features without an entry get "" (dimensionless)
    :param method: how the values were extracted (a function name or a short description)
    :param criterion: the criterion used (e.g. "max dlogI/dV"), "" when none
    :param described: {feature: {"method": ..., "criterion": ...}}: attributes of that value's dataset, where one
        value's meaning is not the group's (e.g. a yes/no figure, or a count that is NaN under a condition)
    :param settings: further attributes of the group (scalars or strings), e.g. compliance_A=1e-4

    Refuses a run that is still being written or whose writer died (repair it first): analysis
    needs a normal, non-SWMR open.
    """
    if not name or "/" in name:
        raise ValueError(f"write_analysis: name must be a non-empty string without '/', got {name!r}")
    units = dict(units or {})
    described = dict(described or {})
    for what, given in (("units", units), ("descriptions", described)):
        unknown = set(given) - set(values)
        if unknown:
            raise ValueError(f"write_analysis: {what} given for unknown values {sorted(unknown)}")
    path = Path(path)
    with _open_for_analysis(path) as h5:
        _write_group(h5, name, values, units, method, criterion, settings, described)


_STATE_ATTRS = ("status", "writer_host", "writer_pid", "writer_process_start")


def _writer_busy(h5: h5py.File) -> bool:
    """True when the run says it is running and its writer is still alive (the writer's attributes are
    read only then: each attribute read costs tens of microseconds, and most runs have ended)."""
    if py_value(attr(h5, "status", "")) != RUNNING:
        return False
    attrs = {k: py_value(attr(h5, k)) for k in _STATE_ATTRS}
    heartbeat = float(h5["run/heartbeat"][()]) if "run/heartbeat" in h5 else None
    return writer_alive(
        str(attrs.get("writer_host", "")),
        int(attrs.get("writer_pid", 0) or 0),
        str(attrs.get("writer_process_start", "")),
        heartbeat,
    )


def _diagnose(path: Path, exc: OSError) -> RunBusyError:
    """Why a run file could not be opened for writing, found through a read-only open (the rare path:
    a file still flagged open for write, locked, or not a run file, which raises `NotARunError`)."""
    with open_h5(path) as (h5, consistent):
        busy = _writer_busy(h5)
    if busy:
        return RunBusyError(f"{path}: is still being written; analyse it when the run has ended")
    if not consistent:
        return RunBusyError(f"{path}: was left open by a writer that died; run 'tspcm repair {path}' first")
    return RunBusyError(f"{path}: cannot open for writing ({exc})")


@contextmanager
def _open_for_analysis(path: Path) -> Iterator[h5py.File]:
    """One ``r+`` session on a finished run file, checked like `open_h5` (format) and refused
    (`RunBusyError`) while a live writer holds the run or when a dead writer left it flagged open.

    The common case costs one open; a file HDF5 will not open for writing is diagnosed afterwards."""
    deadline = time.monotonic() + 3.0
    while True:
        try:
            h5 = h5py.File(path, "r+", libver=LIBVER)
            break
        except OSError as exc:
            if "unable to lock file" in str(exc).lower() and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise _diagnose(path, exc) from None
    with h5:
        _check_format(path, h5)
        if _writer_busy(h5):
            raise RunBusyError(f"{path}: is still being written; analyse it when the run has ended")
        yield h5


def _write_group(
    h5: h5py.File,
    name: str,
    values: Mapping[str, Any],
    units: Mapping[str, str],
    method: str,
    criterion: str,
    settings: Mapping[str, Any],
    described: Mapping[str, Mapping[str, str]],
) -> None:
    """Replace ``/analysis/<name>`` of the open file ``h5`` with the given values and attributes."""
    parent = h5.require_group("analysis")
    key = hdf5_name(name)
    if key in parent:
        del parent[key]
    group = parent.create_group(key)
    group.attrs["method"] = method
    group.attrs["criterion"] = criterion
    group.attrs["software_version"] = layout.software_versions()["version_tspcm_lab"]
    group.attrs["created_time"] = layout.utc_now_iso()
    for setting, value in settings.items():
        group.attrs[setting] = "" if value is None else value
    for feature, value in values.items():
        ds = layout.create_small_dataset(group, hdf5_name(feature), _value(value))
        ds.attrs["units"] = units.get(feature, "")
        for key, text in described.get(feature, {}).items():
            ds.attrs[key] = text
