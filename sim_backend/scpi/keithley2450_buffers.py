"""Keithley 2450 reading buffers and their elements (2450-901-01, ``:TRACe`` subsystem, 6-107ff).

A buffer keeps, per reading: the reading, the source value, the measure and source status words,
the time (s of virtual time, from the instrument's clock epoch) and the units. Elements of
``:TRACe:DATA?``/``:READ?``/``:FETCh?`` replies, as the reference manual lists them:

========== ================================================= ==============================
element    what                                              reply format (here)
========== ================================================= ==============================
READing    the reading                                       NR3 ``-1.234567E-06``
SOURce     source value (readback or programmed)             NR3
RELative   s since the buffer's first reading                ``0.408402`` (as 6-124 shows)
SEConds    UTC seconds of the reading                        ``1735689600``
FRACtional fraction of the second                            ``0.123456789``
DATE       date                                              ``01/01/2025``
TIME       time of day                                       ``00:00:00.123456789``
TSTamp     date and time                                     ``01/01/2025 00:00:00.123456789``
FORMatted  reading as the front panel shows it               ``-001.2346 uA``
SOURFORM.. source as the front panel shows it                ``+0.50000 V``
STATus     measure status bits (8: front terminals, ...)     NR1
SOURSTAT.. source status bits (8 readback, 32 limited,       NR1
           64 remote sense, 128 output on)
UNIT       reading unit                                      ``Amp DC``
SOURUNIT   source unit                                       ``Volt DC``
========== ================================================= ==============================

Not verified on hardware: the digits of FORMatted (5 1/2 digits with an engineering prefix), the
spelling of the unit strings, the time-of-day fields' digits.
"""

from __future__ import annotations

import math
import time as _time

from .errors import ScpiError
from .params import Choice

#: overflow reading of the 2450
OVERFLOW = 9.9e37

ELEMENTS = Choice(
    [
        "DATE",
        "FORMatted",
        "FRACtional",
        "READing",
        "RELative",
        "SEConds",
        "SOURce",
        "SOURFORMatted",
        "SOURSTATus",
        "SOURUNIT",
        "STATus",
        "TIME",
        "TSTamp",
        "UNIT",
    ]
)

# measure status bits (bufferVar.statuses)
STAT_QUESTIONABLE = 1
STAT_TERMINAL = 8  # front terminals
STAT_LIMIT2_LOW, STAT_LIMIT2_HIGH, STAT_LIMIT1_LOW, STAT_LIMIT1_HIGH = 16, 32, 64, 128
STAT_START_GROUP = 256
# source status bits (bufferVar.sourcestatuses)
SSTAT_PROTECTION, SSTAT_READBACK, SSTAT_LIMIT, SSTAT_SENSE, SSTAT_OUTPUT = 4, 8, 32, 64, 128

UNIT_NAMES = {"AMP": ("Amp DC", "A"), "VOLT": ("Volt DC", "V"), "OHM": ("Ohm", "Ohm"), "WATT": ("Watt DC", "W")}

#: total readings of all standard buffers together (the family's documented capacity)
TOTAL_CAPACITY = 4_000_000
MAX_BUFFERS_NAME = 31

_PREFIXES = (
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "u"),
    (1e-9, "n"),
    (1e-12, "p"),
    (1e-15, "f"),
)


def front_panel(value: float, unit: str) -> str:
    """A value as the front panel shows it: sign, 6 digits, engineering prefix, unit."""
    if abs(value) >= OVERFLOW:
        return f"Overflow {unit}"
    a = abs(value)
    for scale, prefix in _PREFIXES:
        if a >= scale * 0.9999995 or scale == 1e-15:
            digits = a / scale
            text = f"{digits:08.4f}" if digits < 1000 else f"{digits:.3f}"
            return f"{'-' if value < 0 else '+'}{text} {prefix}{unit}"
    return f"+000.0000 {unit}"


