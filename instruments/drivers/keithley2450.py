"""Keithley 2450 with its native sweep and reading-buffer commands (2450 SCPI command set).

PyMeasure's ``Keithley2450`` speaks only the 2400-style subset: no native sweep, no ``defbuffer1``.
A whole I-V sweep as one exchange needs, after the 2450 Reference Manual (2450-901-01, section 6):

- ``:SOURce[1]:SWEep:<function>:LINear <start>, <stop>, <points>, <delay>, <count>, <rangeType>,
  <failAbort>, <dual>, "<bufferName>"``
- ``:SOURce[1]:LIST:<function> <list>`` (up to 100 values) and ``...:APPend <list>`` (groups of up
  to 100, 2500 in all), then ``:SOURce[1]:SWEep:<function>:LIST <startIndex>, <delay>, <count>,
  <failAbort>, "<bufferName>"``
- ``:INITiate``, ``*WAI``, ``:TRACe:DATA? <start>, <end>, "<bufferName>", READ, SOUR``
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2450
from pymeasure.instruments.validators import strict_discrete_set

from ._attributes import ReservedNamesAsSet
from ._format import on_off, scpi_list, scpi_number

#: the 2450 accepts at most this many values in one :SOUR:LIST or :SOUR:LIST:APP command
LIST_CHUNK = 100
#: and at most this many values in a source list
LIST_MAX = 2500
DEFAULT_BUFFER = "defbuffer1"


def _chunk_list(values: Sequence[float]) -> str:
    if not 1 <= len(values) <= LIST_CHUNK:
        raise ValueError(f"a 2450 source list command takes 1 to {LIST_CHUNK} values, got {len(values)}")
    return scpi_list(values)


class Keithley2450Native(ReservedNamesAsSet, Keithley2450):
    """Keithley 2450 SourceMeter with native sweeps and ``defbuffer1`` read-back."""

    source_list_voltage = Instrument.setting(
        ":SOUR:LIST:VOLT %s",
        """Set the voltage source list (V, 1 to 100 values); replaces the existing list.""",
        set_process=_chunk_list,
    )

    source_list_voltage_append = Instrument.setting(
        ":SOUR:LIST:VOLT:APP %s",
        """Set: append 1 to 100 values (V) to the voltage source list (2500 values in all).""",
        set_process=_chunk_list,
    )

    source_list_voltage_points = Instrument.measurement(
        ":SOUR:LIST:VOLT:POIN?",
        """Get the number of values in the voltage source list (int).""",
        cast=int,
    )

    buffer_actual = Instrument.measurement(
        f':TRAC:ACT? "{DEFAULT_BUFFER}"',
        """Get the number of readings in defbuffer1 (int).""",
        cast=int,
    )

    sense_function = Instrument.control(
        ":SENS:FUNC?",
        ':SENS:FUNC "%s"',
        """Control the measure function: 'CURR' (current, A), 'VOLT' (voltage, V) or 'RES'.""",
        validator=strict_discrete_set,
        values=("CURR", "VOLT", "RES"),
        get_process=lambda v: v.strip('"').split(":")[0],
    )

    def set_voltage_list(self, levels_v: Sequence[float]) -> None:
        """Load ``levels_v`` (V) as the voltage source list, in chunks of 100 as the 2450 wants."""
        levels_v = list(levels_v)
        if not 1 <= len(levels_v) <= LIST_MAX:
            raise ValueError(f"levels_v: a 2450 list sweep has 1 to {LIST_MAX} points, got {len(levels_v)}")
        self.source_list_voltage = levels_v[:LIST_CHUNK]
        for start in range(LIST_CHUNK, len(levels_v), LIST_CHUNK):
            self.source_list_voltage_append = levels_v[start : start + LIST_CHUNK]

    def sweep_voltage_linear(
        self,
        start_v: float,
        stop_v: float,
        points: int,
        delay_s: float = 0.0,
        count: int = 1,
        range_type: str = "BEST",
        fail_abort: bool = False,
        dual: bool = False,
        buffer: str = DEFAULT_BUFFER,
    ) -> None:
        """Set up a linear voltage sweep (``:SOUR:SWE:VOLT:LIN``); start it with :meth:`initiate`.

        ``range_type`` is AUTO, BEST or FIXED; ``fail_abort`` False completes the sweep even when
        the compliance is reached (what a threshold switch does at threshold); ``dual`` sweeps back.
        """
        range_type = strict_discrete_set(range_type, ("AUTO", "BEST", "FIXED"))
        if not 2 <= int(points) <= LIST_MAX:
            raise ValueError(f"points must be 2 to {LIST_MAX}, got {points}")
        self.write(
            f":SOUR:SWE:VOLT:LIN {scpi_number(start_v)}, {scpi_number(stop_v)}, {int(points)}, "
            f"{scpi_number(delay_s)}, {int(count)}, {range_type}, {on_off(fail_abort)}, "
            f'{on_off(dual)}, "{buffer}"'
        )

    def sweep_voltage_list(
        self,
        start_index: int = 1,
        delay_s: float = 0.0,
        count: int = 1,
        fail_abort: bool = False,
        buffer: str = DEFAULT_BUFFER,
    ) -> None:
        """Set up a sweep through the voltage source list (``:SOUR:SWE:VOLT:LIST``)."""
        self.write(
            f":SOUR:SWE:VOLT:LIST {int(start_index)}, {scpi_number(delay_s)}, {int(count)}, "
            f'{on_off(fail_abort)}, "{buffer}"'
        )

    def clear_buffer(self, buffer: str = DEFAULT_BUFFER) -> None:
        """Clear a reading buffer, so the next sweep's readings start at index 1."""
        self.write(f':TRAC:CLE "{buffer}"')

    def initiate(self) -> None:
        """Start the trigger model (runs the sweep set up before)."""
        self.write(":INIT")

    def wait(self) -> None:
        """``*WAI``: hold later commands until the sweep has finished."""
        self.write("*WAI")

    def abort(self) -> None:
        """Stop the trigger model (a running sweep)."""
        self.write(":ABOR")

    def buffer_readings(self, points: int, buffer: str = DEFAULT_BUFFER) -> tuple[np.ndarray, np.ndarray]:
        """Read points 1..``points`` of ``buffer`` as (readings, source values) arrays."""
        values = self.values(f':TRAC:DATA? 1, {int(points)}, "{buffer}", READ, SOUR')
        data = np.asarray(values, dtype=float)
        if data.size != 2 * int(points):
            raise ValueError(
                f"expected {2 * int(points)} values (reading, source) for {points} points from "
                f"{buffer}, got {data.size}"
            )
        return data[0::2], data[1::2]
