"""What a PyMeasure parameter allows, in words, in one place: :func:`allowed_text` for ``tspcm procedures``
and the messages on values typed by a user ("0.1 .. 5 V", "one of: dc, pulsed", "true or false"), and
:func:`describe_range` for a procedure's own validation ("a number from 0.1 V to 5 V")."""

from __future__ import annotations

import math
from typing import Any

from pymeasure.experiment.parameters import (
    BooleanParameter,
    FloatParameter,
    IntegerParameter,
    ListParameter,
    Parameter,
    VectorParameter,
)

#: PyMeasure's default bounds of Float/IntegerParameter (+-1e9): "no range given"
DEFAULT_BOUND = 1e9

#: a procedure class's ``PARAMETER_GROUPS``: (title, parameter keys or "*" for every parameter the class
#: itself declares, folded), read by tspcm_lab.gui.viewspec.parameter_groups
ParameterGroups = tuple[tuple[str, str | tuple[str, ...], bool], ...]


def bound(parameter: Any, name: str) -> float | None:
    """The parameter's ``minimum`` or ``maximum`` (``name``); None when it gives none (or PyMeasure's default)."""
    value = getattr(parameter, name, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return None if abs(value) >= DEFAULT_BOUND else value


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def allowed_text(parameter: Any) -> str:
    """The values ``parameter`` allows, in words."""
    units = getattr(parameter, "units", None) or ""
    unit_text = f" {units}" if units else ""
    choices = getattr(parameter, "choices", None)
    if choices:
        return "one of: " + ", ".join(str(c) for c in choices)
    if isinstance(parameter, BooleanParameter):
        return "true or false"
    if isinstance(parameter, VectorParameter):
        return f"a list of {getattr(parameter, '_length', '?')} numbers like [1, 2]{unit_text}"
    lo, hi = bound(parameter, "minimum"), bound(parameter, "maximum")
    if lo is not None and hi is not None:
        return f"{_number(lo)} .. {_number(hi)}{unit_text}"
    if lo is not None:
        return f">= {_number(lo)}{unit_text}"
    if hi is not None:
        return f"<= {_number(hi)}{unit_text}"
    if isinstance(parameter, (FloatParameter, IntegerParameter)):
        return "any number" + unit_text
    return "text"


def with_units(value: Any, units: str | None = None) -> str:
    """``value`` as text (``%g`` for numbers) with its units: "5 V", "0.01 A"."""
    text = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)
    return f"{text} {units}" if units else text


def describe_range(parameter: Parameter) -> str:
    """The allowed values of a PyMeasure parameter as text, e.g. ``"a number from 0.1 V to 5 V"``."""
    units = getattr(parameter, "units", None) or ""
    if isinstance(parameter, (FloatParameter, IntegerParameter)):
        kind = "an integer" if isinstance(parameter, IntegerParameter) else "a number"
        return f"{kind} from {with_units(parameter.minimum, units)} to {with_units(parameter.maximum, units)}"
    if isinstance(parameter, ListParameter):
        return "one of " + ", ".join(repr(c) for c in parameter.choices)
    if isinstance(parameter, BooleanParameter):
        return "true or false"
    if isinstance(parameter, VectorParameter):
        return f"a list of {parameter._length} numbers"
    return "a value"