class ReadingBuffer:
    """One reading buffer: fill-continuous or fill-once, ``capacity`` readings.

    The lists may hold up to twice the capacity (trimmed in bulk, so a full buffer costs O(1) a
    reading); ``base`` is the list index of buffer index 1.
    """

    def __init__(self, capacity: int, style: str = "STAN"):
        self.capacity = capacity
        self.style = style
        self.fill_mode = "CONT"
        self.log_state = False
        self.write_format = ("PREF", "6")  # writable buffers: unit display, digits
        self.clear()

    def clear(self) -> None:
        self.readings: list[float] = []
        self.sources: list[float] = []
        self.status: list[int] = []
        self.sstatus: list[int] = []
        self.times: list[float] = []
        self.units: list[str] = []
        self.source_units: list[str] = []
        self.stats_base = 0  # list index where the statistics start (``:TRACe:STATistics:CLEar``)

    def __len__(self) -> int:
        return min(len(self.readings), self.capacity)

    @property
    def base(self) -> int:
        return len(self.readings) - len(self)

    @property
    def full(self) -> bool:
        return len(self.readings) >= self.capacity

    def add(
        self, reading: float, source: float, status: int, sstatus: int, t: float, unit: str, source_unit: str
    ) -> None:
        if self.fill_mode == "ONCE" and len(self.readings) >= self.capacity:  # a full fill-once buffer takes no more
            return
        self.readings.append(float(reading))
        self.sources.append(float(source))
        self.status.append(int(status))
        self.sstatus.append(int(sstatus))
        self.times.append(float(t))
        self.units.append(unit)
        self.source_units.append(source_unit)
        if len(self.readings) > 2 * self.capacity:
            over = len(self.readings) - self.capacity
            for lst in (
                self.readings,
                self.sources,
                self.status,
                self.sstatus,
                self.times,
                self.units,
                self.source_units,
            ):
                del lst[:over]
            self.stats_base = max(0, self.stats_base - over)

    def resize(self, capacity: int) -> None:
        self.capacity = capacity
        self.clear()

    def statistics_values(self) -> list[float]:
        start = max(self.base, self.stats_base)
        return [x for x in self.readings[start:] if abs(x) < OVERFLOW]

    def elements(self, start: int, end: int, elements: list[str], epoch_s: float, number) -> list[str]:
        """Elements of readings ``start..end-1`` (0-based buffer indices) as reply fields."""
        base = self.base
        if not elements or elements == ["READ"]:  # the readings alone (every :READ?): no time fields
            return [number(x) for x in self.readings[start + base : end + base]]
        t_first = self.times[base] if len(self) else 0.0
        out: list[str] = []
        for k in range(start + base, end + base):
            t_abs = epoch_s + self.times[k]
            whole = math.floor(t_abs)
            frac = t_abs - whole
            for e in elements:
                if e == "READ":
                    out.append(number(self.readings[k]))
                elif e == "SOUR":
                    out.append(number(self.sources[k]))
                elif e == "REL":
                    out.append(f"{self.times[k] - t_first:.6f}")
                elif e == "SEC":
                    out.append(str(whole))
                elif e == "FRAC":
                    out.append(f"{frac:.9f}")
                elif e == "STAT":
                    out.append(str(self.status[k]))
                elif e == "SOURSTAT":
                    out.append(str(self.sstatus[k]))
                elif e == "UNIT":
                    out.append(UNIT_NAMES[self.units[k]][0])
                elif e == "SOURUNIT":
                    out.append(UNIT_NAMES[self.source_units[k]][0])
                elif e == "FORM":
                    out.append(front_panel(self.readings[k], UNIT_NAMES[self.units[k]][1]))
                elif e == "SOURFORM":
                    out.append(front_panel(self.sources[k], UNIT_NAMES[self.source_units[k]][1]))
                else:
                    tm = _time.gmtime(whole)
                    date = _time.strftime("%m/%d/%Y", tm)
                    clock = _time.strftime("%H:%M:%S", tm) + f"{frac:.9f}"[1:]
                    out.append(date if e == "DATE" else clock if e == "TIME" else f"{date} {clock}")
        return out


def check_buffer_name(name: str) -> str:
    if (
        not name
        or len(name) > MAX_BUFFERS_NAME
        or not (name[0].isalpha() or name[0] == "_")
        or not all(c.isalnum() or c == "_" for c in name)
    ):
        raise ScpiError(-224, f"buffer name {name!r}: 1 to 31 letters, digits or _, starting with a letter")
    return name
