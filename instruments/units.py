"""Strict parsing of quantities with units, as written in bench files ("100 uA", "2 V", "50 ohm").

A bench file is written by a person at a probe station; a limit typed as "2 mA" where a voltage is
expected must be refused, not silently read as 0.002 V. So every quantity is parsed against the one
unit its key expects. Plain numbers are taken as SI values in that unit.
"""

from __future__ import annotations

import math
import re

#: SI prefixes accepted in front of a unit symbol ("u" and "µ"/"μ" both mean micro).
PREFIXES: dict[str, float] = {
    "f": 1e-15,
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "µ": 1e-6,
    "μ": 1e-6,
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
}

#: canonical unit -> spellings accepted for it (case-sensitive, so "mA" is never "MA").
UNIT_SPELLINGS: dict[str, tuple[str, ...]] = {
    "V": ("V",),
    "A": ("A",),
    "ohm": ("ohm", "Ohm", "ohms", "Ohms", "Ω", "Ω"),
    "s": ("s",),
    "Hz": ("Hz",),
    "m": ("m",),
}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*(?P<number>{_NUMBER})\s*(?P<unit>\S*)\s*$")


class UnitError(ValueError):
    """A quantity that is not a number in the expected unit."""


def split_quantity(text: str) -> tuple[float, str] | None:
    """("<number> [<prefix>]<unit>" as written) -> (number, the unit as written, "" when none); None
    when ``text`` does not start with a number or has more than one word after it."""
    match = _QUANTITY.match(str(text))
    return (float(match["number"]), match["unit"]) if match else None


def unit_factor(written: str, unit: str) -> float | None:
    """The factor from ``written`` (e.g. "uA", "kOhm", "ns") to SI ``unit`` ("A", "ohm", "s"), or None
    when ``written`` is not ``unit`` with an SI prefix. Units of :data:`UNIT_SPELLINGS` are matched by
    those spellings (case-sensitive: "mA" is never "MA", "S" is never "s"); any other unit (a
    parameter's "S", "decades") as written, in lower case or capitalized."""
    if not unit:
        return None
    spellings = UNIT_SPELLINGS.get(unit) or tuple(dict.fromkeys((unit, unit.lower(), unit.capitalize())))
    for spelling in spellings:
        if written.endswith(spelling) and written[: -len(spelling)] in PREFIXES:
            return PREFIXES[written[: -len(spelling)]]
    return None


def parse_quantity(value: object, unit: str) -> float:
    """Return ``value`` in SI ``unit`` (one of :data:`UNIT_SPELLINGS`).

    ``value`` may be an int or float (already SI), or a string "<number> [<prefix>]<unit>"
    such as "100 uA", "2V", "1.5e-3 A", "50 ohm", "10 kOhm". A string without a unit is refused
    (write "2 V" or the plain number 2). Raises :class:`UnitError` with what was expected.
    """
    if unit not in UNIT_SPELLINGS:
        raise ValueError(f"unknown unit {unit!r}; known: {', '.join(UNIT_SPELLINGS)}")
    allowed = f"a number in {unit} or a string like '2 {_example_prefix(unit)}{unit}'"
    if isinstance(value, bool):
        raise UnitError(f"got a boolean {value!r}; expected {allowed}")
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            raise UnitError(f"got {value!r}; expected a finite {allowed}")
        return number
    if not isinstance(value, str):
        raise UnitError(f"got {type(value).__name__} {value!r}; expected {allowed}")
    split = split_quantity(value)
    if split is None:
        raise UnitError(f"cannot read {value!r}; expected {allowed}")
    number, written = split
    if not math.isfinite(number):  # "1e400 V" reads as infinity: no limit at all
        raise UnitError(f"{value!r} is not a finite number; expected {allowed}")
    if not written:
        raise UnitError(f"{value!r} has no unit; expected {allowed}")
    factor = unit_factor(written, unit)
    if factor is None:
        raise UnitError(f"{value!r} is not in {unit}; expected {allowed}")
    scaled = number * factor
    if not math.isfinite(scaled):
        raise UnitError(f"{value!r} is not a finite number; expected {allowed}")
    return scaled


def format_quantity(value: float, unit: str, *, digits: int = 6, micro: str = "u") -> str:
    """Format an SI value with an engineering prefix, e.g. 1e-4, "A" -> "100 uA" (``digits``
    significant digits; ``micro="µ"`` spells micro as µ)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    exponent = int(math.floor(math.log10(abs(value)) / 3) * 3)
    exponent = max(-15, min(9, exponent))
    scaled = float(f"{value / 10**exponent:.{digits}g}")
    if abs(scaled) >= 1000 and exponent < 9:  # 999.99996 rounds up to the next prefix
        exponent += 3
        scaled = float(f"{value / 10**exponent:.{digits}g}")
    prefix = {-15: "f", -12: "p", -9: "n", -6: micro, -3: "m", 0: "", 3: "k", 6: "M", 9: "G"}[exponent]
    text = f"{scaled:.{digits}g}"
    if "e" in text:  # 100 with 2 digits: "1e+02"
        text = f"{scaled:.0f}"
    return f"{text} {prefix}{unit}"


def _example_prefix(unit: str) -> str:
    return {"A": "m", "s": "m", "ohm": "k"}.get(unit, "")
