"""Parameter values as users give them: text (``--set key=value``, sequence files) or typed (campaign
TOML), converted by the parameter's PyMeasure type: ``"100 uA"`` for a parameter in A (units through
:mod:`instruments.units`), ``"true"``, ``"[1, 2]"``, a choice by its name. Nothing is evaluated."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from pymeasure.experiment.parameters import (
    BooleanParameter,
    FloatParameter,
    IntegerParameter,
    ListParameter,
    VectorParameter,
)

from instruments.units import split_quantity, unit_factor
from procedures.library.errors import ParameterError
from procedures.library.parameters import allowed_text

if TYPE_CHECKING:  # pragma: no cover
    from tspcm_lab.runner.session import BenchSession


class ParameterInputError(ParameterError):
    """A value typed by a user (``--set``, a sequence or campaign file, the window's fields) that cannot be
    read or is out of range; ``parameter`` names it, the message says what is allowed."""


def is_parameter_error(exc: BaseException) -> bool:
    """A refusal of a parameter value: a :class:`~procedures.library.errors.ParameterError` (ours, a
    procedure's, a plugin's subclass), or a plugin's own ValueError of the same shape (a ``parameter``
    attribute naming it)."""
    return isinstance(exc, ParameterError) or (
        isinstance(exc, ValueError) and isinstance(getattr(exc, "parameter", None), str)
    )


def format_number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _number(parameter: Any, key: str, value: Any) -> float:
    """A float from a number or a text with an optional unit (with SI prefix) matching the parameter's
    (:func:`instruments.units.unit_factor`)."""
    units = getattr(parameter, "units", None) or ""
    if isinstance(value, (bool, np.bool_)):
        raise ParameterInputError(
            key, f"{parameter.name} needs a number, got {value!r}; allowed: {allowed_text(parameter)}"
        )
    if isinstance(value, (int, float, np.number)):
        number = float(value)
    else:
        split = split_quantity(str(value))
        if split is None:
            raise ParameterInputError(
                key,
                f"{parameter.name}: cannot read {value!r} as a number"
                + (f" in {units}" if units else "")
                + f"; allowed: {allowed_text(parameter)}",
            )
        number, written = split
        if written:
            factor = unit_factor(written, units)
            if factor is None:
                raise ParameterInputError(
                    key,
                    f"{parameter.name}: {value!r} is not in {units or 'plain numbers'}"
                    f"; allowed: {allowed_text(parameter)}",
                )
            number *= factor
    if not math.isfinite(number):
        raise ParameterInputError(
            key, f"{parameter.name} must be finite, got {value!r}; allowed: {allowed_text(parameter)}"
        )
    return number


def _in_range(parameter: Any, key: str, value: Any) -> float | int:
    """A Float/IntegerParameter's value, checked against its minimum and maximum."""
    label, allowed = parameter.name, allowed_text(parameter)
    number: float | int = _number(parameter, key, value)
    if isinstance(parameter, IntegerParameter):
        if not float(number).is_integer():
            raise ParameterInputError(key, f"{label} must be an integer, got {value!r}; allowed: {allowed}")
        number = int(number)
    lo, hi = getattr(parameter, "minimum", None), getattr(parameter, "maximum", None)
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        units = getattr(parameter, "units", None) or ""
        shown = f"{format_number(number)} {units}".strip()
        raise ParameterInputError(key, f"{label} = {shown} is out of range; allowed: {allowed}")
    return number


