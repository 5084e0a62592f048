"""Lists of numbers typed into one text parameter ("0.05, 0.1, 0.15"), checked against a range."""

from __future__ import annotations

import math

from procedures.library.errors import ParameterError


def parse_values(
    text: str, parameter: str, unit: str, low: float, high: float, *, allow_empty: bool = False
) -> list[float]:
    """'1.2, 1.3' -> [1.2, 1.3] (commas, semicolons or blanks between them); each within [low, high]
    (in ``unit``); an empty text gives [] when ``allow_empty``. ParameterError naming ``parameter``
    otherwise."""
    items = [s for s in str(text or "").replace(";", ",").replace(" ", ",").split(",") if s.strip()]
    if not items and not allow_empty:
        raise ParameterError(parameter, f"is empty; give values in {unit} separated by commas")
    values = []
    for item in items:
        try:
            x = float(item)
        except ValueError:
            raise ParameterError(
                parameter, f"{item!r} is not a number; give values in {unit} separated by commas"
            ) from None
        if not (math.isfinite(x) and low <= x <= high):
            raise ParameterError(parameter, f"{x:g} {unit} is outside the allowed {low:g} {unit} to {high:g} {unit}")
        values.append(x)
    return values


def parse_conductances(text: str, parameter: str) -> list[float]:
    """'30e-6, 120e-6' -> [3e-05, 0.00012] (S, each from 1e-7 S to 10 mS); empty -> []."""
    return parse_values(text, parameter, "S", 1e-7, 1e-2, allow_empty=True)
