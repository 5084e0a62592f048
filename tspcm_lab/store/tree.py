"""Plain nested dicts <-> HDF5 groups and attributes (used for the bench snapshot).

A dict becomes a group, a scalar or a list becomes an attribute of that group. Lists of numbers are
stored as numeric arrays, lists of strings as string arrays; a list mixing types (or nesting lists)
is stored as its JSON text in an attribute whose name ends in ``.json``. ``None`` is stored as an
empty attribute. Nothing here is evaluated or unpickled on reading.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np

from tspcm_lab.store.layout import hdf5_name

JSON_SUFFIX = ".json"


def _attr_value(value: Any) -> tuple[str, Any]:
    """(suffix, value to store) for one leaf."""
    if value is None:
        return "", h5py.Empty("f8")
    if isinstance(value, (bool, np.bool_)):
        return "", np.bool_(value)
    if isinstance(value, (int, float, str, np.integer, np.floating)):
        return "", value
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if all(isinstance(v, str) for v in items) and items:
            return "", np.array(items, dtype=h5py.string_dtype())
        if all(isinstance(v, (bool, np.bool_)) for v in items) and items:
            return "", np.array(items, dtype=bool)
        if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in items):
            return "", np.asarray(
                items, dtype=float if items and any(isinstance(v, (float, np.floating)) for v in items) else np.int64
            )
        return JSON_SUFFIX, json.dumps(items, default=str)
    return JSON_SUFFIX, json.dumps(value, default=str)


def write_tree(group: h5py.Group, tree: dict[str, Any]) -> None:
    """Write `tree` under `group`: dicts become subgroups, everything else attributes."""
    for key, value in tree.items():
        name = hdf5_name(key)
        if isinstance(value, dict):
            write_tree(group.require_group(name), value)
        else:
            suffix, stored = _attr_value(value)
            group.attrs[name + suffix] = stored


def _py(value: Any) -> Any:
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in value.tolist()]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_tree(group: h5py.Group) -> dict[str, Any]:
    """Read back what `write_tree` wrote, as plain Python values."""
    out: dict[str, Any] = {}
    for name, value in group.attrs.items():
        value = _py(value)
        if name.endswith(JSON_SUFFIX) and isinstance(value, str):
            try:
                out[name[: -len(JSON_SUFFIX)]] = json.loads(value)
                continue
            except ValueError:
                pass
        out[name] = value
    for name in group:
        item = group[name]  # not group.items(): it hides a damaged member as None
        if isinstance(item, h5py.Group):
            out[name] = read_tree(item)
    return out


def py_value(value: Any) -> Any:
    """An attribute or dataset value as a plain Python value (str for strings, list for arrays)."""
    return _py(value)
