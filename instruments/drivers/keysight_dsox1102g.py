"""Keysight DSOX1102G with edge triggering, a left-referenced timebase and single-shot status.

PyMeasure's ``KeysightDSOX1102G`` has no trigger setup and always centres the timebase. Capturing
the current of a pulse needs, after the InfiniiVision 1000 X-Series Programmer's Guide:
``:TRIGger:MODE EDGE``, ``:TRIGger:EDGE:SOURce EXTernal``, ``:TRIGger:EDGE:LEVel``,
``:TRIGger:EDGE:SLOPe``, ``:TRIGger:SWEep NORMal`` (wait for a trigger instead of auto-triggering),
``:TIMebase:REFerence LEFT`` with ``:TIMebase:POSition`` (trigger at the left edge of the record),
``:SINGle``, and ``:OPERegister:CONDition?`` whose bit 3 (Run) clears when the capture is done.
Waveforms are read as binary WORD blocks by default (``:WAVeform:FORMat WORD``, unsigned, MSB first):
2 bytes a point instead of ~14 for ASCII, and no text formatting or parsing per point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keysight import KeysightDSOX1102G
from pymeasure.instruments.validators import strict_discrete_set

from ._attributes import ReservedNamesAsSet

#: ``:OPERegister:CONDition?`` bit set while the scope is running or armed
RUN_BIT = 1 << 3


def _check_format(fmt: str) -> None:
    """A waveform transfer format the driver reads: 'word', 'byte' or 'ascii' (ValueError otherwise)."""
    if fmt not in ("word", "byte", "ascii"):
        raise ValueError(f"fmt must be 'word', 'byte' or 'ascii', got {fmt!r}")


class KeysightDSOX1102GTrig(ReservedNamesAsSet, KeysightDSOX1102G):
    """Keysight DSOX1102G oscilloscope with triggering for single captures."""

    trigger_mode = Instrument.control(
        ":TRIGger:MODE?",
        ":TRIGger:MODE %s",
        """Control the trigger type; 'EDGE' for edge triggering.""",
        validator=strict_discrete_set,
        values=("EDGE", "GLIT", "PATT", "SHOL", "TRAN", "TV", "SBUS1"),
    )

    trigger_edge_source = Instrument.control(
        ":TRIGger:EDGE:SOURce?",
        ":TRIGger:EDGE:SOURce %s",
        """Control the edge trigger source: 'channel1', 'channel2', 'external', 'line' or 'wgen'.""",
        validator=strict_discrete_set,
        values={"channel1": "CHAN1", "channel2": "CHAN2", "external": "EXT", "line": "LINE", "wgen": "WGEN"},
        map_values=True,
        get_process=lambda v: {"EXTERNAL": "EXT", "CHANNEL1": "CHAN1", "CHANNEL2": "CHAN2"}.get(v, v),
    )

    trigger_edge_level = Instrument.control(
        ":TRIGger:EDGE:LEVel?",
        ":TRIGger:EDGE:LEVel %g",
        """Control the edge trigger level (V).""",
    )

    trigger_edge_slope = Instrument.control(
        ":TRIGger:EDGE:SLOPe?",
        ":TRIGger:EDGE:SLOPe %s",
        """Control the edge trigger slope: 'positive', 'negative', 'either' or 'alternate'.""",
        validator=strict_discrete_set,
        values={"positive": "POS", "negative": "NEG", "either": "EITH", "alternate": "ALT"},
        map_values=True,
    )

    trigger_sweep = Instrument.control(
        ":TRIGger:SWEep?",
        ":TRIGger:SWEep %s",
        """Control the trigger sweep: 'normal' waits for a trigger, 'auto' free-runs without one.""",
        validator=strict_discrete_set,
        values={"normal": "NORM", "auto": "AUTO"},
        map_values=True,
    )

    timebase_reference = Instrument.control(
        ":TIMebase:REFerence?",
        ":TIMebase:REFerence %s",
        """Control where the trigger sits on screen: 'left', 'center' or 'right'.""",
        validator=strict_discrete_set,
        values={"left": "LEFT", "center": "CENT", "right": "RIGH"},
        map_values=True,
    )

    timebase_position = Instrument.control(
        ":TIMebase:POSition?",
        ":TIMebase:POSition %g",
        """Control the time from the trigger to the reference point (s); negative shows pretrigger.""",
    )

    timebase_range_s = Instrument.control(
        ":TIMebase:RANGe?",
        ":TIMebase:RANGe %g",
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

    waveform_byteorder = Instrument.control(
        ":WAVeform:BYTeorder?",
        ":WAVeform:BYTeorder %s",
        """Control the byte order of WORD transfers: 'MSBF' (big endian, the default) or 'LSBF'.""",
        validator=strict_discrete_set,
        values=("MSBF", "LSBF"),
    )

    waveform_unsigned = Instrument.control(
        ":WAVeform:UNSigned?",
        ":WAVeform:UNSigned %d",
        """Control whether WORD/BYTE codes are unsigned (bool; the default True, y reference 32768 / 128).""",
        validator=strict_discrete_set,
        values={True: 1, False: 0},
        map_values=True,
    )

    #: numpy dtype of a code, by :WAVeform:FORMat, for unsigned big-endian transfers
    BINARY_DTYPES = {"word": ">u2", "byte": "u1"}

    def read_block(self, command: str) -> bytes:
        """Send ``command`` and read its reply, one IEEE 488.2 definite-length block ``#<n><n digits><data>``,
        by byte count (binary data may contain the termination character), then its terminator."""
        self.write(command)
        head = self.read_bytes(2)
        if head[:1] != b"#" or not head[1:2].isdigit() or head[1:2] == b"0":
            rest = self.read()  # the rest of the reply, so that the next query gets its own
            raise ValueError(
                f"{command}: expected a definite-length block '#<n>...', got {(head.decode(errors='replace') + rest)[:40]!r}"
            )
        length = int(self.read_bytes(int(head[1:2])))
        data = self.read_bytes(length) if length else b""
        while len(data) < length:  # a transport may return a long block in parts
            data += self.read_bytes(length - len(data))
        self.read_bytes(1)  # the block's terminator (newline)
        return data

    def read_waveform_volts(
        self, source: str = "channel1", points: int = 1000, fmt: str = "word"
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Read the acquired record of ``source`` as (t_s relative to trigger, volts, preamble).

        Uses the raw acquisition record (``:WAVeform:POINts:MODE RAW``) so a stopped single capture returns
        its full length. ``fmt``: 'word' (the default: 16-bit unsigned codes, big endian, 2 bytes a point,
        the scope's full resolution), 'byte' (8-bit codes, 1 byte a point) or 'ascii' (volts as text,
        ~14 bytes a point, formatted and parsed one by one: slow for long records). Codes become volts as
        the programmer's guide says: (code - yreference) x yincrement + yorigin. The same as
        :meth:`set_waveform_transfer` then :meth:`fetch_waveform_volts`.
        """
        self.set_waveform_transfer(source, points, fmt)
        return self.fetch_waveform_volts(fmt)

    def set_waveform_transfer(self, source: str = "channel1", points: int = 1000, fmt: str = "word") -> None:
        """The :WAVeform settings of a transfer (source, raw record, points, format; for binary formats
        unsigned codes, and MSB first for words). The scope keeps them: a caller that knows they are set
        (nothing else sent to the scope but captures) reads with :meth:`fetch_waveform_volts` alone."""
        _check_format(fmt)
        self.waveform_source = source
        self.waveform_points_mode = "raw"
        self.waveform_points = points
        self.waveform_format = fmt
        if fmt != "ascii":
            self.waveform_unsigned = True
            if fmt == "word":
                self.waveform_byteorder = "MSBF"

    def fetch_waveform_volts(self, fmt: str = "word") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """The preamble and the record as set by :meth:`set_waveform_transfer` (``fmt`` as set there):
        (t_s relative to trigger, volts, preamble)."""
        _check_format(fmt)
        preamble = self.waveform_preamble
        if fmt == "ascii":
            data = self.values(":waveform:data?")
            data[0] = str(data[0])
            header_digits = int(data[0][1])  # IEEE 488.2 block header '#<n><n digits>'
            data[0] = float(data[0][2 + header_digits :])
            volts = np.asarray(data, dtype=float)
        else:
            codes = np.frombuffer(self.read_block(":waveform:data?"), dtype=self.BINARY_DTYPES[fmt])
            volts = (codes - float(preamble["yreference"])) * preamble["yincrement"] + preamble["yorigin"]
        index = np.arange(volts.size)
        t_s = preamble["xorigin"] + (index - preamble["xreference"]) * preamble["xincrement"]
        return t_s, volts, preamble
