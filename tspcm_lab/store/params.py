"""Procedure parameters as plain records, and their storage under ``/parameters``.

Each parameter is one scalar (or 1-D, for vectors) dataset ``/parameters/<key>``, where ``key`` is the
procedure's attribute name (``start_voltage``); its attributes say the display label (``Start Voltage``),
the ``units`` and the PyMeasure parameter ``type``, plus ``minimum``/``maximum``/``choices`` when the
parameter has them. Works on duck-typed PyMeasure parameter objects, so this module does not import
PyMeasure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from tspcm_lab.store.layout import create_small_dataset, hdf5_name
from tspcm_lab.store.tree import py_value


@dataclass
class ParameterRecord:
    """One parameter of a run: its value with units and where it came from."""

    key: str  #: attribute name in the procedure, e.g. "start_voltage"
    value: Any  #: float, int, bool, str, list (vectors) or None (unset)
    units: str = ""  #: SI unit symbol, "" for dimensionless or none
    label: str = ""  #: display name, e.g. "Start Voltage" (PyMeasure's ``Parameter.name``)
    kind: str = "Parameter"  #: PyMeasure class name: FloatParameter, IntegerParameter, ...
    extra: dict[str, Any] = field(default_factory=dict)  #: minimum, maximum, choices, ...

    def __str__(self) -> str:
        return f"{self.value} {self.units}".strip()


def from_procedure(procedure: Any) -> list[ParameterRecord]:
    """Records for every parameter of a PyMeasure procedure (``procedure.parameter_objects()``), in
    the order the class declares them."""
    records = []
    objects = procedure.parameter_objects()
    declared = [name for cls in reversed(type(procedure).__mro__) for name in vars(cls)]
    rank = {name: i for i, name in enumerate(dict.fromkeys(declared))}
    for key, parameter in sorted(objects.items(), key=lambda item: rank.get(item[0], len(rank))):
        extra: dict[str, Any] = {}
        for name in ("minimum", "maximum", "decimals", "step"):
            value = getattr(parameter, name, None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                extra[name] = value
        choices = getattr(parameter, "choices", None)
        if choices:
            extra["choices"] = [str(c) for c in choices]
        value = parameter.value if parameter.is_set() else None
        records.append(
            ParameterRecord(
                key=key,
                value=value,
                units=getattr(parameter, "units", None) or "",
                label=parameter.name,
                kind=type(parameter).__name__,
                extra=extra,
            )
        )
    return records


def from_mapping(parameters: Mapping[str, Any]) -> list[ParameterRecord]:
    """Records from ``{key: value}``, ``{key: (value, units)}`` or ``{key: ParameterRecord}``."""
    records = []
    for key, item in parameters.items():
        if isinstance(item, ParameterRecord):
            records.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            records.append(ParameterRecord(key=key, value=item[0], units=item[1] or "", label=key, kind=_kind(item[0])))
        else:
            records.append(ParameterRecord(key=key, value=item, label=key, kind=_kind(item)))
    return records


def _kind(value: Any) -> str:
    """The PyMeasure parameter class matching a plain value's type."""
    if isinstance(value, (bool, np.bool_)):
        return "BooleanParameter"
    if isinstance(value, (int, np.integer)):
        return "IntegerParameter"
    if isinstance(value, (float, np.floating)):
        return "FloatParameter"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "VectorParameter"
    return "Parameter"


def _dataset_value(value: Any) -> Any:
    if value is None:
        return h5py.Empty("f8")
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, str):
        return np.array(value, dtype=h5py.string_dtype())
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if items and all(isinstance(v, str) for v in items):
            return np.array(items, dtype=h5py.string_dtype())
        return np.asarray(items, dtype=float)
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    return np.array(str(value), dtype=h5py.string_dtype())


def write_parameters(group: h5py.Group, records: list[ParameterRecord]) -> None:
    """Write one dataset per record under `group` (``/parameters``)."""
    for order, record in enumerate(records):
        ds = create_small_dataset(group, hdf5_name(record.key), _dataset_value(record.value))
        ds.attrs["label"] = record.label or record.key
        ds.attrs["units"] = record.units or ""
        ds.attrs["type"] = record.kind
        ds.attrs["order"] = order
        for name, value in record.extra.items():
            if name == "choices":
                ds.attrs[name] = np.array([str(v) for v in value], dtype=h5py.string_dtype())
            else:
                ds.attrs[name] = value


def read_parameters(group: h5py.Group) -> dict[str, ParameterRecord]:
    """Read back the records of `write_parameters`, in their original order."""
    records = []
    for key in group:
        ds = group[key]  # not group.items(): it hides a damaged member as None
        if not isinstance(ds, h5py.Dataset):
            continue
        attrs = {name: py_value(value) for name, value in ds.attrs.items()}
        raw = ds[()] if ds.shape is not None else h5py.Empty("f8")
        value = py_value(raw)
        if attrs.get("type") == "BooleanParameter" and isinstance(value, (int, np.integer)):
            value = bool(value)
        extra = {k: v for k, v in attrs.items() if k not in ("label", "units", "type", "order")}
        records.append(
            (
                attrs.get("order", 0),
                ParameterRecord(
                    key=key,
                    value=value,
                    units=attrs.get("units", "") or "",
                    label=attrs.get("label", key) or key,
                    kind=attrs.get("type", "Parameter"),
                    extra=extra,
                ),
            )
        )
    records.sort(key=lambda item: item[0])
    return {record.key: record for _, record in records}
