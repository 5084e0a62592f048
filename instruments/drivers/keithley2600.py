"""Keithley 2600 series (2601B ... 2636B) with a TSP list sweep read back in one ``printbuffer``.

PyMeasure's ``Keithley2600`` sets levels and reads single points. A buffered sweep after the 2600B
Reference Manual (trigger model, ``smuX.trigger.*`` and ``smuX.nvbuffer1``) is a handful of TSP
statements: a source list, a measure action into ``nvbuffer1`` with source values collected, a
trigger count, ``initiate()``, ``waitcomplete()`` and ``printbuffer(1, N, readings, sourcevalues)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymeasure.instruments.keithley import Keithley2600

from ._attributes import ReservedNamesAsSet
from ._format import scpi_number

CHANNELS = ("a", "b")


def tsp_table(values: Sequence[float]) -> str:
    """A Lua table literal {v1, v2, ...}."""
    return "{" + ", ".join(scpi_number(v) for v in values) + "}"


class Keithley2600Sweep(ReservedNamesAsSet, Keithley2600):
    """Keithley 2600 series SourceMeter with buffered list sweeps (TSP)."""

    def smu(self, channel: str) -> str:
        """TSP name of a channel, 'smua' or 'smub'."""
        channel = str(channel).lower()
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
        return f"smu{channel}"

    def configure_voltage_list_sweep(self, channel: str, levels_v: Sequence[float], delay_s: float = 0.0) -> None:
        """Program a voltage list sweep measuring current into nvbuffer1 (does not start it)."""
        smu = self.smu(channel)
        levels_v = list(levels_v)
        if not levels_v:
            raise ValueError("levels_v: a sweep needs at least one point")
        self.write(f"{smu}.nvbuffer1.clear()")
        self.write(f"{smu}.nvbuffer1.collectsourcevalues = 1")
        self.write(f"{smu}.measure.delay = {scpi_number(delay_s)}")
        self.write(f"{smu}.trigger.source.listv({tsp_table(levels_v)})")
        self.write(f"{smu}.trigger.source.action = {smu}.ENABLE")
        self.write(f"{smu}.trigger.measure.i({smu}.nvbuffer1)")
        self.write(f"{smu}.trigger.measure.action = {smu}.ENABLE")
        self.write(f"{smu}.trigger.endsweep.action = {smu}.SOURCE_IDLE")
        self.write(f"{smu}.trigger.count = {len(levels_v)}")

    def run_sweep(self, channel: str, points: int) -> tuple[np.ndarray, np.ndarray]:
        """Start the programmed sweep, wait for it, return (source_v, current_a) arrays."""
        smu = self.smu(channel)
        self.write(f"{smu}.trigger.initiate()")
        self.write("waitcomplete()")
        values = self.values(f"printbuffer(1, {int(points)}, {smu}.nvbuffer1.readings, {smu}.nvbuffer1.sourcevalues)")
        data = np.asarray(values, dtype=float)
        if data.size != 2 * int(points):
            raise ValueError(f"expected {2 * int(points)} values for {points} points, got {data.size}")
        return data[1::2], data[0::2]

    def abort(self, channel: str) -> None:
        """Stop a running trigger model sweep on a channel."""
        self.write(f"{self.smu(channel)}.abort()")
