"""Keithley 2450 SourceMeter, SCPI command set (2450-901-01 reference manual, section 6).

The commands are the rows of ``tables/keithley2450.toml``: plain settings are implemented by the
engine from their row (range, *RST value, reply format); this module holds the behaviour:

- sourcing: ``:SOUR:FUNC`` VOLT/CURR, levels against the source range (autorange or fixed),
  limits ``:SOUR:VOLT:ILIM``/``:SOUR:CURR:VLIM`` and ``...:TRIPped?`` (true only while the output
  is at its limit), overvoltage protection ``:SOUR:VOLT:PROT`` (clamps the output), source delay
  and autodelay, readback, output on/off, terminals. A current source is the bench's current-source
  mode (``set_source(mode="current")``): exactly 0 A is never limited, a sweep from 0 A runs to its
  last point;
- measuring: ``:SENS:FUNC`` CURR/VOLT/RES, NPLC, ranges (a fixed range that is exceeded reads
  9.9E+37), repeat filter, count, relative offset, units (OHM, WATT), math (mx+b, percent,
  reciprocal) and limit tests ``:CALC2:<f>:LIM<n>``. A reading in compliance is the instrument's
  regulated value: the limit within the data sheet's source accuracy (0.025 % of setting; here a
  fixed gain error drawn within +-0.025 % per instrument plus 20 ppm rms noise), not the
  device model's current;
- readings: ``:READ?``, ``:MEASure[:<f>]?``, ``:FETCh?`` with buffer and elements, ``:TRACe``
  buffers (see :mod:`.keithley2450_buffers`), ``:FORMat[:DATA] ASCii|REAL|SREal`` (binary blocks);
- sweeps and the trigger model (see :mod:`.keithley2450_trigger`): ``:SOUR:SWE:<f>:LIN``,
  ``:LIN:STEP``, ``:LOG``, ``:LIST`` build a trigger model and a source configuration list, as
  the instrument does, run by ``:INIT``; ``:TRIG:BLOC:*``, ``:TRIG:LOAD``, timers,
  ``:TRIG:STAT?``, ``:ABORt``; configuration lists ``:SOUR:CONF:LIST:*``/``:SENS:CONF:LIST:*``;
- status: ``*STB?`` (bit 0 2400-style measurement summary, 2 EAV, 3 questionable, 5 ESB, 6 MSS,
  7 operation), ``:STAT:OPER``/``:STAT:QUES`` with ``:MAP`` of event numbers (2731 trigger model
  running, 2732 finished, 2728 aborted, 2730 failed), the event log;
- the 2400-style commands PyMeasure's ``Keithley2450`` driver sends (``:TRAC:FEED``,
  ``:TRAC:FEED:CONT``, ``:STAT:MEAS:ENAB``, ``:TRAC:DATA?`` without parameters). A real 2450 takes
  these only in its "SCPI 2400" command set; this model accepts both sets at once.

Timing, all in virtual time: a reading integrates for NPLC / line frequency (60 Hz unless built
with ``line_frequency_hz=50``), times the repeat-filter count; after the source level or output
changes the first reading waits the source delay (autodelay: :data:`AUTODELAY_S`); a sweep point
takes its delay plus one reading. ``:INIT`` runs the whole trigger model before the next command
is read, so ``*WAI`` and ``*OPC?`` never wait (except for a model waiting on an event).

Not verified against a real instrument (documented guesses): the autodelay values, the digits of
replies (``%.6E``), the ``SYST:ERR?`` timestamp, the names of the configuration lists a sweep
command makes, the state after a sweep (source back at the first point, output off), the text of
``:TRIG:BLOC:LIST?`` and ``:CONF:LIST:QUERy?``.
"""

from __future__ import annotations

import math
import struct
import time as _time
import zlib
from collections import deque
from typing import ClassVar

import numpy as np

from sim_backend.measurement import Measurement

from . import status
from .benchlink import BenchLink
from .clock import Clock
from .engine import ScpiInstrument, scpi
from .errors import ScpiError
from .keithley2450_buffers import (
    ELEMENTS,
    OVERFLOW,
    SSTAT_LIMIT,
    SSTAT_OUTPUT,
    SSTAT_PROTECTION,
    SSTAT_READBACK,
    SSTAT_SENSE,
    STAT_LIMIT1_HIGH,
    STAT_LIMIT1_LOW,
    STAT_LIMIT2_HIGH,
    STAT_LIMIT2_LOW,
    STAT_QUESTIONABLE,
    STAT_TERMINAL,
    TOTAL_CAPACITY,
    ReadingBuffer,
    check_buffer_name,
)
from .keithley2450_trigger import (
    Block,
    Runner,
    Timer,
    TriggerModel,
    block_from_command,
    parse_event,
    template,
    timer_start_time,
)
from .params import Params, format_number
from .table import Row

V_SOURCE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
I_SOURCE_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
MEAS_RANGES = {"CURR": I_SOURCE_RANGES, "VOLT": V_SOURCE_RANGES, "RES": (20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)}
SOURCE_RANGES = {"VOLT": V_SOURCE_RANGES, "CURR": I_SOURCE_RANGES}
#: Source autodelay (s) by source function; a guess, the manual tabulates it per range.
AUTODELAY_S = {"VOLT": 1e-3, "CURR": 1e-3}
SOURCE_MAX = {"VOLT": 210.0, "CURR": 1.05}
SENSE_UNIT = {"CURR": "AMP", "VOLT": "VOLT", "RES": "OHM"}
OVP_V = {
    "PROT2": 2.0,
    "PROT5": 5.0,
    "PROT10": 10.0,
    "PROT20": 20.0,
    "PROT40": 40.0,
    "PROT60": 60.0,
    "PROT80": 80.0,
    "PROT100": 100.0,
    "PROT120": 120.0,
    "PROT140": 140.0,
    "PROT160": 160.0,
    "PROT180": 180.0,
    "NONE": math.inf,
}
#: regulation accuracy of the source (data sheet: 0.025 % of setting) and its noise (ppm rms)
GAIN_ERROR_MAX = 2.5e-4
REGULATION_NOISE = 2e-5
#: Readings one ``:INIT`` of a sweep may take (emulator limit: a run finishes inside the command).
MAX_SWEEP_READINGS = 1_000_000
#: the limit flag is re-read this long when asked while stale (a monitor, not a reading)
TRIP_PROBE_S = 1e-5
SOURCE_LIST_MAX = 100  # values per :SOUR:LIST command

_SENSE_FUNC = {
    "CURR": "CURR",
    "CURRENT": "CURR",
    "CURR:DC": "CURR",
    "CURRENT:DC": "CURR",
    "VOLT": "VOLT",
    "VOLTAGE": "VOLT",
    "VOLT:DC": "VOLT",
    "VOLTAGE:DC": "VOLT",
    "RES": "RES",
    "RESISTANCE": "RES",
}
_SENSE_REPLY = {"CURR": '"CURR:DC"', "VOLT": '"VOLT:DC"', "RES": '"RES"'}
_LIN_FIELDS = ("delay", "count", "range", "failabort", "dual", "buffer")
_LOG_FIELDS = ("delay", "count", "range", "failabort", "dual", "asymptote", "buffer")
_LIST_FIELDS = ("delay", "count", "failabort", "buffer")
_SWEEP_LIST_NAMES = {
    ("VOLT", "LIN"): "VoltLinearSweepList",
    ("CURR", "LIN"): "CurrLinearSweepList",
    ("VOLT", "LOG"): "VoltLogSweepList",
    ("CURR", "LOG"): "CurrLogSweepList",
    ("VOLT", "LIST"): "VoltCustomSweepList",
    ("CURR", "LIST"): "CurrCustomSweepList",
}
_BLOCK_KINDS = {
    "BUFF:CLE": "BUFFER_CLEAR",
    "CONF:NEXT": "CONFIG_NEXT",
    "CONF:PREV": "CONFIG_PREV",
    "CONF:REC": "CONFIG_RECALL",
    "DEL:CONS": "DELAY_CONSTANT",
    "DEL:DYN": "DELAY_DYNAMIC",
    "MEAS": "MEASURE",
    "NOP": "NOP",
    "SOUR:STAT": "SOURCE_OUTPUT",
    "BRAN:ALW": "BRANCH_ALWAYS",
    "BRAN:ONCE": "BRANCH_ONCE",
    "BRAN:ONCE:EXCL": "BRANCH_ONCE_EXCLUDED",
    "BRAN:COUN": "BRANCH_COUNTER",
    "BRAN:LIM:CONS": "BRANCH_LIMIT_CONSTANT",
    "BRAN:LIM:DYN": "BRANCH_LIMIT_DYNAMIC",
    "BRAN:DELT": "BRANCH_DELTA",
    "BRAN:EVEN": "BRANCH_EVENT",
    "WAIT": "WAIT",
    "LOG:EVEN": "LOG_EVENT",
    "NOT": "NOTIFY",
    "DIG:IO": "DIGITAL_IO",
}


def _pick_range(value: float, ranges: tuple[float, ...]) -> float:
    """The smallest range holding |value| (the 2450 picks the range that can hold the value)."""
    a = abs(value)
    for r in ranges:
        if a <= r * 1.0000001:
            return r
    return ranges[-1]


#: per sense function, the table keys of limit tests 1 and 2's state and auto-clear settings
_LIMIT_KEYS = {
    f: tuple((n, (f"calc2.{f}.lim{n}.state", f"calc2.{f}.lim{n}.auto")) for n in (1, 2))
    for f in ("CURR", "VOLT", "RES")
}


