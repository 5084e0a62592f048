"""Numbers as a device engineer reads them: SI prefixes on SI units ("81.84 µS", "10 µA", "1.787 V"),
plain numbers otherwise, a dash for a missing value. Used by the GUI, the HTML report and the CLI
tables, so a value reads the same everywhere. (Parsing typed values is ``tspcm_lab.runner.convert_value``:
"1500 mV", "20 uA".)
"""

from __future__ import annotations

import math
from typing import Any

from instruments.units import format_quantity

#: units that take an SI prefix (others, e.g. "decades", "%", "V/S", are printed as they are)
PREFIXED_UNITS = frozenset({"V", "A", "s", "S", "Hz", "ohm", "Ohm", "Ω", "W", "F", "H"})
#: shown for a value that is missing (NaN, None)
MISSING = "—"


def format_si(value: Any, units: str = "", digits: int = 4, *, ascii: bool = False) -> str:
    """``value`` with its units: an SI prefix for SI units (``digits`` significant digits), integers
    as integers, NaN/None as a dash. ``ascii`` spells micro as "u" (for terminals and files)."""
    if value is None or isinstance(value, str):
        return MISSING if value in (None, "") else f"{value} {units}".strip()
    if isinstance(value, bool):
        return str(value).lower()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{value} {units}".strip()
    if math.isnan(number):
        return MISSING
    units = units or ""
    if units in PREFIXED_UNITS and math.isfinite(number):
        return format_quantity(number, units, digits=digits, micro="u" if ascii else "µ")
    if number.is_integer() and abs(number) < 1e15:
        text = str(int(number))
    else:
        text = f"{number:.{digits}g}"
    return f"{text} {units}".strip()


def format_parameter(value: Any, units: str = "") -> str:
    """A parameter value for display: SI prefix with enough digits to read back the value typed
    (six significant digits), lists and text as they are."""
    if isinstance(value, (list, tuple)):
        return ", ".join(format_si(v, units, 6) for v in value)
    return format_si(value, units, 6)
