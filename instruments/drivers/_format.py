"""Number formatting shared by the driver extensions."""

from __future__ import annotations

from collections.abc import Iterable


def scpi_number(value: float) -> str:
    """A number as SCPI <NRf>, 9 significant digits (enough for any source DAC), e.g. 1e-06."""
    return f"{float(value):.9g}"


def scpi_list(values: Iterable[float]) -> str:
    """Comma-separated <NRf> list, as in ':SOUR:LIST:VOLT 0, 0.1, 0.2'."""
    return ", ".join(scpi_number(v) for v in values)


def on_off(flag: bool) -> str:
    return "ON" if flag else "OFF"
