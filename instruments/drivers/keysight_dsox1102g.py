"""Keysight DSOX1102G with edge triggering, a left-referenced timebase and single-shot status.

PyMeasure's ``KeysightDSOX1102G`` has no trigger setup and always centres the timebase. Capturing
the current of a pulse needs, after the InfiniiVision 1000 X-Series Programmer's Guide:
``:TRIGger:MODE EDGE``, ``:TRIGger:EDGE:SOURce EXTernal``, ``:TRIGger:EDGE:LEVel``,
``:TRIGger:EDGE:SLOPe``, ``:TRIGger:SWEep NORMal`` (wait for a trigger instead of auto-triggering),
``:TIMebase:REFerence LEFT`` with ``:TIMebase:POSition`` (trigger at the left edge of the record),
``:SINGle``, and ``:OPERegister:CONDition?`` whose bit 3 (Run) clears when the capture is done.
"""

from __future__ import annotations

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keysight import KeysightDSOX1102G
from pymeasure.instruments.validators import strict_discrete_set

#: ``:OPERegister:CONDition?`` bit set while the scope is running or armed
RUN_BIT = 1 << 3


class KeysightDSOX1102GTrig(KeysightDSOX1102G):
    """Keysight DSOX1102G oscilloscope with triggering for single captures."""

    trigger_mode = Instrument.control(
        ":TRIGger:MODE?", ":TRIGger:MODE %s",
        """Control the trigger type; 'EDGE' for edge triggering.""",
        validator=strict_discrete_set,
        values=("EDGE", "GLIT", "PATT", "SHOL", "TRAN", "TV", "SBUS1"),
    )

    trigger_edge_source = Instrument.control(
        ":TRIGger:EDGE:SOURce?", ":TRIGger:EDGE:SOURce %s",
        """Control the edge trigger source: 'channel1', 'channel2', 'external', 'line' or 'wgen'.""",
        validator=strict_discrete_set,
        values={"channel1": "CHAN1", "channel2": "CHAN2", "external": "EXT", "line": "LINE",
                "wgen": "WGEN"},
        map_values=True,
        get_process=lambda v: {"EXTERNAL": "EXT", "CHANNEL1": "CHAN1", "CHANNEL2": "CHAN2"}.get(v, v),
    )

    trigger_edge_level = Instrument.control(
        ":TRIGger:EDGE:LEVel?", ":TRIGger:EDGE:LEVel %g",
        """Control the edge trigger level (V).""",
    )

    trigger_edge_slope = Instrument.control(
        ":TRIGger:EDGE:SLOPe?", ":TRIGger:EDGE:SLOPe %s",
        """Control the edge trigger slope: 'positive', 'negative', 'either' or 'alternate'.""",
        validator=strict_discrete_set,
        values={"positive": "POS", "negative": "NEG", "either": "EITH", "alternate": "ALT"},
        map_values=True,
    )

    trigger_sweep = Instrument.control(
        ":TRIGger:SWEep?", ":TRIGger:SWEep %s",
        """Control the trigger sweep: 'normal' waits for a trigger, 'auto' free-runs without one.""",
        validator=strict_discrete_set,
        values={"normal": "NORM", "auto": "AUTO"},
        map_values=True,
    )

    timebase_reference = Instrument.control(
        ":TIMebase:REFerence?", ":TIMebase:REFerence %s",
        """Control where the trigger sits on screen: 'left', 'center' or 'right'.""",
        validator=strict_discrete_set,
        values={"left": "LEFT", "center": "CENT", "right": "RIGH"},
        map_values=True,
    )

    timebase_position = Instrument.control(
        ":TIMebase:POSition?", ":TIMebase:POSition %g",
        """Control the time from the trigger to the reference point (s); negative shows pretrigger.""",
    )

    timebase_range_s = Instrument.control(
        ":TIMebase:RANGe?", ":TIMebase:RANGe %g",
        """Control the full-scale horizontal time (s), 10 divisions. Unlike the upstream
        ``timebase_range`` ('%f') this keeps sub-microsecond values (2e-07, not 0.000000).""",
    )

    operation_condition = Instrument.measurement(
        ":OPERegister:CONDition?",
        """Get the Operation Status Condition register (int); bit 3 (8) is set while running.""",
        cast=int,
    )

    @property
    def capture_running(self) -> bool:
        """True while a :SINGle acquisition is armed or still acquiring."""
        return bool(self.operation_condition & RUN_BIT)

    def read_waveform_volts(self, source: str = "channel1",
                            points: int = 1000) -> tuple[np.ndarray, np.ndarray, dict]:
        """Read the acquired record of ``source`` as (t_s relative to trigger, volts, preamble).

        Uses the raw acquisition record (``:WAVeform:POINts:MODE RAW``) so a stopped single
        capture returns its full length, in ASCII so no byte-order question arises.
        """
        self.waveform_source = source
        self.waveform_points_mode = "raw"
        self.waveform_points = points
        self.waveform_format = "ascii"
        preamble = self.waveform_preamble
        data = self.values(":waveform:data?")
        data[0] = str(data[0])
        header_digits = int(data[0][1])  # IEEE 488.2 block header '#<n><n digits>'
        data[0] = float(data[0][2 + header_digits:])
        volts = np.asarray(data, dtype=float)
        index = np.arange(volts.size)
        t_s = preamble["xorigin"] + (index - preamble["xreference"]) * preamble["xincrement"]
        return t_s, volts, preamble