def _boolean(parameter: Any, key: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ParameterInputError(key, f"{parameter.name} must be true or false, got {value!r}")


def _choice(parameter: Any, key: str, value: Any) -> Any:
    for choice in list(getattr(parameter, "choices", None) or []):
        if value == choice or str(value).strip() == str(choice):
            return choice
    raise ParameterInputError(key, f"{parameter.name} = {value!r} is not allowed; allowed: {allowed_text(parameter)}")


def _vector(parameter: Any, key: str, value: Any) -> list[float]:
    label, allowed = parameter.name, allowed_text(parameter)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        items = [item for item in text.split(",") if item.strip()]
    else:
        try:
            items = list(value)
        except TypeError:
            raise ParameterInputError(key, f"{label} needs a list, got {value!r}; allowed: {allowed}") from None
    numbers = [_number(parameter, key, item) for item in items]
    length = getattr(parameter, "_length", len(numbers))
    if len(numbers) != length:
        raise ParameterInputError(key, f"{label} needs {length} numbers, got {len(numbers)}; allowed: {allowed}")
    return numbers


def convert_value(parameter: Any, key: str, value: Any) -> Any:
    """``value`` (text or typed) converted by the PyMeasure parameter's type and checked against its
    range; ParameterInputError naming ``key`` and the allowed values otherwise."""
    if isinstance(parameter, (FloatParameter, IntegerParameter)) or isinstance(
        getattr(parameter, "minimum", None), (int, float)
    ):
        return _in_range(parameter, key, value)
    if isinstance(parameter, BooleanParameter):
        return _boolean(parameter, key, value)
    if isinstance(parameter, ListParameter):
        return _choice(parameter, key, value)
    if isinstance(parameter, VectorParameter):
        return _vector(parameter, key, value)
    # a plain Parameter: text (or what the TOML gave)
    try:
        return parameter.convert(value)
    except (ValueError, TypeError) as exc:
        raise ParameterInputError(key, f"{parameter.name} = {value!r} is not allowed ({exc})") from None


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


def resolve_key(objects: Mapping[str, Any], name: str) -> str:
    """The attribute key of a parameter given by its key or its label ("stop_voltage_V" or "Stop voltage")."""
    if name in objects:
        return name
    wanted = _norm(name)
    for key, parameter in objects.items():
        if _norm(key) == wanted or _norm(parameter.name) == wanted:
            return key
    from tspcm_lab.cli import did_you_mean

    hint = did_you_mean(name, objects)
    raise ParameterInputError(name, f"no such parameter{hint} (parameters: {', '.join(objects)})")


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["key=value", ...]`` (from ``--set``) -> {key: value text}; the value may contain '='."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterInputError(item, "write --set NAME=VALUE, e.g. --set stop_voltage_V=2.5")
        out[key.strip()] = value.strip()
    return out


def apply_values(procedure: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Convert and set ``values`` (keys or labels -> text or typed) on ``procedure``; returns
    {key: converted value}. ParameterInputError on the first bad one."""
    objects = procedure._parameters
    converted: dict[str, Any] = {}
    for name, value in values.items():
        key = resolve_key(objects, name)
        converted[key] = convert_value(objects[key], key, value)
    if converted:
        procedure.set_parameters(converted)
    return converted


def build_procedure(
    procedure_class: type, values: Mapping[str, Any] | None = None, session: BenchSession | None = None
) -> Any:
    """A procedure instance with ``values`` applied and the bench attached (nothing validated yet)."""
    procedure = procedure_class()
    applied = apply_values(procedure, values or {})
    if session is not None:
        procedure.bench = session.bench
        # a procedure with its own 'seed' parameter follows the run's seed unless told otherwise
        if "seed" in procedure._parameters and "seed" not in applied and session.seed is not None:
            try:
                apply_values(procedure, {"seed": session.seed})
            except ParameterInputError:
                pass
    return procedure


def validate(procedure: Any) -> None:
    """``procedure.validate()`` when it has one (TspcmProcedure; resolves automatic values), else
    PyMeasure's own checks. Raises a parameter error (``is_parameter_error``) for a refused value."""
    check = getattr(procedure, "validate", None)
    if callable(check):
        check()
        return
    for key, parameter in procedure._parameters.items():
        convert_value(parameter, key, getattr(procedure, key, None))


def parameter_error_text(exc: BaseException) -> str:
    """One line naming the parameter and what is allowed."""
    text = str(exc)
    name = getattr(exc, "parameter", "")
    return text if not name or name in text else f"{name}: {text}"
