"""What the window shows for a procedure: its views and its parameter groups, read from plain data on
the procedure class (no Qt, nothing of ours imported by the procedure).

A procedure declares (both optional)::

    VIEWS = (
        {"title": "I-V", "x": "Voltage (V)", "y": "Current (A)", "series": "Cycle", "log_y": True,
         "abs_y": True, "marks": "auto"},
        {"title": "Conductance map", "kind": "map", "row": "Row", "column": "Column",
         "value": "Conductance (S)", "frame": ["Stage", "Epoch"]},
    )
    PARAMETER_GROUPS = (("Threshold extraction", ("threshold_criterion", "min_jump_decades"), True),)

Keys of an ``xy`` view (the default kind), every column a ``DATA_COLUMNS`` label:

- ``x``, ``y``: columns (``y`` may be a list: one series per column);
- ``series``: a column or list of columns; rows with the same values form one line (no line joins two);
  ``color_by`` the column that picks the colour (default: the first series column); ``labels`` maps
  its values to legend text (``{"1": "potentiation", "-1": "depression"}``), else ``"<column> <value>"``;
- ``x_cumulative``: successive series follow one another along x (pulse counts restarting per phase);
- ``log_x``, ``log_y``, ``abs_y`` (|y|, so that both polarities show on a log axis);
- ``style``: ``lines`` (default), ``points`` or ``both``;
- ``marks``: columns holding one value per series in x's units, drawn as vertical lines (``"auto"``:
  every such column: constant within each series, same units as x), read out under the plot;
- ``hlines``: parameter keys drawn as horizontal lines at the run's value (a criterion, a threshold);
- ``fit``: an analysis overlay (``"neurosim"``); ``features``: analysis features written under the plot;
- ``events``: a column whose change between series is marked (``"Stage"``: where the forgetting was).

A ``map`` view: ``row``, ``column``, ``value``, ``frame`` (columns that number the maps, the last
one shown live), ``target_parameter`` (a 1/0 pattern outlined), ``threshold_parameter``; clicking a
cell plots its history. A ``traces`` view shows the run's stored scope traces (``y_label`` a current)
with the events detected at ``threshold_parameter``.

Parameter groups: ``(title, keys, folded)``, keys ``"*"`` for every parameter the declaring class
itself declares; every class of the procedure's MRO may declare its own (a mixin groups its
parameters), the first declaration of a key met from the most derived class on wins; keys in no group are
the main "Measurement" group, shown first, as are the ``KEY_PARAMETERS``. Folded groups start closed.
"""

from __future__ import annotations

import re
from typing import Any

MAIN_GROUP = "Measurement"
KINDS = ("xy", "map", "traces")
_UNITS = re.compile(r"\(([^()]*)\)\s*$")


def column_units(label: str) -> str:
    """ "Current (A)" -> "A"; "Cycle" -> ""."""
    match = _UNITS.search(label or "")
    return match[1].strip() if match else ""


def column_name(label: str) -> str:
    """ "Current (A)" -> "Current"."""
    return _UNITS.sub("", label or "").strip()


def as_list(value: Any) -> list:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def default_views(procedure_class: type) -> list[dict]:
    """One plain view for a procedure that declares none: time (or the first column) against the next."""
    columns = list(procedure_class.DATA_COLUMNS)
    x = "Time (s)" if "Time (s)" in columns else columns[0]
    y = next((c for c in columns if c != x), x)
    return [{"title": f"{column_name(y)} vs {column_name(x)}", "kind": "xy", "x": x, "y": y}]


def views_of(procedure_class: type) -> list[dict]:
    """The procedure's views with the columns it does not have dropped (a renamed column makes its
    view or mark disappear rather than fail); the default view when none is left."""
    columns = set(procedure_class.DATA_COLUMNS)
    out = []
    for spec in getattr(procedure_class, "VIEWS", ()) or ():
        spec = dict(spec)
        kind = spec.setdefault("kind", "xy")
        if kind not in KINDS:
            continue
        if kind == "xy":
            spec["y"] = [y for y in as_list(spec.get("y")) if y in columns]
            if spec.get("x") not in columns or not spec["y"]:
                continue
            spec["series"] = [s for s in as_list(spec.get("series")) if s in columns]
            if spec.get("color_by") not in columns:
                spec["color_by"] = spec["series"][0] if spec["series"] else None
            if spec.get("marks") != "auto":
                spec["marks"] = [m for m in as_list(spec.get("marks")) if m in columns]
            if spec.get("events") not in columns:
                spec["events"] = None
        elif kind == "map":
            if not all(spec.get(k) in columns for k in ("row", "column", "value")):
                continue
            spec["frame"] = [f for f in as_list(spec.get("frame")) if f in columns]
        spec.setdefault("title", kind)
        out.append(spec)
    return out or default_views(procedure_class)


def parameter_groups(procedure_class: type, keys: list[str]) -> list[tuple[str, list[str], bool]]:
    """[(title, keys in declaration order, folded)]: the main group first, then the open groups, then
    the folded ones (see the module docstring)."""
    assigned: dict[str, str] = {}
    folded: dict[str, bool] = {}
    order: list[str] = []
    for klass in procedure_class.__mro__:
        for title, members, fold in vars(klass).get("PARAMETER_GROUPS", ()) or ():
            if members == "*":  # every parameter this class itself declares
                members = [name for name, value in vars(klass).items() if hasattr(value, "is_set")]
            if title not in folded:
                folded[title] = bool(fold)
                order.append(title)
            for key in members:
                assigned.setdefault(key, title)
    key_parameters = set(getattr(procedure_class, "KEY_PARAMETERS", ()) or ())
    groups: dict[str, list[str]] = {MAIN_GROUP: []}
    for key in keys:
        title = assigned.get(key, MAIN_GROUP)
        if key in key_parameters and folded.get(title):  # a key parameter is never folded away
            title = MAIN_GROUP
        groups.setdefault(title, []).append(key)
    titles = [MAIN_GROUP] + [t for t in order if not folded[t]] + [t for t in order if folded[t]]
    return [(t, groups[t], folded.get(t, False)) for t in dict.fromkeys(titles) if groups.get(t)]
