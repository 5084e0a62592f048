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
            text = line.split(":", 1)[1].strip()
            # the whole class path between the outer brackets: a class defined in a function has
            # '<locals>' in its path ("<analysis.write_csv.<locals>.IVSweep>")
            if text.startswith("<") and text.endswith(">"):
                text = text[1:-1]
            procedure = text
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


def split_class_path(class_path: str) -> tuple[str, str]:
    """("module", "QualName") of a dotted class path as PyMeasure writes it: the last part is the class;
    for a class defined in a function the qualified name starts at that function
    ("analysis.write_csv.<locals>.IVSweep" -> ("analysis", "write_csv.<locals>.IVSweep"))."""
    parts = class_path.split(".")
    if "<locals>" in parts:
        first = max(parts.index("<locals>") - 1, 0)
        return ".".join(parts[:first]), ".".join(parts[first:])
    return ".".join(parts[:-1]), parts[-1]


def registered_name(class_path: str) -> str | None:
    """The procedure name under which the class "module:QualName" is registered (the project's own
    procedures and installed plugins: "procedures.iv_sweep:IVSweepProcedure" -> "iv-sweep"), or None."""
    from tspcm_lab.plugins import registered

    names = [name for name, entries in registered().items() if any(e.value == class_path for e in entries)]
    return names[0] if len(names) == 1 else None


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


def _records(cls: type | None, texts: dict[str, str]) -> list[ParameterRecord]:
    """Typed records, through the procedure's own parameter objects when its class is known."""
    objects: dict[str, tuple[str, Any]] = {}
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
                records.append(
                    ParameterRecord(
                        key=key,
                        value=parameter.value,
                        units=getattr(parameter, "units", None) or "",
                        label=label,
                        kind=type(parameter).__name__,
                    )
                )
                continue
            except Exception:
                pass
        value, units = parse_value(text)
        kind = {
            bool: "BooleanParameter",
            int: "IntegerParameter",
            float: "FloatParameter",
            list: "VectorParameter",
        }.get(type(value), "Parameter")
        records.append(ParameterRecord(key=_snake(label), value=value, units=units, label=label, kind=kind))
    return records


def import_pymeasure_csv(
    csv_path: str | os.PathLike,
    output: str | os.PathLike | None = None,
    overwrite: bool = False,
    procedure: str | None = None,
) -> Path:
    """Write the run file for a PyMeasure CSV (default: same name, suffix .h5); return its path.

    ``procedure``: the registered procedure (e.g. "iv-sweep") the CSV is a run of: its parameter
    declarations give the keys and types, and its name goes into the file, so that ``tspcm analyze``
    finds its analysis. Without it, a CSV written by a registered procedure's class is recognized by its
    class path; any other keeps its class name. ProcedureLookupError for an unknown ``procedure``."""
    from tspcm_lab.plugins import find
    from tspcm_lab.store.pymeasure_glue import import_procedure_class

    entry = find(procedure) if procedure is not None else None
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
    module, qualname = split_class_path(class_path)
    stored_class = f"{module}:{qualname}" if module else qualname
    if entry is not None:
        cls = entry.load()
        name = entry.name
    else:
        cls = import_procedure_class(stored_class) if module else None
        name = registered_name(stored_class) or qualname.rpartition(".")[2]
    records = _records(cls, parameter_texts)
    metadata = {r.key: r for r in _records(None, metadata_texts)}
    mtime = layout.iso_from_unix(csv_path.stat().st_mtime)
    writer = RunWriter.create(
        output,
        parameters={r.key: r for r in records},
        columns=list(frame.columns),
        procedure_class=stored_class,
        procedure_name=name,
        metadata=metadata,
        title=f"imported from {csv_path.name}",
        start_time=mtime,
        attrs={
            "imported_from": str(csv_path.resolve()),
            "imported_time": layout.utc_now_iso(),
            "start_time_source": "modification time of the imported CSV",
        },
        flush_interval_s=None,
        live=False,
        overwrite=overwrite,
    )
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
