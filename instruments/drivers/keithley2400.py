"""Keithley 2400 with a list sweep read back in one ``:READ?`` (2400 Series User's Manual, SCPI).

PyMeasure's ``Keithley2400`` has no list/sweep helper. The manual's list sweep is
``:SOUR:VOLT:MODE LIST``, ``:SOUR:LIST:VOLT <list>`` (appendable with ``:SOUR:LIST:VOLT:APP``),
``:TRIG:COUN <points>``, then one ``:READ?`` that returns every point's data elements. The driver
sets the elements to VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS at start-up, so each point is five
values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from ._attributes import ReservedNamesAsSet
from ._format import scpi_list

LIST_CHUNK = 100
LIST_MAX = 2500
#: data elements per reading, as set by Keithley2400.reset_data_format()
ELEMENTS_PER_POINT = 5


def _chunk_list(values: Sequence[float]) -> str:
    if not 1 <= len(values) <= LIST_CHUNK:
        raise ValueError(f"a 2400 source list command takes 1 to {LIST_CHUNK} values, got {len(values)}")
    return scpi_list(values)


class Keithley2400List(ReservedNamesAsSet, Keithley2400):
    """Keithley 2400 SourceMeter with list sweeps."""

    source_voltage_mode = Instrument.control(
        ":SOUR:VOLT:MODE?",
        ":SOUR:VOLT:MODE %s",
        """Control the voltage source mode: 'FIX' (fixed level), 'LIST' or 'SWE' (sweep).""",
        validator=strict_discrete_set,
        values=("FIX", "LIST", "SWE"),
    )

    source_list_voltage = Instrument.setting(
        ":SOUR:LIST:VOLT %s",
        """Set the voltage source list (V, 1 to 100 values); replaces the existing list.""",
        set_process=_chunk_list,
    )

    source_list_voltage_append = Instrument.setting(
        ":SOUR:LIST:VOLT:APP %s",
        """Set: append 1 to 100 values (V) to the voltage source list.""",
        set_process=_chunk_list,
    )

    sweep_points = Instrument.setting(
        ":TRIG:COUN %d",
        """Set the trigger count: the number of points one :READ? acquires (1 to 2500).""",
        validator=strict_range,
        values=(1, LIST_MAX),
    )

    source_delay_s = Instrument.setting(
        ":SOUR:DEL %g",
        """Set the source delay before each measurement (s, 0 to 999.9999).""",
        validator=strict_range,
        values=(0, 999.9999),
    )

    def set_voltage_list(self, levels_v: Sequence[float]) -> None:
        """Load ``levels_v`` (V) as the voltage source list, in chunks of 100."""
        levels_v = list(levels_v)
        if not 1 <= len(levels_v) <= LIST_MAX:
            raise ValueError(f"levels_v: a 2400 list sweep has 1 to {LIST_MAX} points, got {len(levels_v)}")
        self.source_list_voltage = levels_v[:LIST_CHUNK]
        for start in range(LIST_CHUNK, len(levels_v), LIST_CHUNK):
            self.source_list_voltage_append = levels_v[start : start + LIST_CHUNK]

    def read_points(self, points: int) -> tuple[np.ndarray, np.ndarray]:
        """Trigger the configured sweep with ``:READ?`` and return (voltage_v, current_a) arrays."""
        data = np.asarray(self.values(":READ?"), dtype=float)
        if data.size != ELEMENTS_PER_POINT * int(points):
            raise ValueError(f"expected {ELEMENTS_PER_POINT * int(points)} values for {points} points, got {data.size}")
        data = data.reshape(int(points), ELEMENTS_PER_POINT)
        return data[:, 0], data[:, 1]