_NUMBER = "%.6E"  #: the ASCII format of a number at the default precision (:FORMat:ASCii:PRECision 0)


def _fmt(x: float) -> str:
    return format_number(_NUMBER, x)


class ConfigList:
    """A source or measure configuration list: indexed snapshots of settings (1-based)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.entries: list[dict] = []
        self.index = 1

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, index: int) -> dict:
        return self.entries[index - 1]


class SweepList(ConfigList):
    """The source list a sweep command makes: one base setup, one level per point."""

    def __init__(self, base: dict, level_key, levels: np.ndarray):
        super().__init__("source")
        self.base = base
        self.level_key = level_key
        self.levels = levels

    def __len__(self) -> int:
        return len(self.levels)

    def entry(self, index: int) -> dict:
        entry = dict(self.base)
        entry[self.level_key] = float(self.levels[index - 1])
        return entry


class Keithley2450(status.StatusModel, ScpiInstrument):
    """Keithley 2450 SourceMeter wired to the bench terminal ``bench_name`` (default ``"smu"``)."""

    model = "Keithley 2450"
    idn = "KEITHLEY INSTRUMENTS,MODEL 2450,04500001,1.7.12b"
    error_queue_size = 32
    table_file = "keithley2450.toml"
    save_slots = 5
    status_registers = ("OPER", "QUES", "MEAS")
    #: per class: the settings of a source or sense configuration list (see _config_entries)
    _config_entries_cache: ClassVar[dict[str, list[tuple[Row, tuple, tuple]]]]

    def __init__(
        self,
        bench=None,
        resource_name: str = "GPIB0::18::INSTR",
        *,
        bench_name: str | None = "smu",
        line_frequency_hz: float = 60.0,
    ):
        if line_frequency_hz not in (50.0, 60.0):
            raise ValueError(f"line_frequency_hz must be 50 or 60, got {line_frequency_hz!r}")
        self.link = BenchLink(bench, bench_name)
        self.line_frequency_hz = float(line_frequency_hz)
        rng = np.random.default_rng([self.link.seed, zlib.crc32(b"2450 " + resource_name.encode())])
        self.rng = rng
        self.gain_error = float(np.clip(rng.normal(0.0, GAIN_ERROR_MAX / 2.5), -GAIN_ERROR_MAX, GAIN_ERROR_MAX))
        self.clock = Clock(lambda: self.link.now_s)
        self._init_registers()
        self.meas2400 = self.registers["MEAS"]
        self.oper_map: dict[int, tuple[int, int]] = {}
        self.ques_map: dict[int, tuple[int, int]] = {}
        self.eventlog: deque = deque(maxlen=1000)
        super().__init__(resource_name)

    # ------------------------------------------------------------------ state
    def _rst_state(self) -> None:
        for name in (
            "level",
            "source_range",
            "source_autorange",
            "source_delay",
            "source_autodelay",
            "readback",
            "off_mode",
            "nplc",
            "meas_range",
            "meas_autorange",
            "avg_state",
            "avg_tcon",
            "avg_count",
            "rsense",
            "azero",
            "rel",
            "rel_state",
            "meas_unit",
            "math_state",
            "math_format",
            "math_m",
            "math_b",
            "math_percent",
        ):
            setattr(self, name, {})
        self.source_list: dict[str, list[float]] = {"VOLT": [], "CURR": []}
        self.buffers = {"defbuffer1": ReadingBuffer(100000), "defbuffer2": ReadingBuffer(10000)}
        self.trigger = TriggerModel()
        self.config_lists: dict[str, ConfigList] = {}
        self.timers = {n: Timer() for n in range(1, 5)}
        self.tripped = False
        self.trip_stale = False
        self.ovp_tripped = False
        self.pending_delay = False
        self.limit_results = {1: 0, 2: 0}  # bit 0 low fail, bit 1 high fail
        self.trace_feed = "SENS"
        self.trace_feed_control = "NEV"
        self.digital_out = 0

    def _after_rst(self) -> None:
        self._apply_source()

    def format_error(self, code: int, message: str) -> str:
        """``0,"No error;0;0 0"`` when empty; otherwise the message with severity and time."""
        if code == 0:
            return '0,"No error;0;0 0"'
        return f'{code},"{message};1;{self._stamp()}"'

    def _stamp(self) -> str:
        t = self.clock.now_s
        return _time.strftime("%Y/%m/%d %H:%M:%S", _time.gmtime(t)) + f"{t % 1:.3f}"[1:]

    def _common_extra(self, header: str, query: bool, p: Params):
        if header == "*LANG":
            if query:
                return "SCPI"
            p.choice(0, ["SCPI", "TSP", "SCPI2400"], "language")
            return None  # takes effect after a power cycle, which never happens here
        return super()._common_extra(header, query, p)

    def clock_s(self) -> float:
        return self.link.now_s

    # ------------------------------------------------------------------ source physics
    def _apply_source(self) -> None:
        """Tell the bench what the output does now (off: high impedance, as wired)."""
        self.trip_stale = True
        level = self._effective_level()
        if self.source_func == "VOLT":
            self.link.set_source(enabled=self.output, level_v=level, ilimit_a=self.ilimit_a, mode="voltage")
        else:
            self.link.set_source(
                enabled=self.output, level_v=level, mode="current", vlimit_v=min(self.vlimit_v, self._ovp_v())
            )
        if not self.output:
            self.tripped = False
            self.trip_stale = False
            return
        self.pending_delay = True

    def _ovp_v(self) -> float:
        return OVP_V[self.ovp]

    def _effective_level(self) -> float:
        f = self.source_func
        level = self.level[f]
        if not self.source_autorange[f]:
            r = self.source_range[f] * 1.05
            level = max(-r, min(r, level))
        self.ovp_tripped = False
        if f == "VOLT" and abs(level) > self._ovp_v():
            level = math.copysign(self._ovp_v(), level)
            self.ovp_tripped = True
        return level

    def _aperture_s(self) -> float:
        f = self.sense_func
        n = self.avg_count[f] if (self.avg_state[f] and self.avg_tcon[f] == "REP") else 1
        return self.nplc[f] / self.line_frequency_hz * n

    def _delay_s(self) -> float:
        return self.source_delay[self.source_func]

    def _regulated(self, value: float) -> float:
        """A regulated quantity as the instrument reads it: within its source accuracy."""
        return value * (1.0 + self.gain_error + REGULATION_NOISE * self.rng.standard_normal())

    def _iv(self, i: float, v: float, limited: bool) -> tuple[float, float]:
        """(current, voltage) at the terminals of a reading of ``i`` (A) and ``v`` (V), ``limited``: at the
        limit; regulated quantities held to the source accuracy."""
        if not self.output:
            return i, v
        if self.source_func == "VOLT":
            if limited:
                i = self._regulated(math.copysign(self.ilimit_a, i or self.level["VOLT"] or 1.0))
        else:
            level = self._effective_level()
            if limited:
                vlim = min(self.vlimit_v, self._ovp_v())
                v = self._regulated(math.copysign(vlim, v or level or 1.0))
            elif level != 0.0:
                i = self._regulated(level)
        return i, v

    def _reading_value(self, i: float, v: float) -> float:
        f = self.sense_func
        unit = self.meas_unit.get(f, "OHM")
        if unit == "OHM" or f == "RES":
            value = v / i if i else OVERFLOW
        elif unit == "WATT":
            value = v * i
        else:
            value = i if f == "CURR" else v
        if (
            f != "RES"
            and unit == SENSE_UNIT[f]
            and not self.meas_autorange[f]
            and abs(value) > 1.05 * self.meas_range[f]
        ):
            return OVERFLOW
        if abs(value) >= OVERFLOW:
            return OVERFLOW
        if self.rel_state[f]:
            value -= self.rel[f]
        if self.math_state[f]:
            kind = self.math_format[f]
            if kind == "MXB":
                value = self.math_m[f] * value + self.math_b[f]
            elif kind == "PERC":
                ref = self.math_percent[f]
                value = (value - ref) / ref * 100.0 if ref else OVERFLOW
            else:
                value = 1.0 / value if value else OVERFLOW
        return value

    def _limit_status(self, value: float) -> int:
        """Run the enabled limit tests on a reading; return its STAT limit bits."""
        f = self.sense_func
        bits = 0
        for n, (state, auto) in _LIMIT_KEYS[f]:
            if not self.s[state]:
                continue
            if self.s[auto]:
                self.limit_results[n] = 0
            low, high = self.limit_values(n)
            if value < low:
                self.limit_results[n] |= 1
                bits |= STAT_LIMIT1_LOW if n == 1 else STAT_LIMIT2_LOW
            if value > high:
                self.limit_results[n] |= 2
                bits |= STAT_LIMIT1_HIGH if n == 1 else STAT_LIMIT2_HIGH
        return bits

    def limit_values(self, n: int) -> tuple[float, float]:
        f = self.sense_func
        return self.s[f"calc2.{f}.lim{n}.lower"], self.s[f"calc2.{f}.lim{n}.upper"]

    def _store(self, buf: ReadingBuffer, r: Measurement, t: float) -> float:
        """One reading through the measure pipeline into ``buf``; returns the reading."""
        limited = bool(r.compliance and self.output)
        i, v = r.current_a, r.voltage_v
        if limited or self.source_func != "VOLT":  # else _iv leaves them as they are (the commonest reading)
            i, v = self._iv(i, v, limited)
        value = self._reading_value(i, v)
        status = (STAT_TERMINAL if self.terminals == "FRON" else 0) | self._limit_status(value)
        if value >= OVERFLOW:
            status |= STAT_QUESTIONABLE
        sf, f = self.source_func, self.sense_func
        readback = self.readback[sf]
        sstatus = (
            (SSTAT_READBACK if readback else 0)
            | (SSTAT_LIMIT if limited else 0)
            | (SSTAT_SENSE if self.rsense[f] else 0)
            | (SSTAT_OUTPUT if self.output else 0)
            | (SSTAT_PROTECTION if self.ovp_tripped else 0)
        )
        if readback:  # the source value: measured, or the programmed level (0 with the output off)
            source = v if sf == "VOLT" else i
        else:
            source = self.level[sf] if self.output else 0.0
        buf.add(value, source, status, sstatus, t, self.meas_unit.get(f, "OHM"), SENSE_UNIT[sf])
        self.tripped = limited
        self.trip_stale = False
        if self.trace_feed_control == "NEXT" and buf.full:
            self.meas2400.set(512)
        return value

    def take_readings(self, buffer: str = "defbuffer1", count: int | None = None) -> list[float]:
        """``count`` readings into ``buffer`` (virtual time: delay once, then the apertures)."""
        return self._take_readings(self.buffer(buffer), count)

    def _take_readings(self, buf: ReadingBuffer, count: int | None) -> list[float]:
        count = self.sense_count if count is None else count
        if self.output and self.pending_delay:
            self.link.wait(self._delay_s())
            self.pending_delay = False
        values = []
        aperture = self._aperture_s()
        for _ in range(count):  # (with the output off the bench's source is off too: never in compliance)
            r = self.link.measure(aperture)
            values.append(self._store(buf, r, r.start_s))
        return values

    def _limit_state(self) -> bool:
        """Whether the output is at its limit now (re-read briefly if the source changed)."""
        if not self.output:
            return False
        if self.trip_stale:
            r = self.link.measure(TRIP_PROBE_S)
            self.tripped = bool(r.compliance)
            self.trip_stale = False
        return self.tripped

    def buffer(self, name: str) -> ReadingBuffer:
        buf = self.buffers.get(name)
        if buf is None:
            raise ScpiError(-224, f"buffer {name!r} does not exist")
        return buf

    def _buffer_arg(self, p: Params, i: int) -> str:
        return p.string(i, "buffer name", allow_bare=True) if p.has(i) else "defbuffer1"

    def set_output(self, state: bool) -> None:
        self.output = bool(state)
        self._apply_source()

    # ------------------------------------------------------------------ table hooks: source
    def _check_source_func(self, p: Params, value):
        if value != self.source_func:
            self.output = False  # the 2450 turns the output off when the function changes
        return value

    def _check_terminals(self, p: Params, value):
        if value != self.terminals:
            self.output = False  # changing terminals turns the output off
        return value

    def _source_changed(self, p: Params) -> None:
        self._apply_source()

    def _level_max(self, p: Params) -> float:
        f = p.alt[0]
        return SOURCE_MAX[f] if self.source_autorange[f] else self.source_range[f] * 1.05

    def _level_min(self, p: Params) -> float:
        return -self._level_max(p)

    def _source_range_max(self, p: Params) -> float:
        return SOURCE_RANGES[p.alt[0]][-1]

    def _source_range_min(self, p: Params) -> float:
        return SOURCE_RANGES[p.alt[0]][0]

    def _meas_range_max(self, p: Params) -> float:
        return MEAS_RANGES[p.alt[0]][-1]

    def _meas_range_min(self, p: Params) -> float:
        return MEAS_RANGES[p.alt[0]][0]

    def _autodelay_rst(self, p: Params) -> float:
        return AUTODELAY_S[p.alt[0]]

    @scpi(":SOURce#:{VOLTage|CURRent}[:LEVel][:IMMediate][:AMPLitude]")
    def _set_level(self, p: Params):
        f = p.alt[0]
        top = self._level_max(p)
        value = p.number(
            0, lo=-top, hi=top, default=0.0, units=("V",) if f == "VOLT" else ("A",), name=f"source {f.lower()} level"
        )
        self.level[f] = value
        if self.source_autorange[f]:
            self.source_range[f] = _pick_range(value, SOURCE_RANGES[f])
        if self.source_autodelay[f]:
            self.source_delay[f] = AUTODELAY_S[f]
        if f == self.source_func:
            self._apply_source()

    @scpi(":SOURce#:{VOLTage|CURRent}:RANGe")
    def _set_source_range(self, p: Params):
        f = p.alt[0]
        ranges = SOURCE_RANGES[f]
        value = p.number(
            0,
            lo=-ranges[-1] * 1.05,
            hi=ranges[-1] * 1.05,
            default=ranges[-1],
            units=("V",) if f == "VOLT" else ("A",),
            name="source range",
        )
        rng = _pick_range(value, ranges)
        if abs(self.level[f]) > rng * 1.05:
            raise ScpiError(-221, "source level exceeds the range")
        self.source_range[f] = rng
        self.source_autorange[f] = False
        if f == self.source_func:
            self._apply_source()

    def _source_autorange_changed(self, p: Params) -> None:
        f = p.alt[0]
        if self.source_autorange[f]:
            self.source_range[f] = _pick_range(self.level[f], SOURCE_RANGES[f])

    def _source_delay_set(self, p: Params) -> None:
        self.source_autodelay[p.alt[0]] = False

    def _source_autodelay_changed(self, p: Params) -> None:
        f = p.alt[0]
        if self.source_autodelay[f]:
            self.source_delay[f] = AUTODELAY_S[f]

    @scpi(":SOURce#:VOLTage:ILIMit[:LEVel]:TRIPped", query=True)
    def _get_ilim_tripped(self, p: Params):
        """1 only while the voltage source is at its current limit."""
        return "1" if self.source_func == "VOLT" and self._limit_state() else "0"

    @scpi(":SOURce#:CURRent:VLIMit[:LEVel]:TRIPped", query=True)
    def _get_vlim_tripped(self, p: Params):
        """1 only while the current source is at its voltage limit."""
        return "1" if self.source_func == "CURR" and self._limit_state() else "0"

    @scpi(":SOURce#:VOLTage:PROTection:TRIPped", query=True)
    def _get_ovp_tripped(self, p: Params):
        if self.output:
            self._effective_level()
        return "1" if (self.output and self.ovp_tripped) else "0"

    # ------------------------------------------------------------------ output, route
    @scpi(":OUTPut#:INTerlock:TRIPped", query=True)
    def _interlock(self, p: Params):
        """The bench wires the interlock closed: never tripped."""
        return "0"

    # ------------------------------------------------------------------ sense
    @scpi("[:SENSe#]:FUNCtion[:ON]")
    def _set_sense_func(self, p: Params):
        name = p.string(0, "sense function", allow_bare=True).upper().replace('"', "")
        func = _SENSE_FUNC.get(name)
        if func is None:
            raise ScpiError(-224, f"sense function {name!r}")
        self.sense_func = func

    @scpi("[:SENSe#]:FUNCtion[:ON]", query=True)
    def _get_sense_func(self, p: Params):
        return _SENSE_REPLY[self.sense_func]

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:RANGe[:UPPer]")
    def _set_meas_range(self, p: Params):
        f = p.alt[0]
        ranges = MEAS_RANGES[f]
        units = {"CURR": ("A",), "VOLT": ("V",), "RES": ("OHM",)}[f]
        lo = 0.0 if f == "RES" else -ranges[-1] * 1.05
        value = p.number(0, lo=lo, hi=ranges[-1] * 1.05, default=ranges[-1], units=units, name="measure range")
        self.meas_range[f] = _pick_range(value, ranges)
        self.meas_autorange[f] = False

    @scpi("[:SENSe#]:AZERo:ONCE", args=(0, 0))
    def _azero_once(self, p: Params):
        """One autozero reference measurement: an aperture of virtual time, output as it is."""
        self.link.measure(self._aperture_s())

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:RELative:ACQuire", args=(0, 0))
    def _rel_acquire(self, p: Params):
        f = p.alt[0]
        saved = self.sense_func, self.rel_state[f]
        self.sense_func, self.rel_state[f] = f, False
        try:
            r = self.link.measure(self._aperture_s())
            i, v = self._iv(r.current_a, r.voltage_v, r.compliance)
            self.rel[f] = self._reading_value(i, v)
        finally:
            self.sense_func, self.rel_state[f] = saved

    # ------------------------------------------------------------------ calculate (limits)
    @scpi(":CALCulate#:{CURRent|VOLTage|RESistance}[:DC]:LIMit#:FAIL", query=True)
    def _limit_fail(self, p: Params):
        return ("NONE", "LOW", "HIGH", "BOTH")[self.limit_results[p.sfx[1]]]

    @scpi(":CALCulate#:{CURRent|VOLTage|RESistance}[:DC]:LIMit#:CLEar[:IMMediate]", args=(0, 0))
    def _limit_clear(self, p: Params):
        self.limit_results[p.sfx[1]] = 0

    # ------------------------------------------------------------------ readings
    def _read_elements(self, p: Params, start: int) -> list[str]:
        return [p.choice(i, ELEMENTS, "buffer element") for i in range(start, len(p))]

    def _number(self, x: float) -> str:
        digits = self.ascii_precision
        return f"{x:.{digits - 1}E}" if digits else format_number(_NUMBER, x)  # (as _fmt, a call less a reading)

    def _reply(self, buf: ReadingBuffer, start: int, end: int, elements: list[str]):
        """Reading fields as ASCII, or as a binary block for FORMat REAL/SREal."""
        if self.data_format == "ASC":
            return ",".join(buf.elements(start, end, elements, self.clock.epoch_s, self._number))
        allowed = {"READ", "REL", "SOUR"}
        if any(e not in allowed for e in elements or ["READ"]):
            raise ScpiError(-221, "with FORMat REAL/SREal only READing, RELative and SOURce")
        values = [float(x) for x in buf.elements(start, end, elements, self.clock.epoch_s, repr)]
        code = ("<" if self.border == "SWAP" else ">") + ("d" if self.data_format == "REAL" else "f")
        payload = struct.pack(f"{code[0]}{len(values)}{code[1]}", *values)
        head = str(len(payload))
        return f"#{len(head)}{head}".encode() + payload

    @scpi(":READ[:DEFault]", query=True, args=(0, 15))
    @scpi(":MEASure[:{CURRent|VOLTage|RESistance}][:DC]", query=True, args=(0, 15))
    def _read(self, p: Params):
        buf = self.buffer(self._buffer_arg(p, 0)) if p.tokens else self.buffers["defbuffer1"]  # (not deletable)
        elements = self._read_elements(p, 1) if len(p.tokens) > 1 else []
        if p.alt and p.alt[0]:
            self.sense_func = p.alt[0]
        self._take_readings(buf, None)
        if (
            not elements and self.data_format == "ASC" and buf.readings
        ):  # the commonest reply: the one new reading, as text
            return self._number(buf.readings[-1])
        return self._reply(buf, len(buf) - 1, len(buf), elements)

    @scpi(":FETCh", query=True, args=(0, 15))
    def _fetch(self, p: Params):
        buf = self.buffer(self._buffer_arg(p, 0))
        elements = self._read_elements(p, 1)
        if not len(buf):
            raise ScpiError(-230, "buffer is empty")
        return self._reply(buf, len(buf) - 1, len(buf), elements)

    # ------------------------------------------------------------------ trace (buffers)
    @scpi(":TRACe:ACTual", query=True, args=(0, 1))
    def _trace_actual(self, p: Params):
        return str(len(self.buffer(self._buffer_arg(p, 0))))

    @scpi(":TRACe:ACTual:STARt", query=True, args=(0, 1))
    def _trace_actual_start(self, p: Params):
        return "1" if len(self.buffer(self._buffer_arg(p, 0))) else "0"

    @scpi(":TRACe:ACTual:END", query=True, args=(0, 1))
    def _trace_actual_end(self, p: Params):
        return str(len(self.buffer(self._buffer_arg(p, 0))))

    @scpi(":TRACe:DATA", query=True, args=(0, 17))
    def _trace_data(self, p: Params):
        if len(p) == 0:  # 2400 style: every reading of the buffer
            buf = self.buffers["defbuffer1"]
            if not len(buf):
                raise ScpiError(-230, "buffer is empty")
            return self._reply(buf, 0, len(buf), ["READ"])
        start = p.integer(0, lo=1, hi=TOTAL_CAPACITY, name="start index")
        end = p.integer(1, lo=1, hi=TOTAL_CAPACITY, name="end index")
        buf = self.buffer(self._buffer_arg(p, 2))
        elements = self._read_elements(p, 3)
        if start > end or end > len(buf):
            raise ScpiError(-222, f"indices {start}..{end} outside the {len(buf)} readings")
        return self._reply(buf, start - 1, end, elements)

    @scpi(":TRACe:CLEar", args=(0, 1))
    def _trace_clear(self, p: Params):
        self.buffer(self._buffer_arg(p, 0)).clear()
        self.meas2400.clear(512)
        self.meas2400.event &= ~512

    def _capacity_left(self, excluding: str | None = None) -> int:
        used = sum(b.capacity for n, b in self.buffers.items() if n != excluding)
        return TOTAL_CAPACITY - used

    @scpi(":TRACe:POINts", args=(1, 2))
    def _set_trace_points(self, p: Params):
        name = self._buffer_arg(p, 1)
        buf = self.buffer(name)
        n = p.integer(0, lo=1, hi=2**31 - 1, name="buffer size")
        if n > self._capacity_left(excluding=name):
            raise ScpiError(-225, f"{n} readings: only {self._capacity_left(name)} left in memory")
        buf.resize(n)

    @scpi(":TRACe:POINts", query=True, args=(0, 1))
    def _get_trace_points(self, p: Params):
        return str(self.buffer(self._buffer_arg(p, 0)).capacity)

    @scpi(":TRACe:MAKE", args=(2, 3))
    def _trace_make(self, p: Params):
        name = check_buffer_name(p.string(0, "buffer name", allow_bare=True))
        size = p.integer(1, lo=10, hi=2**31 - 1, name="buffer size")
        style = "STAN"
        if p.has(2):
            style = p.choice(2, ["STANdard", "COMPact", "FULL", "WRITable", "FULLWRITable"], "style")
        if name in self.buffers:
            raise ScpiError(-224, f"buffer {name!r} already exists")
        if size > self._capacity_left():
            raise ScpiError(-225, f"{size} readings: only {self._capacity_left()} left in memory")
        self.buffers[name] = ReadingBuffer(size, style)

    @scpi(":TRACe:DELete")
    def _trace_delete(self, p: Params):
        name = p.string(0, "buffer name", allow_bare=True)
        if name in ("defbuffer1", "defbuffer2") or name not in self.buffers:
            raise ScpiError(-224, f"buffer {name!r} cannot be deleted")
        del self.buffers[name]

    @scpi(":TRACe:FILL:MODE", args=(1, 2))
    def _set_fill_mode(self, p: Params):
        mode = p.choice(0, ["CONTinuous", "ONCE"], "fill mode")
        self.buffer(self._buffer_arg(p, 1)).fill_mode = mode

    @scpi(":TRACe:FILL:MODE", query=True, args=(0, 1))
    def _get_fill_mode(self, p: Params):
        return self.buffer(self._buffer_arg(p, 0)).fill_mode

    @scpi(":TRACe:LOG:STATe", args=(1, 2))
    def _set_log_state(self, p: Params):
        state = p.boolean(0, "log state")
        self.buffer(self._buffer_arg(p, 1)).log_state = state

    @scpi(":TRACe:LOG:STATe", query=True, args=(0, 1))
    def _get_log_state(self, p: Params):
        return "1" if self.buffer(self._buffer_arg(p, 0)).log_state else "0"

    @scpi(":TRACe:TRIGger", args=(0, 1))
    def _trace_trigger(self, p: Params):
        self.take_readings(self._buffer_arg(p, 0))

    @scpi(":TRACe:STATistics:{AVERage|MAXimum|MINimum|STDDev|PK2Pk}", query=True, args=(0, 1))
    def _trace_stats(self, p: Params):
        data = np.array(self.buffer(self._buffer_arg(p, 0)).statistics_values())
        if not data.size:
            return _fmt(0.0)
        value = {
            "AVER": np.mean,
            "MAX": np.max,
            "MIN": np.min,
            "STDD": lambda d: np.std(d, ddof=1) if d.size > 1 else 0.0,
            "PK2P": np.ptp,
        }[p.alt[0]](data)
        return _fmt(float(value))

    @scpi(":TRACe:STATistics:CLEar", args=(0, 1))
    def _trace_stats_clear(self, p: Params):
        buf = self.buffer(self._buffer_arg(p, 0))
        buf.stats_base = len(buf.readings)

    @scpi(":TRACe:WRITe:FORMat", args=(3, 3))
    def _trace_write_format(self, p: Params):
        buf = self._writable(p, 0)
        buf.write_format = (
            p.choice(1, ["PREFix", "EXPonent"], "unit display"),
            str(p.integer(2, lo=3, hi=6, name="digits")),
        )

    @scpi(":TRACe:WRITe:READing", args=(2, 5))
    def _trace_write_reading(self, p: Params):
        buf = self._writable(p, 0)
        value = p.number(1, name="reading")
        units = "AMP"
        if p.has(2):
            units = {"AMP": "AMP", "VOLT": "VOLT", "OHM": "OHM", "WATT": "WATT"}.get(
                p.choice(2, ["AMP", "VOLT", "OHM", "WATT"], "units"), "AMP"
            )
        buf.add(value, 0.0, 0, 0, self.link.now_s, units, "VOLT")

    def _writable(self, p: Params, i: int) -> ReadingBuffer:
        buf = self.buffer(p.string(i, "buffer name", allow_bare=True))
        if buf.style not in ("WRIT", "FULLWRIT"):
            raise ScpiError(-221, "not a writable buffer")
        return buf

    @scpi(":TRACe:FEED")
    def _set_feed(self, p: Params):
        self.trace_feed = p.choice(0, ["SENSe", "CALCulate1", "CALCulate2"], "feed")

    @scpi(":TRACe:FEED", query=True)
    def _get_feed(self, p: Params):
        return self.trace_feed

    @scpi(":TRACe:FEED:CONTrol")
    def _set_feed_control(self, p: Params):
        self.trace_feed_control = p.choice(0, ["NEXT", "NEVer"], "feed control")

    @scpi(":TRACe:FEED:CONTrol", query=True)
    def _get_feed_control(self, p: Params):
        return self.trace_feed_control

    # ------------------------------------------------------------------ status, system
    @scpi(":STATus:PRESet", args=(0, 0))
    def _stat_preset(self, p: Params):
        status.preset_command()(self, p)
        self.oper_map.clear()
        self.ques_map.clear()

    @scpi(":STATus:CLEar", args=(0, 0))
    def _stat_clear(self, p: Params):
        self._clear_status_extra()

    _stat_enable = scpi(":STATus:{OPERation|QUEStionable|MEASurement}:ENABle")(status.enable_command())
    _stat_enable_q = scpi(":STATus:{OPERation|QUEStionable|MEASurement}:ENABle", query=True)(status.enable_query())
    _stat_event = scpi(":STATus:{OPERation|QUEStionable|MEASurement}[:EVENt]", query=True)(status.event_query())
    _stat_condition = scpi(":STATus:{OPERation|QUEStionable|MEASurement}:CONDition", query=True)(
        status.condition_query()
    )

    @scpi(":STATus:{OPERation|QUEStionable}:MAP", args=(2, 3))
    def _set_stat_map(self, p: Params):
        bit = p.integer(0, lo=0, hi=14, name="bit number")
        set_event = p.integer(1, lo=0, hi=65535, name="set event")
        clear_event = p.integer(2, lo=0, hi=65535, name="clear event") if p.has(2) else 0
        (self.oper_map if p.alt[0] == "OPER" else self.ques_map)[bit] = (set_event, clear_event)

    @scpi(":STATus:{OPERation|QUEStionable}:MAP", query=True, args=(1, 1))
    def _get_stat_map(self, p: Params):
        bit = p.integer(0, lo=0, hi=14, name="bit number")
        mapping = self.oper_map if p.alt[0] == "OPER" else self.ques_map
        return "{},{}".format(*mapping.get(bit, (0, 0)))

    def trigger_event(self, code: int) -> None:
        """An instrument event (event number): mapped status bits follow it."""
        for reg, mapping in ((self.registers["OPER"], self.oper_map), (self.registers["QUES"], self.ques_map)):
            for bit, (set_event, clear_event) in mapping.items():
                if code and code == set_event:
                    reg.set(1 << bit)
                if code and code == clear_event:
                    reg.clear(1 << bit)

    @scpi(":SYSTem:BEEPer[:IMMediate]", args=(2, 2))
    def _beep(self, p: Params):
        p.number(0, lo=20.0, hi=8000.0, units=("HZ",), name="beep frequency")
        p.number(1, lo=0.001, hi=100.0, units=("S",), name="beep duration")

    @scpi(":SYSTem:CLEar", args=(0, 0))
    def _syst_clear(self, p: Params):
        self.errors.clear()
        self.eventlog.clear()

    @scpi(":SYSTem:LFRequency", query=True)
    def _get_lfr(self, p: Params):
        return str(int(self.line_frequency_hz))

    @scpi(":SYSTem:ERRor:CODE[:NEXT]", query=True)
    def _syst_err_code(self, p: Params):
        return str(self.errors.pop()[0])

    @scpi(":SYSTem:EVENtlog:POST", args=(1, 2))
    def _eventlog_post(self, p: Params):
        message = p.string(0, "message")
        kind = p.choice(1, ["ERRor", "WARNing", "INFormation"], "event type") if p.has(1) else "INF"
        self.log_event(kind, message)

    def log_event(self, kind: str, message: str) -> None:
        severity = {"ERR": 1, "WARN": 2, "INF": 4, "INFO": 4}.get(kind.rstrip("1234"), 4)
        self.eventlog.append((1000 + severity, message[:200], severity, self._stamp()))

    @scpi(":SYSTem:EVENtlog[:NEXT]", query=True, args=(0, 1))
    def _eventlog_next(self, p: Params):
        wanted = self._event_severities(p)
        for k, entry in enumerate(self.eventlog):
            if entry[2] in wanted:
                del self.eventlog[k]
                code, message, severity, stamp = entry
                return f'{code},"{message};{severity};{stamp}"'
        return '0,"No error;0;0 0"'

    @scpi(":SYSTem:EVENtlog:COUNt", query=True, args=(0, 1))
    def _eventlog_count(self, p: Params):
        wanted = self._event_severities(p)
        return str(sum(1 for e in self.eventlog if e[2] in wanted))

    def _event_severities(self, p: Params) -> set[int]:
        if not p.has(0):
            return {1, 2, 4}
        kind = p.choice(0, ["ALL", "ERRor", "WARNing", "INFormation"], "event type")
        return {"ALL": {1, 2, 4}, "ERR": {1}, "WARN": {2}, "INF": {4}}[kind]

    @scpi(":SYSTem:TIME", args=(3, 6))
    def _set_time(self, p: Params):
        if len(p) == 6:
            self.clock.set_date(
                p.integer(0, lo=1970, hi=2037, name="year"),
                p.integer(1, lo=1, hi=12, name="month"),
                p.integer(2, lo=1, hi=31, name="day"),
            )
            p = Params(p.tokens[3:], p.sfx, p.alt, p.query)
        elif len(p) != 3:
            raise ScpiError(-109, "year, month, day, hour, minute, second (or hour, minute, second)")
        self.clock.set_from(p, "TIME")

    @scpi(":SYSTem:TIME", query=True, args=(0, 1))
    def _get_time(self, p: Params):
        t = self.clock.now_s
        if p.has(0) and p.boolean(0, "as text"):
            return _time.strftime("%a %b %d %H:%M:%S %Y", _time.gmtime(t))
        return str(int(t))

    @scpi(":SYSTem:VERSion", query=True)
    def _get_version(self, p: Params):
        return "1999.0"

    @scpi(":SYSTem:COMMunication:LAN:MACaddress", query=True)
    def _get_mac(self, p: Params):
        return "08:00:11:24:50:01"

    # ------------------------------------------------------------------ configuration lists
    def _config_rows(self, kind: str):
        prefix = (":SOURce#", ":OUTPut#:{") if kind == "source" else ("[:SENSe#]", ":CALC")
        return [
            row
            for row in self._keyed_rows
            if row.rst is not None and row.header.startswith(prefix) and "FUNCtion" not in row.header
        ]

    def _config_entries(self, kind: str) -> list[tuple[Row, tuple, tuple]]:
        """(row, alternatives, suffixes) of every setting a ``kind`` configuration list holds, in order:
        the same for every instance of the class, so listed once (a sweep snapshots them each time)."""
        cache = type(self).__dict__.get("_config_entries_cache")
        if cache is None:
            cache = {}
            type(self)._config_entries_cache = cache
        entries = cache.get(kind)
        if entries is None:
            entries = cache[kind] = [
                (row, alt, sfx)
                for row in self._config_rows(kind)
                for alt in row.alternatives()
                for sfx in row.suffix_values()
            ]
        return entries

    def _config_snapshot(self, kind: str) -> dict:
        from .table import get_value

        out = {}
        if kind == "source":
            out[("source_func",)] = self.source_func
        else:
            out[("sense_func",)] = self.sense_func
        for row, alt, sfx in self._config_entries(kind):
            out[(row.header, alt, sfx)] = get_value(self, row, alt, sfx)
        return out

    def _config_apply(self, entry: dict) -> None:
        from .table import set_value

        rows = self.table.by_header()
        for key, value in entry.items():
            if key == ("source_func",):
                self.source_func = value
            elif key == ("sense_func",):
                self.sense_func = value
            else:
                header, alt, sfx = key
                set_value(self, rows[header], alt, sfx, value)
        self._apply_source()

    def _config_list(self, name: str, kind: str | None = None) -> ConfigList:
        cl = self.config_lists.get(name)
        if cl is None or (kind is not None and cl.kind != kind):
            raise ScpiError(-224, f"configuration list {name!r} does not exist")
        return cl

    def config_recall(self, name: str, index: int) -> None:
        cl = self._config_list(name)
        if not 1 <= index <= len(cl):
            raise ScpiError(-222, f"index {index} not in 1..{len(cl)} of {name!r}")
        cl.index = index
        self._config_apply(cl.entry(index))

    def config_step(self, name: str, step: int) -> None:
        cl = self._config_list(name)
        index = (cl.index - 1 + step) % len(cl) + 1
        self.config_recall(name, index)

    def config_size(self, name: str) -> int:
        return len(self._config_list(name))

    def _conf_create(self, p: Params, kind: str):
        name = check_buffer_name(p.string(0, "list name", allow_bare=True))
        if name in self.config_lists:
            raise ScpiError(-224, f"configuration list {name!r} already exists")
        self.config_lists[name] = ConfigList(kind)

    def _conf_store(self, p: Params, kind: str):
        cl = self._config_list(p.string(0, "list name", allow_bare=True), kind)
        if isinstance(cl, SweepList):
            raise ScpiError(-221, "a sweep's list cannot be edited")
        entry = self._config_snapshot(cl.kind)
        if p.has(1):
            index = p.integer(1, lo=1, hi=len(cl) + 1, name="index")
            if index <= len(cl):
                cl.entries[index - 1] = entry
                return
        cl.entries.append(entry)

    def _conf_recall(self, p: Params, kind: str):
        name = p.string(0, "list name", allow_bare=True)
        self._config_list(name, kind)
        self.config_recall(name, p.integer(1, lo=1, hi=2**31, name="index") if p.has(1) else 1)

    def _conf_delete(self, p: Params, kind: str):
        name = p.string(0, "list name", allow_bare=True)
        cl = self._config_list(name, kind)
        if p.has(1):
            index = p.integer(1, lo=1, hi=max(1, len(cl)), name="index")
            if isinstance(cl, SweepList) or index > len(cl):
                raise ScpiError(-222, f"index {index} of {name!r}")
            del cl.entries[index - 1]
        else:
            del self.config_lists[name]

    def _conf_size(self, p: Params, kind: str):
        return str(len(self._config_list(p.string(0, "list name", allow_bare=True), kind)))

    def _conf_catalog(self, p: Params, kind: str):
        names = [n for n, cl in self.config_lists.items() if cl.kind == kind]
        return ",".join(f'"{n}"' for n in names) if names else '""'

    def _conf_query(self, p: Params, kind: str):
        cl = self._config_list(p.string(0, "list name", allow_bare=True), kind)
        index = p.integer(1, lo=1, hi=max(1, len(cl)), name="index")
        if index > len(cl):
            raise ScpiError(-222, f"index {index} of a list of {len(cl)}")
        sep = p.string(2, "field separator") if p.has(2) else ","
        rows = self.table.by_header()
        fields = []
        for key, value in cl.entry(index).items():
            label = key[0] if len(key) == 1 else rows[key[0]].concrete(key[1], key[2])
            if isinstance(value, bool):
                value = "1" if value else "0"
            elif isinstance(value, float):
                value = _fmt(value)
            fields.append(f"{label} {value}")
        return '"' + sep.join(fields) + '"'

    @scpi(":SOURce#:CONFiguration:LIST:CREate")
    def _sconf_create(self, p):
        return self._conf_create(p, "source")

    @scpi("[:SENSe#]:CONFiguration:LIST:CREate")
    def _mconf_create(self, p):
        return self._conf_create(p, "measure")

    @scpi(":SOURce#:CONFiguration:LIST:STORe", args=(1, 2))
    def _sconf_store(self, p):
        return self._conf_store(p, "source")

    @scpi("[:SENSe#]:CONFiguration:LIST:STORe", args=(1, 2))
    def _mconf_store(self, p):
        return self._conf_store(p, "measure")

    @scpi(":SOURce#:CONFiguration:LIST:RECall", args=(1, 2))
    def _sconf_recall(self, p):
        return self._conf_recall(p, "source")

    @scpi("[:SENSe#]:CONFiguration:LIST:RECall", args=(1, 2))
    def _mconf_recall(self, p):
        return self._conf_recall(p, "measure")

    @scpi(":SOURce#:CONFiguration:LIST:DELete", args=(1, 2))
    def _sconf_delete(self, p):
        return self._conf_delete(p, "source")

    @scpi("[:SENSe#]:CONFiguration:LIST:DELete", args=(1, 2))
    def _mconf_delete(self, p):
        return self._conf_delete(p, "measure")

    @scpi(":SOURce#:CONFiguration:LIST:SIZE", query=True, args=(1, 1))
    def _sconf_size(self, p):
        return self._conf_size(p, "source")

    @scpi("[:SENSe#]:CONFiguration:LIST:SIZE", query=True, args=(1, 1))
    def _mconf_size(self, p):
        return self._conf_size(p, "measure")

    @scpi(":SOURce#:CONFiguration:LIST:CATalog", query=True)
    def _sconf_catalog(self, p):
        return self._conf_catalog(p, "source")

    @scpi("[:SENSe#]:CONFiguration:LIST:CATalog", query=True)
    def _mconf_catalog(self, p):
        return self._conf_catalog(p, "measure")

    @scpi(":SOURce#:CONFiguration:LIST:QUERy", query=True, args=(2, 3))
    def _sconf_query(self, p):
        return self._conf_query(p, "source")

    @scpi("[:SENSe#]:CONFiguration:LIST:QUERy", query=True, args=(2, 3))
    def _mconf_query(self, p):
        return self._conf_query(p, "measure")

    # ------------------------------------------------------------------ sweeps
    def _sweep_tail(self, f: str, kind: str, levels: np.ndarray, p: Params, i: int, fields: tuple[str, ...]) -> None:
        """Parse the optional trailing sweep parameters (the manual's order) and build the model."""
        if f != self.source_func:
            raise ScpiError(-221, "set :SOUR:FUNC to the sweep's function first")
        v = {"delay": -1.0, "count": 1, "range": "BEST", "failabort": True, "dual": False, "buffer": "defbuffer1"}
        for k, fld in enumerate(fields, start=i):
            if not p.has(k):
                continue
            if fld == "delay":
                v[fld] = p.number(k, lo=-1.0, hi=1e4, default=-1.0, units=("S",), name="sweep delay")
                if v[fld] < 0 and v[fld] != -1.0 or 0 < v[fld] < 50e-6:
                    raise ScpiError(-222, "sweep delay must be -1 (auto), 0 or 50e-6 to 1e4 s")
            elif fld == "count":
                v[fld] = p.integer(k, lo=0, hi=268435455, name="sweep count")
            elif fld == "range":
                v[fld] = p.choice(k, ["AUTO", "BEST", "FIXed"], "range type")
            elif fld in ("failabort", "dual"):
                v[fld] = p.boolean(k, fld)
            elif fld == "buffer":
                v[fld] = p.string(k, "buffer name", allow_bare=True)
        if len(p) > i + len(fields):
            raise ScpiError(-108, "too many sweep parameters")
        self.buffer(v["buffer"])
        if v["count"] == 0:
            raise ScpiError(-221, "an infinite sweep (count 0) cannot finish in virtual time (emulator limit)")
        if v["dual"]:
            levels = np.concatenate([levels, levels[::-1]])
        if len(levels) * v["count"] > MAX_SWEEP_READINGS:
            raise ScpiError(
                -223,
                f"{len(levels) * v['count']} readings in one sweep: the "
                f"emulator runs at most {MAX_SWEEP_READINGS} per :INIT",
            )
        delay = AUTODELAY_S[f] if v["delay"] == -1.0 else v["delay"]
        self._build_sweep_model(f, kind, levels, delay, v)

    def _build_sweep_model(self, f: str, kind: str, levels: np.ndarray, delay: float, v) -> None:
        if v["range"] != "FIX":
            top = float(np.max(np.abs(levels)))
            base_range = _pick_range(top, SOURCE_RANGES[f])
        else:
            base_range = self.source_range[f]
        name = _SWEEP_LIST_NAMES[(f, kind)]
        base = self._config_snapshot("source")
        rows = self.table.by_header()
        level_row = rows[":SOURce#:{VOLTage|CURRent}[:LEVel][:IMMediate][:AMPLitude]"]
        range_row = rows[":SOURce#:{VOLTage|CURRent}:RANGe"]
        auto_row = rows[":SOURce#:{VOLTage|CURRent}:RANGe:AUTO"]
        base[(range_row.header, (f,), (1,))] = base_range
        base[(auto_row.header, (f,), (1,))] = v["range"] == "AUTO"
        self.config_lists[name] = SweepList(base, (level_row.header, (f,), (1,)), levels)
        blocks = [
            Block("BUFFER_CLEAR", {"buffer": v["buffer"]}),
            Block("CONFIG_RECALL", {"list": name, "index": 1}),
            Block("SOURCE_OUTPUT", {"state": "ON"}),
            Block("DELAY_CONSTANT", {"delay": delay}),
            Block("MEASURE", {"buffer": v["buffer"], "count": 1}),
            Block("CONFIG_NEXT", {"list": name}),
            Block("BRANCH_COUNTER", {"count": len(levels), "branch_block": 4}),
        ]
        if v["count"] > 1:
            blocks.append(Block("BRANCH_COUNTER", {"count": v["count"], "branch_block": 2}))
        blocks.append(Block("SOURCE_OUTPUT", {"state": "OFF"}))
        self.trigger.clear()
        for n, block in enumerate(blocks, start=1):
            self.trigger.set_block(n, block)
        self.trigger.sweep = dict(
            func=f,
            levels=levels,
            count=v["count"],
            delay_s=delay,
            fail_abort=v["failabort"],
            buffer=v["buffer"],
            list=name,
        )

    def _sweep_bounds(self, p: Params, f: str) -> tuple[float, float]:
        top = SOURCE_MAX[f]
        return (p.number(0, lo=-top, hi=top, name="sweep start"), p.number(1, lo=-top, hi=top, name="sweep stop"))

    @scpi(":SOURce#:SWEep:{VOLTage|CURRent}:LINear", args=(3, 9))
    def _sweep_linear(self, p: Params):
        f = p.alt[0]
        start, stop = self._sweep_bounds(p, f)
        points = p.integer(2, lo=2, hi=1_000_000, name="sweep points")
        self._sweep_tail(f, "LIN", np.linspace(start, stop, points), p, 3, _LIN_FIELDS)

    @scpi(":SOURce#:SWEep:{VOLTage|CURRent}:LINear:STEP", args=(3, 9))
    def _sweep_linear_step(self, p: Params):
        f = p.alt[0]
        start, stop = self._sweep_bounds(p, f)
        step = p.number(2, lo=0.0, hi=2 * SOURCE_MAX[f], name="sweep step")
        if step <= 0:
            raise ScpiError(-222, "sweep step must be > 0")
        points = int(math.floor(abs(stop - start) / step + 1e-9)) + 1
        if points > 1_000_000 or points < 2:
            raise ScpiError(-222, f"sweep of {points} points (2 to 1e6)")
        levels = start + math.copysign(step, stop - start) * np.arange(points)
        self._sweep_tail(f, "LIN", levels, p, 3, _LIN_FIELDS)

    @scpi(":SOURce#:SWEep:{VOLTage|CURRent}:LOG", args=(3, 10))
    def _sweep_log(self, p: Params):
        f = p.alt[0]
        start, stop = self._sweep_bounds(p, f)
        points = p.integer(2, lo=2, hi=1_000_000, name="sweep points")
        top = SOURCE_MAX[f]
        asymptote = p.number(8, lo=-top, hi=top, name="asymptote") if p.has(8) else 0.0
        if (start - asymptote) * (stop - asymptote) <= 0:
            raise ScpiError(-222, "the asymptote must lie outside [start, stop]")
        levels = asymptote + np.sign(start - asymptote) * np.logspace(
            math.log10(abs(start - asymptote)), math.log10(abs(stop - asymptote)), points
        )
        self._sweep_tail(f, "LOG", levels, p, 3, _LOG_FIELDS)

    @scpi(":SOURce#:SWEep:{VOLTage|CURRent}:LIST", args=(1, 5))
    def _sweep_list(self, p: Params):
        f = p.alt[0]
        values = self.source_list[f]
        start_index = p.integer(0, lo=1, hi=max(1, len(values)), name="start index")
        if not values:
            raise ScpiError(-221, "source list is empty")
        self._sweep_tail(f, "LIST", np.asarray(values[start_index - 1 :], dtype=float), p, 1, _LIST_FIELDS)

    def _list_values(self, p: Params, f: str) -> list[float]:
        if len(p) > SOURCE_LIST_MAX:
            raise ScpiError(-223, f"{len(p)} values: at most {SOURCE_LIST_MAX} per command")
        return p.numbers(0, lo=-SOURCE_MAX[f], hi=SOURCE_MAX[f], name="list value")

    @scpi(":SOURce#:LIST:{VOLTage|CURRent}", args=(1, 1000))
    def _set_list(self, p: Params):
        f = p.alt[0]
        self.source_list[f] = self._list_values(p, f)

    @scpi(":SOURce#:LIST:{VOLTage|CURRent}:APPend", args=(1, 1000))
    def _append_list(self, p: Params):
        f = p.alt[0]
        values = self._list_values(p, f)
        if len(self.source_list[f]) + len(values) > 2500:
            raise ScpiError(-225, "a source list holds at most 2500 values")
        self.source_list[f].extend(values)

    @scpi(":SOURce#:LIST:{VOLTage|CURRent}", query=True, args=(0, 2))
    def _get_list(self, p: Params):
        values = self.source_list[p.alt[0]]
        start = p.integer(0, lo=1, hi=max(1, len(values)), name="start index") if p.has(0) else 1
        count = p.integer(1, lo=1, hi=2500, name="count") if p.has(1) else len(values)
        chunk = values[start - 1 : start - 1 + count]
        return ",".join(_fmt(v) for v in chunk) if chunk else '""'

    @scpi(":SOURce#:LIST:{VOLTage|CURRent}:POINts", query=True)
    def _get_list_points(self, p: Params):
        return str(len(self.source_list[p.alt[0]]))

    # ------------------------------------------------------------------ trigger model
    @scpi(":INITiate[:IMMediate]", args=(0, 0))
    def _initiate(self, p: Params):
        if self.trigger.state in ("RUNNING", "WAITING"):
            raise ScpiError(-213, "the trigger model is already running")
        if self.trigger.sweep is not None:
            self._run_sweep()
            return
        if not self.trigger.blocks and self.trace_feed_control == "NEXT":
            buf = self.buffers["defbuffer1"]  # 2400 style: fill the buffer
            while len(buf) < buf.capacity:
                self.take_readings("defbuffer1")
            return
        Runner(self.trigger, self).start()

    @scpi(":ABORt", args=(0, 0))
    def _abort(self, p: Params):
        if self.trigger.state in ("RUNNING", "WAITING", "PAUSED"):
            self.trigger.state = "ABORTED"
            self.trigger_event(2728)

    @scpi(":TRIGger:PAUSe", args=(0, 0))
    def _trig_pause(self, p: Params):
        if self.trigger.state == "WAITING":
            self.trigger.state = "PAUSED"

    @scpi(":TRIGger:RESume", args=(0, 0))
    def _trig_resume(self, p: Params):
        if self.trigger.state == "PAUSED":
            Runner(self.trigger, self).resume()

    @scpi(":TRIGger:STATe", query=True)
    def _trig_state(self, p: Params):
        return self.trigger.status()

    def _on_trigger(self) -> None:
        """``*TRG``: the COMMand event; a model waiting for it resumes."""
        self.trigger.latched.add("COMM")
        if self.trigger.state == "WAITING":
            Runner(self.trigger, self).resume()

    def notify(self, event: str) -> None:
        for timer in self.timers.values():
            if timer.enabled and timer.stimulus == event:
                timer_start_time(timer, self.clock_s())

    def user_delay(self, which: str) -> float:
        n = which[-1]
        if which.startswith("SOUR"):
            return self.s[f"source.{self.source_func}.delay.user{n}"]
        return self.s[f"sense.{self.sense_func}.delay.user{n}"]

    def _set_block(self, p: Params, kind: str) -> None:
        n = p.integer(0, lo=1, hi=63, name="block number")
        self.trigger.set_block(n, block_from_command(kind, p, 1))

    @scpi(":TRIGger:BLOCk:BUFFer:CLEar", args=(1, 2))
    def _blk_buffer_clear(self, p: Params):
        self._set_block(p, "BUFFER_CLEAR")

    @scpi(":TRIGger:BLOCk:CONFig:NEXT", args=(2, 2))
    def _blk_conf_next(self, p: Params):
        self._set_block(p, "CONFIG_NEXT")

    @scpi(":TRIGger:BLOCk:CONFig:PREVious", args=(2, 2))
    def _blk_conf_prev(self, p: Params):
        self._set_block(p, "CONFIG_PREV")

    @scpi(":TRIGger:BLOCk:CONFig:RECall", args=(2, 3))
    def _blk_conf_recall(self, p: Params):
        self._set_block(p, "CONFIG_RECALL")

    @scpi(":TRIGger:BLOCk:DELay:CONStant", args=(2, 2))
    def _blk_delay_const(self, p: Params):
        self._set_block(p, "DELAY_CONSTANT")

    @scpi(":TRIGger:BLOCk:DELay:DYNamic", args=(2, 2))
    def _blk_delay_dyn(self, p: Params):
        self._set_block(p, "DELAY_DYNAMIC")

    @scpi(":TRIGger:BLOCk:MEASure", args=(1, 3))
    def _blk_measure(self, p: Params):
        self._set_block(p, "MEASURE")

    @scpi(":TRIGger:BLOCk:NOP", args=(1, 1))
    def _blk_nop(self, p: Params):
        self._set_block(p, "NOP")

    @scpi(":TRIGger:BLOCk:SOURce:STATe", args=(2, 2))
    def _blk_source_state(self, p: Params):
        self._set_block(p, "SOURCE_OUTPUT")

    @scpi(":TRIGger:BLOCk:BRANch:ALWays", args=(2, 2))
    def _blk_always(self, p: Params):
        self._set_block(p, "BRANCH_ALWAYS")

    @scpi(":TRIGger:BLOCk:BRANch:ONCE", args=(2, 2))
    def _blk_once(self, p: Params):
        self._set_block(p, "BRANCH_ONCE")

    @scpi(":TRIGger:BLOCk:BRANch:ONCE:EXCLuded", args=(2, 2))
    def _blk_once_excluded(self, p: Params):
        self._set_block(p, "BRANCH_ONCE_EXCLUDED")

    @scpi(":TRIGger:BLOCk:BRANch:COUNter", args=(3, 3))
    def _blk_counter(self, p: Params):
        self._set_block(p, "BRANCH_COUNTER")

    @scpi(":TRIGger:BLOCk:BRANch:COUNter:COUNt", query=True, args=(1, 1))
    def _blk_counter_count(self, p: Params):
        n = p.integer(0, lo=1, hi=63, name="block number")
        block = self.trigger.blocks.get(n)
        if block is None or block.kind != "BRANCH_COUNTER":
            raise ScpiError(-221, f"block {n} is not a counter")
        return str(self.trigger.counters.get(n, 0))

    @scpi(":TRIGger:BLOCk:BRANch:COUNter:RESet", args=(1, 1))
    def _blk_counter_reset(self, p: Params):
        self.trigger.counters[p.integer(0, lo=1, hi=63, name="block number")] = 0

    @scpi(":TRIGger:BLOCk:BRANch:LIMit:CONStant", args=(5, 6))
    def _blk_limit_const(self, p: Params):
        self._set_block(p, "BRANCH_LIMIT_CONSTANT")

    @scpi(":TRIGger:BLOCk:BRANch:LIMit:DYNamic", args=(4, 5))
    def _blk_limit_dyn(self, p: Params):
        self._set_block(p, "BRANCH_LIMIT_DYNAMIC")

    @scpi(":TRIGger:BLOCk:BRANch:DELTa", args=(3, 4))
    def _blk_delta(self, p: Params):
        self._set_block(p, "BRANCH_DELTA")

    @scpi(":TRIGger:BLOCk:BRANch:EVENt", args=(3, 3))
    def _blk_event(self, p: Params):
        self._set_block(p, "BRANCH_EVENT")

    @scpi(":TRIGger:BLOCk:WAIT", args=(2, 6))
    def _blk_wait(self, p: Params):
        self._set_block(p, "WAIT")

    @scpi(":TRIGger:BLOCk:LOG:EVENt", args=(3, 3))
    def _blk_log(self, p: Params):
        self._set_block(p, "LOG_EVENT")

    @scpi(":TRIGger:BLOCk:NOTify", args=(2, 2))
    def _blk_notify(self, p: Params):
        self._set_block(p, "NOTIFY")

    @scpi(":TRIGger:BLOCk:DIGital:IO", args=(2, 3))
    def _blk_digital(self, p: Params):
        self._set_block(p, "DIGITAL_IO")

    @scpi(":TRIGger:BLOCk:LIST", query=True)
    def _blk_list(self, p: Params):
        return self.trigger.listing()

    @scpi(":TRIGger:LOAD", args=(1, 6))
    def _trig_load(self, p: Params):
        if self.trigger.state in ("RUNNING", "WAITING"):
            raise ScpiError(-221, "the trigger model is running")
        blocks, timers = template(p)
        self.trigger.clear()
        for n, block in enumerate(blocks, start=1):
            if block.kind in ("BUFFER_CLEAR", "MEASURE"):
                self.buffer(block.args["buffer"])
            if block.kind == "CONFIG_RECALL":
                self._config_list(block.args["list"])
            self.trigger.set_block(n, block)
        for n, settings in timers.items():
            for k, value in settings.items():
                setattr(self.timers[n], k, value)

    # timers: state lives on Timer objects
    def _timer(self, p: Params) -> Timer:
        return self.timers[p.sfx[0]]

    @scpi(":TRIGger:TIMer#:CLEar", args=(0, 0))
    def _timer_clear(self, p: Params):
        self._timer(p).fired = 0

    @scpi(":TRIGger:TIMer#:STARt:STIMulus")
    def _set_timer_stimulus(self, p: Params):
        token = p.raw(0).strip().strip("'\"")
        self._timer(p).stimulus = parse_event(token)

    @scpi(":TRIGger:TIMer#:STARt:STIMulus", query=True)
    def _get_timer_stimulus(self, p: Params):
        return self._timer(p).stimulus

    @scpi(":TRIGger:TIMer#:STATe")
    def _set_timer_state(self, p: Params):
        timer = self._timer(p)
        timer.enabled = p.boolean(0, "timer state")
        if timer.enabled and timer.stimulus == "NONE":
            timer_start_time(timer, self.clock_s())

    @scpi(":TRIGger:TIMer#:STATe", query=True)
    def _get_timer_state(self, p: Params):
        return "1" if self._timer(p).enabled else "0"

    @scpi(":TRIGger:TIMer#:DELay")
    def _set_timer_delay(self, p: Params):
        self._timer(p).delay_s = p.number(0, lo=8e-6, hi=1e5, default=10e-6, units=("S",), name="timer delay")

    @scpi(":TRIGger:TIMer#:DELay", query=True)
    def _get_timer_delay(self, p: Params):
        return _fmt(self._timer(p).delay_s)

    @scpi(":TRIGger:TIMer#:COUNt")
    def _set_timer_count(self, p: Params):
        self._timer(p).count = p.integer(0, lo=0, hi=1048575, default=1, name="timer count")

    @scpi(":TRIGger:TIMer#:COUNt", query=True)
    def _get_timer_count(self, p: Params):
        return str(self._timer(p).count)

    @scpi(":TRIGger:TIMer#:STARt:GENerate")
    def _set_timer_generate(self, p: Params):
        self._timer(p).generate = p.boolean(0, "generate")

    @scpi(":TRIGger:TIMer#:STARt:GENerate", query=True)
    def _get_timer_generate(self, p: Params):
        return "1" if self._timer(p).generate else "0"

    @scpi(":TRIGger:TIMer#:STARt:SEConds")
    def _set_timer_seconds(self, p: Params):
        timer = self._timer(p)
        seconds = p.integer(0, lo=0, hi=2**31 - 1, name="seconds")
        timer.start_s = seconds - self.clock.epoch_s + (timer.start_s % 1)

    @scpi(":TRIGger:TIMer#:STARt:SEConds", query=True)
    def _get_timer_seconds(self, p: Params):
        return str(int(self._timer(p).start_s + self.clock.epoch_s))

    @scpi(":TRIGger:TIMer#:STARt:FRACtional")
    def _set_timer_fraction(self, p: Params):
        timer = self._timer(p)
        frac = p.number(0, lo=0.0, hi=0.999999999, name="fraction")
        timer.start_s = math.floor(timer.start_s) + frac

    @scpi(":TRIGger:TIMer#:STARt:FRACtional", query=True)
    def _get_timer_fraction(self, p: Params):
        return f"{self._timer(p).start_s % 1:.9f}"

    @scpi(":TRIGger:TIMer#:STARt:OVERrun", query=True)
    @scpi(":TRIGger:DIGital#:IN:OVERrun", query=True)
    @scpi(":TRIGger:EXTernal:IN:OVERrun", query=True)
    @scpi(":TRIGger:BLENder#:OVERrun", query=True)
    def _overrun(self, p: Params):
        """No event generator on the bench is ever overrun."""
        return "0"

    @scpi(":TRIGger:BLENder#:STIMulus#")
    def _set_blend_stim(self, p: Params):
        self.s[f"trig.blend{p.sfx[0]}.stim{p.sfx[1]}"] = parse_event(p.raw(0))

    @scpi(":TRIGger:BLENder#:STIMulus#", query=True)
    def _get_blend_stim(self, p: Params):
        return self.s.get(f"trig.blend{p.sfx[0]}.stim{p.sfx[1]}", "NONE")

    @scpi(":TRIGger:DIGital#:OUT:STIMulus")
    def _set_dig_stim(self, p: Params):
        self.s[f"trig.dig{p.sfx[0]}.stim"] = parse_event(p.raw(0))

    @scpi(":TRIGger:DIGital#:OUT:STIMulus", query=True)
    def _get_dig_stim(self, p: Params):
        return self.s.get(f"trig.dig{p.sfx[0]}.stim", "NONE")

    @scpi(":TRIGger:EXTernal:OUT:STIMulus")
    def _set_ext_stim(self, p: Params):
        self.s["trig.ext.stim"] = parse_event(p.raw(0))

    @scpi(":TRIGger:EXTernal:OUT:STIMulus", query=True)
    def _get_ext_stim(self, p: Params):
        return self.s.get("trig.ext.stim", "NONE")

    @scpi(":TRIGger:BLENder#:CLEar", args=(0, 0))
    @scpi(":TRIGger:DIGital#:IN:CLEar", args=(0, 0))
    @scpi(":TRIGger:EXTernal:IN:CLEar", args=(0, 0))
    def _trigger_line_clear(self, p: Params):
        """Clear a detected input event: none is ever detected on the bench."""

    @scpi(":DISPlay:CLEar", args=(0, 0))
    def _display_clear(self, p: Params):
        self.s["display.user1"] = self.s["display.user2"] = ""

    def _check_display_buffer(self, p: Params, value):
        self.buffer(value)
        return value

    @scpi(":SYSTem:ERRor:COUNt", query=True)
    def _syst_err_count(self, p: Params):
        return str(len(self.errors))

    def _run_sweep(self) -> None:
        """The fast path of a sweep-built model: the same blocks, in one bench call per pass."""
        sw = self.trigger.sweep
        f = sw["func"]
        buf = self.buffer(sw["buffer"])
        cl = self.config_lists.get(sw["list"])
        if not isinstance(cl, SweepList):
            raise ScpiError(-221, f"the sweep's list {sw['list']!r} was deleted")
        self.trigger.state = "RUNNING"
        self.trigger_event(2731)
        buf.clear()
        self.config_recall(sw["list"], 1)
        levels = np.asarray(sw["levels"], dtype=float)
        if not self.source_autorange[f]:
            r = self.source_range[f] * 1.05
            levels = np.clip(levels, -r, r)
        if f == "VOLT":
            levels = np.clip(levels, -self._ovp_v(), self._ovp_v())
        aborted = False
        for _ in range(sw["count"]):
            if self._sweep_pass(f, levels, sw, buf):
                aborted = True
                break
        self.config_recall(sw["list"], 1)  # CONFIG_NEXT wrapped round to the first point
        self.output = False
        self._apply_source()
        self.trigger.state = "ABORTED" if aborted else "IDLE"
        self.trigger.pc = len(self.trigger.blocks)
        self.trigger_event(2728 if aborted else 2732)

    def _sweep_pass(self, f: str, levels: np.ndarray, sw: dict, buf: ReadingBuffer) -> bool:
        """One pass over the points; True when failAbort stopped it at the limit."""
        self.output = True
        delay, aperture = sw["delay_s"], self._aperture_s()
        t0 = self.link.now_s
        ilimit = self.ilimit_a if f == "VOLT" else None
        if not sw["fail_abort"] or not self.link.connected:
            cur, vol, lim = self.link.sweep(levels, delay_s=delay, aperture_s=aperture, ilimit_a=ilimit)
        elif f == "VOLT" and self.link.sweep_supports("stop_on_compliance"):
            # one call of the compiled stepper, stopped at the limit (see VirtualBench.sweep). Voltage
            # sweeps only: for a current source the staircase and the point-by-point drive disagree
            # (0.50 V against 1.00 V on the on branch of a 0-1 uA sweep), so its failAbort keeps the
            # points as they were
            cur, vol, lim = self.link.sweep(
                levels, delay_s=delay, aperture_s=aperture, ilimit_a=ilimit, stop_on_compliance=True
            )
        else:
            return self._sweep_points(f, levels, sw, buf)
        step = delay + aperture
        for k in range(len(cur)):
            self.level[f] = float(levels[k])
            self._store(buf, Measurement(float(cur[k]), float(vol[k]), bool(lim[k])), t0 + step * k + delay)
        return bool(sw["fail_abort"] and len(lim) and lim[-1])

    def _sweep_points(self, f: str, levels: np.ndarray, sw: dict, buf: ReadingBuffer) -> bool:
        """Point by point (failAbort on a bench that cannot stop a sweep itself)."""
        aperture = self._aperture_s()
        for level in levels:
            self.level[f] = float(level)
            self._apply_source()
            self.link.wait(sw["delay_s"])
            self.pending_delay = False
            r = self.link.measure(aperture)
            self._store(buf, r, r.start_s)
            if r.compliance and sw["fail_abort"]:
                return True
        return False
