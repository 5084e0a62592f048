"""Convert a PyMeasure CSV result (header of parameters and metadata, then labelled columns) into a
run file, so a lab's older data joins the same analysis.

The header is PyMeasure's own::

    #Procedure: <package.module.ClassName>
    #Parameters:
    #	Start Voltage: 0.5 V
    #Metadata:
    #	Serial: 42
    #Data:
    Voltage (V),Current (A)
    ...

When the procedure class imports here, its parameter objects convert each value (types, units,
attribute names); otherwise a value "1.5 V" is read as the number 1.5 with units "V", "10" as an
integer, "True"/"False" as booleans, anything else as text, and the key is the label in snake case.
A CSV does not say how the run ended, so the status is ``imported``; ``start_time`` is the CSV's
modification time (``start_time_source`` says so).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tspcm_lab.store import layout
from tspcm_lab.store.errors import NotARunError
from tspcm_lab.store.layout import IMPORTED
from tspcm_lab.store.params import ParameterRecord
from tspcm_lab.store.writer import RunWriter

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf)$", re.IGNORECASE)


def parse_header(lines: list[str]) -> tuple[str, dict[str, str], dict[str, str]]:
    """(procedure "module.Class", {label: text} of parameters, {label: text} of metadata)."""
    procedure = ""
    sections: dict[str, dict[str, str]] = {"Parameters": {}, "Metadata": {}}
    current: dict[str, str] | None = None
    for raw in lines:
        line = raw[1:].rstrip("\r\n")
        if line.startswith("Procedure:"):
            match = re.search(r"<([^>]+)>", line)
            procedure = match.group(1) if match else line.split(":", 1)[1].strip()
            current = None
        elif line.rstrip(":") in sections and line.endswith(":"):
            current = sections[line.rstrip(":")]
        elif line.startswith("Data:"):
            current = None
        elif line.startswith("\t") and current is not None:
            label, sep, value = line[1:].partition(": ")
            if sep:
                current[label] = value.encode("latin-1", "backslashreplace").decode("unicode_escape")
    return procedure, sections["Parameters"], sections["Metadata"]


def parse_value(text: str) -> tuple[Any, str]:
    """(value, units) of one header value written by ``str(parameter)``."""
    text = text.strip()
    if text in ("True", "False"):
        return text == "True", ""
    if _NUMBER.match(text):
        return (int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)), ""
    head, _, tail = text.rpartition(" ")
    if head and _NUMBER.match(head) and re.fullmatch(r"[^\s\d\[\]][^\s]*", tail):
        return (int(head) if re.fullmatch(r"[+-]?\d+", head) else float(head)), tail
    if text.startswith("[") and "]" in text:
        inner, _, tail = text[1:].partition("]")
        try:
            return [float(v) for v in inner.split(",") if v.strip()], tail.strip()
        except ValueError:
            pass
    return text, ""


def _snake(label: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", label).strip("_").lower() or "parameter"


def _records(class_path: str, texts: dict[str, str]) -> list[ParameterRecord]:
    """Typed records, through the procedure's own parameter objects when its class imports."""
    from tspcm_lab.store.pymeasure_glue import import_procedure_class

    objects: dict[str, tuple[str, Any]] = {}
    module, _, name = class_path.rpartition(".")
    cls = import_procedure_class(f"{module}:{name}") if module else None
    if cls is not None:
        try:
            objects = {p.name: (key, p) for key, p in cls().parameter_objects().items()}
        except Exception:
            objects = {}
    records = []
    for label, text in texts.items():
        if label in objects:
            key, parameter = objects[label]
            try:
                parameter.value = text
                records.append(ParameterRecord(
                    key=key, value=parameter.value, units=getattr(parameter, "units", None) or "",
                    label=label, kind=type(parameter).__name__))
                continue
            except Exception:
                pass
        value, units = parse_value(text)
        kind = {bool: "BooleanParameter", int: "IntegerParameter", float: "FloatParameter",
                list: "VectorParameter"}.get(type(value), "Parameter")
        records.append(ParameterRecord(key=_snake(label), value=value, units=units, label=label,
                                       kind=kind))
    return records


def import_pymeasure_csv(csv_path: str | os.PathLike, output: str | os.PathLike | None = None,
                         overwrite: bool = False) -> Path:
    """Write the run file for a PyMeasure CSV (default: same name, suffix .h5); return its path."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise NotARunError(f"{csv_path}: no such file")
    output = Path(output) if output is not None else csv_path.with_suffix(".h5")
    header: list[str] = []
    try:
        with open(csv_path, encoding="utf-8") as f:
            for line in f:
                if not line.startswith("#"):
                    break
                header.append(line)
    except UnicodeDecodeError:
        raise NotARunError(f"{csv_path}: not a text file") from None
    class_path, parameter_texts, metadata_texts = parse_header(header)
    if not class_path:
        raise NotARunError(f"{csv_path}: not a PyMeasure CSV result (no '#Procedure: <...>' header line)")
    try:
        frame = pd.read_csv(csv_path, comment="#")
    except (ValueError, pd.errors.ParserError) as exc:
        raise NotARunError(f"{csv_path}: unreadable data section ({exc})") from None
    module, _, class_name = class_path.rpartition(".")
    records = _records(class_path, parameter_texts)
    metadata = {r.key: r for r in _records("", metadata_texts)}
    mtime = layout.iso_from_unix(csv_path.stat().st_mtime)
    writer = RunWriter.create(
        output, parameters={r.key: r for r in records}, columns=list(frame.columns),
        procedure_class=f"{module}:{class_name}" if module else class_name,
        procedure_name=class_name, metadata=metadata, title=f"imported from {csv_path.name}",
        start_time=mtime, attrs={"imported_from": str(csv_path.resolve()),
                                 "imported_time": layout.utc_now_iso(),
                                 "start_time_source": "modification time of the imported CSV"},
        flush_interval_s=None, live=False, overwrite=overwrite)
    try:
        columns = {}
        for label in frame.columns:
            values = pd.to_numeric(frame[label], errors="coerce").to_numpy(dtype=np.float64)
            if np.isnan(values).sum() > frame[label].isna().sum():
                writer.log("WARNING", f"column {label!r}: non-numeric values stored as NaN")
            columns[label] = values
        writer.append_columns(columns)
    except BaseException as exc:
        writer.close("failed", error=f"import failed: {exc}")
        raise
    writer.close(IMPORTED)
    return output
