"""Keithley 2450 SourceMeter, SCPI command set (2450-901-01 reference manual, section 6).

What is emulated:
- source function VOLT/CURR with levels, ranges and autorange, limits ``:SOUR:VOLT:ILIM`` /
  ``:SOUR:CURR:VLIM`` and their visible compliance state ``:SOUR:VOLT:ILIM:TRIP?``, source delay
  and autodelay, readback, output on/off and its off-state, front/rear terminals;
- sense function (``:SENS:FUNC "CURR"``), NPLC, measure ranges and autorange (a fixed range that is
  exceeded reads 9.9E+37, the 2450's overflow value), averaging filter, count, 2/4-wire;
- ``:READ?``, ``:MEASure:<function>?``, ``:FETCh?`` with optional buffer name and elements;
- reading buffers ``defbuffer1``/``defbuffer2``: ``:TRACe:ACTual?``, ``:TRACe:DATA?``
  (``1,N,"defbuffer1",READ,SOUR,REL``), ``:TRACe:CLEar``, ``:TRACe:POINts``,
  ``:TRACe:STATistics:*``, ``:TRACe:TRIGger``;
- the native sweeps ``:SOURce:SWEep:<function>:LINear``, ``:LINear:STEP``, ``:LOG``, ``:LIST``
  (with the list from ``:SOURce:LIST:<function>``), run by ``:INIT`` and waited for with ``*WAI``;
  a 1000-point sweep is three exchanges (sweep command, ``:INIT;*WAI``, ``:TRACe:DATA?``);
- the 2400-style commands PyMeasure's ``Keithley2450`` driver sends (``:TRAC:FEED``,
  ``:TRAC:FEED:CONT``, ``:STAT:MEAS:ENAB``, ``:OUTP:<function>:SMOD``, ``:TRAC:DATA?`` without
  parameters, the buffer-full bits of ``*STB?``). A real 2450 accepts these only in its "SCPI 2400"
  command set; this model accepts both sets at once so that driver works unmodified.

Timing, all in virtual time: a reading integrates for NPLC / line frequency (60 Hz unless built with
``line_frequency_hz=50``), times the repeat-filter count; after the source level or output changes the
first reading waits the source delay (autodelay: :data:`AUTODELAY_S`); a sweep point takes its
delay plus one reading. ``:INIT`` runs the whole sweep before the next command is read, so ``*WAI``
and ``*OPC?`` never wait.

Not verified against a real instrument (documented guesses): the autodelay values, the exact
digits of replies (``%.6E`` here), the ``SYST:ERR?`` timestamp (virtual time from 1970-01-01), a
dual sweep's point count (2 x points, stop level measured twice), the state after a sweep (source
back to the programmed level, output off), the status bits of the STAT/SOURSTAT elements (bit 0:
the reading reached the limit), ``:TRACe:STATistics:*`` returning one value of the buffer's
readings (the 2450 way; PyMeasure's ``means[1]`` expects a 2400 list and fails, as on hardware).
"""

from __future__ import annotations

import math
import time as _time

import numpy as np

from .benchlink import BenchLink, Reading
from .engine import ScpiInstrument, scpi
from .errors import ScpiError
from .params import Choice, Params

OVERFLOW = 9.9e37

V_SOURCE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
I_SOURCE_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
V_MEAS_RANGES = V_SOURCE_RANGES
I_MEAS_RANGES = I_SOURCE_RANGES
R_MEAS_RANGES = (20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)
#: Source autodelay (s) by source function; a guess, the manual tabulates it per range.
AUTODELAY_S = {"VOLT": 1e-3, "CURR": 1e-3}
SOURCE_MAX = {"VOLT": 210.0, "CURR": 1.05}
SENSE_UNITS = {"CURR": "Amp DC", "VOLT": "Volt DC", "RES": "Ohm"}

_FUNC_SRC = Choice(["VOLTage", "CURRent"])
_SENSE_FUNC = {"CURR": "CURR", "CURRENT": "CURR", "CURR:DC": "CURR", "CURRENT:DC": "CURR",
               "VOLT": "VOLT", "VOLTAGE": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE:DC": "VOLT",
               "RES": "RES", "RESISTANCE": "RES"}
_LIN_FIELDS = ("delay", "count", "range", "failabort", "dual", "buffer")
_LOG_FIELDS = ("delay", "count", "range", "failabort", "dual", "asymptote", "buffer")
_ELEMENTS = Choice(["DATE", "FORMatted", "FRACtional", "READing", "RELative", "SEConds",
                    "SOURce", "SOURFORMatted", "SOURSTATus", "SOURUNIT", "STATus", "TIME",
                    "TSTamp", "UNIT"])


def _pick_range(value: float, ranges: tuple[float, ...]) -> float:
    """The smallest range holding |value| (the 2450 picks the range that can hold the value)."""
    a = abs(value)
    for r in ranges:
        if a <= r * 1.0000001:
            return r
    return ranges[-1]


def _fmt(x: float) -> str:
    return f"{x:.6E}"


class ReadingBuffer:
    """A 2450 reading buffer: readings, source values, limit flags, times (virtual s).

    Fill-continuous: past ``capacity`` the oldest readings drop out. The lists may hold up to twice
    the capacity (trimmed in bulk, so a full buffer costs O(1) a reading); ``base`` is the list
    index of buffer index 1.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.clear()

    def clear(self) -> None:
        self.readings: list[float] = []
        self.sources: list[float] = []
        self.limits: list[bool] = []
        self.times: list[float] = []
        self.units = "Amp DC"
        self.source_units = "Volt DC"

    def __len__(self) -> int:
        return min(len(self.readings), self.capacity)

    @property
    def base(self) -> int:
        return len(self.readings) - len(self)

    def valid_readings(self) -> list[float]:
        return self.readings[self.base:]

    def extend(self, readings, sources, limits, times) -> None:
        self.readings.extend(float(x) for x in readings)
        self.sources.extend(float(x) for x in sources)
        self.limits.extend(bool(x) for x in limits)
        self.times.extend(float(x) for x in times)
        if len(self.readings) > 2 * self.capacity:
            over = len(self.readings) - self.capacity
            del self.readings[:over], self.sources[:over], self.limits[:over], self.times[:over]

    def resize(self, capacity: int) -> None:
        self.capacity = capacity
        self.clear()


class Keithley2450(ScpiInstrument):
    """Keithley 2450 SourceMeter wired to the bench terminal ``bench_name`` (default ``"smu"``)."""

    model = "Keithley 2450"
    idn = "KEITHLEY INSTRUMENTS,MODEL 2450,04500001,1.7.12b"
    error_queue_size = 32

    def __init__(self, bench=None, resource_name: str = "GPIB0::18::INSTR", *,
                 bench_name: str | None = "smu", line_frequency_hz: float = 60.0):
        if line_frequency_hz not in (50.0, 60.0):
            raise ValueError(f"line_frequency_hz must be 50 or 60, got {line_frequency_hz!r}")
        self.link = BenchLink(bench, bench_name)
        self.line_frequency_hz = float(line_frequency_hz)
        self.buffers: dict[str, ReadingBuffer] = {}
        super().__init__(resource_name)

    # ------------------------------------------------------------------ state
    def _rst_state(self) -> None:
        self.source_func = "VOLT"
        self.level = {"VOLT": 0.0, "CURR": 0.0}
        self.source_range = {"VOLT": 0.02, "CURR": 1e-8}
        self.source_autorange = {"VOLT": True, "CURR": True}
        self.ilimit_a = 1.05e-4
        self.vlimit_v = 21.0
        self.source_delay = {"VOLT": AUTODELAY_S["VOLT"], "CURR": AUTODELAY_S["CURR"]}
        self.source_autodelay = {"VOLT": True, "CURR": True}
        self.readback = {"VOLT": True, "CURR": True}
        self.sense_func = "CURR"
        self.nplc = {"CURR": 1.0, "VOLT": 1.0, "RES": 1.0}
        self.meas_range = {"CURR": 1e-4, "VOLT": 0.02, "RES": 2e5}
        self.meas_autorange = {"CURR": True, "VOLT": True, "RES": True}
        self.avg_state = {"CURR": False, "VOLT": False, "RES": False}
        self.avg_tcon = {"CURR": "REP", "VOLT": "REP", "RES": "REP"}
        self.avg_count = {"CURR": 10, "VOLT": 10, "RES": 10}
        self.rsense = {"CURR": False, "VOLT": False, "RES": False}
        self.azero = {"CURR": True, "VOLT": True, "RES": True}
        self.sense_count = 1
        self.output = False
        self.off_mode = {"VOLT": "NORM", "CURR": "NORM"}
        self.terminals = "FRON"
        self.source_list: dict[str, list[float]] = {"VOLT": [], "CURR": []}
        self.sweep: dict | None = None
        self.tripped = False
        self.pending_delay = False
        self.data_format = "ASC"
        self.trace_feed = "SENS"
        self.trace_feed_control = "NEV"
        self.meas_enable = 0
        self.meas_event = 0
        self.buffers = {"defbuffer1": ReadingBuffer(100000), "defbuffer2": ReadingBuffer(10000)}
        self._apply_source()

    def format_error(self, code: int, message: str) -> str:
        """``0,"No error;0;0 0"`` when empty; otherwise the message with severity and timestamp."""
        if code == 0:
            return '0,"No error;0;0 0"'
        stamp = _time.strftime("%Y/%m/%d %H:%M:%S", _time.gmtime(self.link.now_s))
        frac = f"{self.link.now_s % 1:.3f}"[1:]
        return f'{code},"{message};1;{stamp}{frac}"'

    def _common_extra(self, header: str, query: bool, p: Params):
        if header == "*LANG":
            if query:
                return "SCPI"
            p.choice(0, ["SCPI", "TSP", "SCPI2400"], "language")
            return None  # takes effect after a power cycle, which never happens here
        return super()._common_extra(header, query, p)

    def _status_extra(self) -> int:
        # 2400-style measurement summary bit (bit 0) for KeithleyBuffer.is_buffer_full
        return 1 if (self.meas_event & self.meas_enable) else 0

    def _clear_status_extra(self) -> None:
        self.meas_event = 0

    # ------------------------------------------------------------------ physics
    def _apply_source(self) -> None:
        """Tell the bench what the output does now (off: high impedance, as wired)."""
        if not hasattr(self, "link"):
            return
        if not self.output:
            self.link.set_source(enabled=False)
            return
        if self.source_func == "VOLT":
            self.link.set_source(enabled=True, level_v=self._effective_level("VOLT"),
                                 ilimit_a=self.ilimit_a)
        else:
            # A current source I with voltage limit Vlim behaves, on a passive load, as a voltage
            # source at sign(I)*Vlim limited to |I|: in regulation exactly when that one limits.
            i = self._effective_level("CURR")
            self.link.set_source(enabled=True, level_v=math.copysign(self.vlimit_v, i) if i else 0.0,
                                 ilimit_a=max(abs(i), 1e-12))
        self.pending_delay = True

    def _effective_level(self, func: str) -> float:
        level = self.level[func]
        if not self.source_autorange[func]:
            r = self.source_range[func] * 1.05
            level = max(-r, min(r, level))
        return level

    def _aperture_s(self) -> float:
        f = self.sense_func
        n = self.avg_count[f] if (self.avg_state[f] and self.avg_tcon[f] == "REP") else 1
        return self.nplc[f] / self.line_frequency_hz * n

    def _delay_s(self) -> float:
        return self.source_delay[self.source_func]

    def _reading_value(self, r: Reading) -> float:
        f = self.sense_func
        if f == "CURR":
            value = r.current_a
        elif f == "VOLT":
            value = r.voltage_v
        else:
            value = r.voltage_v / r.current_a if r.current_a else OVERFLOW
        if not self.meas_autorange[f] and abs(value) > 1.05 * self.meas_range[f]:
            return OVERFLOW
        return value

    def _limit_reached(self, r: Reading) -> bool:
        if not self.output:
            return False
        # in current mode the equivalent voltage source limits when the current source regulates
        return r.compliance if self.source_func == "VOLT" else not r.compliance

    def _source_value(self, r: Reading) -> float:
        f = self.source_func
        if not self.readback[f]:
            return self.level[f] if self.output else 0.0
        return r.voltage_v if f == "VOLT" else r.current_a

    def _take_readings(self, buffer: str = "defbuffer1") -> None:
        """``count`` readings into ``buffer`` (virtual time: delay once, then the apertures)."""
        buf = self._buffer(buffer)
        if self.output and self.pending_delay:
            self.link.wait(self._delay_s())
            self.pending_delay = False
        for _ in range(self.sense_count):
            t0 = self.link.now_s
            r = self.link.measure(self._aperture_s())
            self.tripped = self._limit_reached(r)
            buf.units = SENSE_UNITS[self.sense_func]
            buf.source_units = SENSE_UNITS[self.source_func]
            buf.extend([self._reading_value(r)], [self._source_value(r)], [self.tripped], [t0])
        if self.trace_feed_control == "NEXT" and len(buf) >= buf.capacity:
            self.meas_event |= 512

    def _buffer(self, name: str) -> ReadingBuffer:
        buf = self.buffers.get(name)
        if buf is None:
            raise ScpiError(-224, f"buffer {name!r} does not exist")
        return buf

    def _buffer_arg(self, p: Params, i: int) -> str:
        return p.string(i, "buffer name", allow_bare=True) if p.has(i) else "defbuffer1"

    # ------------------------------------------------------------------ source
    @scpi("[:SOURce#]:FUNCtion[:MODE]")
    def _set_source_func(self, p: Params):
        func = p.choice(0, _FUNC_SRC, "source function")
        if func != self.source_func:
            self.source_func = func
            self.output = False  # the 2450 turns the output off when the function changes
            self._apply_source()

    @scpi("[:SOURce#]:FUNCtion[:MODE]", query=True)
    def _get_source_func(self, p: Params):
        return self.source_func

    @scpi("[:SOURce#]:{VOLTage|CURRent}[:LEVel][:IMMediate][:AMPLitude]")
    def _set_level(self, p: Params):
        f = p.alt[0]
        top = SOURCE_MAX[f] if self.source_autorange[f] else self.source_range[f] * 1.05
        value = p.number(0, lo=-top, hi=top, default=0.0, units=("V",) if f == "VOLT" else ("A",),
                         name=f"source {f.lower()} level")
        self.level[f] = value
        if self.source_autorange[f]:
            self.source_range[f] = _pick_range(value, V_SOURCE_RANGES if f == "VOLT"
                                               else I_SOURCE_RANGES)
        if f == self.source_func:
            self._apply_source()

    @scpi("[:SOURce#]:{VOLTage|CURRent}[:LEVel][:IMMediate][:AMPLitude]", query=True, args=(0, 1))
    def _get_level(self, p: Params):
        f = p.alt[0]
        if p.has(0):
            return _fmt(p.number(0, lo=-SOURCE_MAX[f], hi=SOURCE_MAX[f], default=0.0))
        return _fmt(self.level[f])

    @scpi("[:SOURce#]:{VOLTage|CURRent}:RANGe")
    def _set_source_range(self, p: Params):
        f = p.alt[0]
        ranges = V_SOURCE_RANGES if f == "VOLT" else I_SOURCE_RANGES
        value = p.number(0, lo=-ranges[-1] * 1.05, hi=ranges[-1] * 1.05, default=ranges[-1],
                         units=("V",) if f == "VOLT" else ("A",), name="source range")
        rng = _pick_range(value, ranges)
        if abs(self.level[f]) > rng * 1.05:
            raise ScpiError(-221, "source level exceeds the range")
        self.source_range[f] = rng
        self.source_autorange[f] = False

    @scpi("[:SOURce#]:{VOLTage|CURRent}:RANGe", query=True)
    def _get_source_range(self, p: Params):
        return _fmt(self.source_range[p.alt[0]])

    @scpi("[:SOURce#]:{VOLTage|CURRent}:RANGe:AUTO")
    def _set_source_autorange(self, p: Params):
        f = p.alt[0]
        self.source_autorange[f] = p.boolean(0)
        if self.source_autorange[f]:
            self.source_range[f] = _pick_range(self.level[f], V_SOURCE_RANGES if f == "VOLT"
                                               else I_SOURCE_RANGES)

    @scpi("[:SOURce#]:{VOLTage|CURRent}:RANGe:AUTO", query=True)
    def _get_source_autorange(self, p: Params):
        return "1" if self.source_autorange[p.alt[0]] else "0"

    @scpi("[:SOURce#]:VOLTage:ILIMit[:LEVel]")
    def _set_ilim(self, p: Params):
        self.ilimit_a = p.number(0, lo=1e-9, hi=1.05, default=1.05e-4, units=("A",),
                                 name="current limit")
        if self.source_func == "VOLT":
            self._apply_source()

    @scpi("[:SOURce#]:VOLTage:ILIMit[:LEVel]", query=True)
    def _get_ilim(self, p: Params):
        return _fmt(self.ilimit_a)

    @scpi("[:SOURce#]:CURRent:VLIMit[:LEVel]")
    def _set_vlim(self, p: Params):
        self.vlimit_v = p.number(0, lo=0.02, hi=210.0, default=21.0, units=("V",),
                                 name="voltage limit")
        if self.source_func == "CURR":
            self._apply_source()

    @scpi("[:SOURce#]:CURRent:VLIMit[:LEVel]", query=True)
    def _get_vlim(self, p: Params):
        return _fmt(self.vlimit_v)

    @scpi("[:SOURce#]:VOLTage:ILIMit[:LEVel]:TRIPped", query=True)
    @scpi("[:SOURce#]:CURRent:VLIMit[:LEVel]:TRIPped", query=True)
    def _get_tripped(self, p: Params):
        return "1" if self.tripped else "0"

    @scpi("[:SOURce#]:{VOLTage|CURRent}:DELay")
    def _set_delay(self, p: Params):
        f = p.alt[0]
        self.source_delay[f] = p.number(0, lo=0.0, hi=1e4, default=0.0, units=("S",),
                                        name="source delay")
        self.source_autodelay[f] = False

    @scpi("[:SOURce#]:{VOLTage|CURRent}:DELay", query=True)
    def _get_delay(self, p: Params):
        return _fmt(self.source_delay[p.alt[0]])

    @scpi("[:SOURce#]:{VOLTage|CURRent}:DELay:AUTO")
    def _set_autodelay(self, p: Params):
        f = p.alt[0]
        self.source_autodelay[f] = p.boolean(0)
        if self.source_autodelay[f]:
            self.source_delay[f] = AUTODELAY_S[f]

    @scpi("[:SOURce#]:{VOLTage|CURRent}:DELay:AUTO", query=True)
    def _get_autodelay(self, p: Params):
        return "1" if self.source_autodelay[p.alt[0]] else "0"

    @scpi("[:SOURce#]:{VOLTage|CURRent}:READ:BACK")
    def _set_readback(self, p: Params):
        self.readback[p.alt[0]] = p.boolean(0)

    @scpi("[:SOURce#]:{VOLTage|CURRent}:READ:BACK", query=True)
    def _get_readback(self, p: Params):
        return "1" if self.readback[p.alt[0]] else "0"

    # ------------------------------------------------------------------ output and route
    @scpi(":OUTPut#[:STATe]")
    def _set_output(self, p: Params):
        self.output = p.boolean(0, "output state")
        self._apply_source()

    @scpi(":OUTPut#[:STATe]", query=True)
    def _get_output(self, p: Params):
        return "1" if self.output else "0"

    @scpi(":OUTPut#:{VOLTage|CURRent}:SMODe")
    def _set_off_mode(self, p: Params):
        self.off_mode[p.alt[0]] = p.choice(0, ["HIMPedance", "NORMal", "ZERO", "GUARd"],
                                           "output off state")

    @scpi(":OUTPut#:{VOLTage|CURRent}:SMODe", query=True)
    def _get_off_mode(self, p: Params):
        return self.off_mode[p.alt[0]]

    @scpi(":ROUTe:TERMinals")
    def _set_terminals(self, p: Params):
        term = p.choice(0, ["FRONt", "REAR"], "terminals")
        if term != self.terminals:
            self.terminals = term
            self.output = False  # changing terminals turns the output off
            self._apply_source()

    @scpi(":ROUTe:TERMinals", query=True)
    def _get_terminals(self, p: Params):
        return self.terminals

    # ------------------------------------------------------------------ sense
    @scpi("[:SENSe#]:FUNCtion[:ON]")
    def _set_sense_func(self, p: Params):
        name = p.string(0, "sense function", allow_bare=True).upper()
        func = _SENSE_FUNC.get(name)
        if func is None:
            raise ScpiError(-224, f"sense function {name!r}")
        self.sense_func = func

    @scpi("[:SENSe#]:FUNCtion[:ON]", query=True)
    def _get_sense_func(self, p: Params):
        return {"CURR": '"CURR:DC"', "VOLT": '"VOLT:DC"', "RES": '"RES"'}[self.sense_func]

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:NPLCycles")
    def _set_nplc(self, p: Params):
        self.nplc[p.alt[0]] = p.number(0, lo=0.01, hi=10.0, default=1.0, name="NPLC")

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:NPLCycles", query=True)
    def _get_nplc(self, p: Params):
        return _fmt(self.nplc[p.alt[0]])

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:RANGe[:UPPer]")
    def _set_meas_range(self, p: Params):
        f = p.alt[0]
        ranges = {"CURR": I_MEAS_RANGES, "VOLT": V_MEAS_RANGES, "RES": R_MEAS_RANGES}[f]
        units = {"CURR": ("A",), "VOLT": ("V",), "RES": ("OHM",)}[f]
        lo = 0.0 if f == "RES" else -ranges[-1] * 1.05
        value = p.number(0, lo=lo, hi=ranges[-1] * 1.05, default=ranges[-1], units=units,
                         name="measure range")
        self.meas_range[f] = _pick_range(value, ranges)
        self.meas_autorange[f] = False

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:RANGe[:UPPer]", query=True)
    def _get_meas_range(self, p: Params):
        return _fmt(self.meas_range[p.alt[0]])

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:RANGe:AUTO")
    def _set_meas_autorange(self, p: Params):
        self.meas_autorange[p.alt[0]] = p.boolean(0)

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:RANGe:AUTO", query=True)
    def _get_meas_autorange(self, p: Params):
        return "1" if self.meas_autorange[p.alt[0]] else "0"

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:AVERage[:STATe]")
    def _set_avg(self, p: Params):
        self.avg_state[p.alt[0]] = p.boolean(0)

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:AVERage[:STATe]", query=True)
    def _get_avg(self, p: Params):
        return "1" if self.avg_state[p.alt[0]] else "0"

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:AVERage:TCONtrol")
    def _set_avg_tcon(self, p: Params):
        self.avg_tcon[p.alt[0]] = p.choice(0, ["REPeat", "MOVing"], "filter type")

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:AVERage:TCONtrol", query=True)
    def _get_avg_tcon(self, p: Params):
        return self.avg_tcon[p.alt[0]]

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:AVERage:COUNt")
    def _set_avg_count(self, p: Params):
        self.avg_count[p.alt[0]] = p.integer(0, lo=1, hi=100, default=10, name="filter count")

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:AVERage:COUNt", query=True)
    def _get_avg_count(self, p: Params):
        return str(self.avg_count[p.alt[0]])

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:RSENse")
    def _set_rsense(self, p: Params):
        self.rsense[p.alt[0]] = p.boolean(0)

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:RSENse", query=True)
    def _get_rsense(self, p: Params):
        return "1" if self.rsense[p.alt[0]] else "0"

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:AZERo[:STATe]")
    def _set_azero(self, p: Params):
        self.azero[p.alt[0]] = p.boolean(0)

    @scpi("[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:AZERo[:STATe]", query=True)
    def _get_azero(self, p: Params):
        return "1" if self.azero[p.alt[0]] else "0"

    @scpi("[:SENSe#]:COUNt")
    def _set_count(self, p: Params):
        self.sense_count = p.integer(0, lo=1, hi=300000, default=1, name="count")

    @scpi("[:SENSe#]:COUNt", query=True)
    def _get_count(self, p: Params):
        return str(self.sense_count)

    @scpi(":SYSTem:LFRequency", query=True)
    def _get_lfr(self, p: Params):
        return str(int(self.line_frequency_hz))

    # ------------------------------------------------------------------ readings
    def _elements_reply(self, buf: ReadingBuffer, start: int, end: int, elements: list[str]) -> str:
        if not elements:
            elements = ["READ"]
        base = buf.base
        t_first = buf.times[base] if len(buf) else 0.0
        out: list[str] = []
        for k in range(start + base, end + base):
            for e in elements:
                if e == "READ":
                    out.append(_fmt(buf.readings[k]))
                elif e == "SOUR":
                    out.append(_fmt(buf.sources[k]))
                elif e == "REL":
                    out.append(f"{buf.times[k] - t_first:.9f}")
                elif e == "SEC":
                    out.append(str(int(buf.times[k])))
                elif e == "FRAC":
                    out.append(f"{buf.times[k] % 1:.9f}")
                elif e in ("STAT", "SOURSTAT"):
                    out.append("1" if buf.limits[k] else "0")
                elif e == "UNIT":
                    out.append(buf.units)
                elif e == "SOURUNIT":
                    out.append(buf.source_units)
                elif e in ("FORM", "SOURFORM"):
                    value = buf.readings[k] if e == "FORM" else buf.sources[k]
                    out.append(f"{value:+.6e}")
                elif e in ("DATE", "TIME", "TST"):
                    tm = _time.gmtime(buf.times[k])
                    out.append(_time.strftime({"DATE": "%m/%d/%Y", "TIME": "%H:%M:%S",
                                               "TST": "%m/%d/%Y %H:%M:%S"}[e], tm)
                               + (f"{buf.times[k] % 1:.9f}"[1:] if e != "DATE" else ""))
        return ",".join(out)

    def _read_elements(self, p: Params, start: int) -> list[str]:
        return [p.choice(i, _ELEMENTS, "buffer element") for i in range(start, len(p))]

    @scpi(":READ[:DEFault]", query=True, args=(0, 15))
    @scpi(":MEASure[:{CURRent|VOLTage|RESistance}][:DC]", query=True, args=(0, 15))
    def _read(self, p: Params):
        buffer = self._buffer_arg(p, 0)
        self._buffer(buffer)
        elements = self._read_elements(p, 1)
        if p.alt and p.alt[0]:
            self.sense_func = p.alt[0]
        self._take_readings(buffer)
        buf = self.buffers[buffer]
        return self._elements_reply(buf, len(buf) - 1, len(buf), elements)

    @scpi(":FETCh", query=True, args=(0, 15))
    def _fetch(self, p: Params):
        buffer = self._buffer_arg(p, 0)
        buf = self._buffer(buffer)
        elements = self._read_elements(p, 1)
        if not len(buf):
            raise ScpiError(-230, "buffer is empty")
        return self._elements_reply(buf, len(buf) - 1, len(buf), elements)

    # ------------------------------------------------------------------ trace (buffers)
    @scpi(":TRACe:ACTual", query=True, args=(0, 1))
    def _trace_actual(self, p: Params):
        return str(len(self._buffer(self._buffer_arg(p, 0))))

    @scpi(":TRACe:ACTual:STARt", query=True, args=(0, 1))
    def _trace_actual_start(self, p: Params):
        return "1" if len(self._buffer(self._buffer_arg(p, 0))) else "0"

    @scpi(":TRACe:ACTual:END", query=True, args=(0, 1))
    def _trace_actual_end(self, p: Params):
        return str(len(self._buffer(self._buffer_arg(p, 0))))

    @scpi(":TRACe:DATA", query=True, args=(0, 17))
    def _trace_data(self, p: Params):
        if len(p) == 0:  # 2400 style: every reading of the buffer
            buf = self.buffers["defbuffer1"]
            if not len(buf):
                raise ScpiError(-230, "buffer is empty")
            return self._elements_reply(buf, 0, len(buf), ["READ"])
        start = p.integer(0, lo=1, hi=10_000_000, name="start index")
        end = p.integer(1, lo=1, hi=10_000_000, name="end index")
        buffer = self._buffer_arg(p, 2)
        buf = self._buffer(buffer)
        elements = self._read_elements(p, 3)
        if start > end or end > len(buf):
            raise ScpiError(-222, f"indices {start}..{end} outside the {len(buf)} readings")
        return self._elements_reply(buf, start - 1, end, elements)

    @scpi(":TRACe:CLEar", args=(0, 1))
    def _trace_clear(self, p: Params):
        self._buffer(self._buffer_arg(p, 0)).clear()
        self.meas_event &= ~512

    @scpi(":TRACe:POINts", args=(1, 2))
    def _set_trace_points(self, p: Params):
        n = p.integer(0, lo=1, hi=11_000_000, name="buffer size")
        buf = self._buffer(self._buffer_arg(p, 1))
        buf.resize(n)

    @scpi(":TRACe:POINts", query=True, args=(0, 1))
    def _get_trace_points(self, p: Params):
        return str(self._buffer(self._buffer_arg(p, 0)).capacity)

    @scpi(":TRACe:MAKE", args=(2, 3))
    def _trace_make(self, p: Params):
        name = p.string(0, "buffer name")
        size = p.integer(1, lo=10, hi=11_000_000, name="buffer size")
        if len(p) > 2:
            p.choice(2, ["STANdard", "COMPact", "FULL", "WRITable", "FULLWRITable"], "style")
        if not name or len(name) > 31 or name in self.buffers:
            raise ScpiError(-224, f"buffer name {name!r}")
        self.buffers[name] = ReadingBuffer(size)

    @scpi(":TRACe:DELete")
    def _trace_delete(self, p: Params):
        name = p.string(0, "buffer name")
        if name in ("defbuffer1", "defbuffer2") or name not in self.buffers:
            raise ScpiError(-224, f"buffer {name!r} cannot be deleted")
        del self.buffers[name]

    @scpi(":TRACe:TRIGger", args=(0, 1))
    def _trace_trigger(self, p: Params):
        self._take_readings(self._buffer_arg(p, 0))

    @scpi(":TRACe:STATistics:{AVERage|MAXimum|MINimum|STDDev|PK2Pk}", query=True, args=(0, 1))
    def _trace_stats(self, p: Params):
        buf = self._buffer(self._buffer_arg(p, 0))
        data = np.array([x for x in buf.valid_readings() if x != OVERFLOW])
        if not data.size:
            return _fmt(0.0)
        stat = p.alt[0]
        value = {"AVER": np.mean, "MAX": np.max, "MIN": np.min,
                 "STDD": lambda d: np.std(d, ddof=1) if d.size > 1 else 0.0,
                 "PK2P": np.ptp}[stat](data)
        return _fmt(float(value))

    @scpi(":TRACe:STATistics:CLEar", args=(0, 1))
    def _trace_stats_clear(self, p: Params):
        self._buffer(self._buffer_arg(p, 0))

    @scpi(":TRACe:FEED")
    def _set_feed(self, p: Params):
        self.trace_feed = p.choice(0, ["SENSe", "CALCulate1", "CALCulate2"], "feed")

    @scpi(":TRACe:FEED:CONTrol")
    def _set_feed_control(self, p: Params):
        self.trace_feed_control = p.choice(0, ["NEXT", "NEVer"], "feed control")

    @scpi(":TRACe:FEED:CONTrol", query=True)
    def _get_feed_control(self, p: Params):
        return self.trace_feed_control

    @scpi(":FORMat[:DATA]", args=(1, 2))
    def _set_format(self, p: Params):
        self.data_format = p.choice(0, ["ASCii", "REAL", "SREal"], "data format")
        if self.data_format != "ASC":
            self.data_format = "ASC"
            raise ScpiError(-221, "only ASCII data is emulated")

    @scpi(":FORMat[:DATA]", query=True)
    def _get_format(self, p: Params):
        return "ASC"

    # ------------------------------------------------------------------ status, system
    @scpi(":STATus:PRESet", args=(0, 0))
    def _stat_preset(self, p: Params):
        self.meas_enable = 0

    @scpi(":STATus:CLEar", args=(0, 0))
    def _stat_clear(self, p: Params):
        self.meas_event = 0

    @scpi(":STATus:MEASurement:ENABle")
    def _set_meas_enable(self, p: Params):
        self.meas_enable = p.integer(0, lo=0, hi=65535, name="enable mask")

    @scpi(":STATus:MEASurement:ENABle", query=True)
    def _get_meas_enable(self, p: Params):
        return str(self.meas_enable)

    @scpi(":STATus:MEASurement[:EVENt]", query=True)
    def _get_meas_event(self, p: Params):
        value, self.meas_event = self.meas_event, 0
        return str(value)

    @scpi(":SYSTem:BEEPer[:IMMediate]", args=(2, 2))
    def _beep(self, p: Params):
        p.number(0, lo=20.0, hi=8000.0, units=("HZ",), name="beep frequency")
        p.number(1, lo=0.001, hi=100.0, units=("S",), name="beep duration")

    @scpi(":SYSTem:CLEar", args=(0, 0))
    def _syst_clear(self, p: Params):
        self.errors.clear()

    # ------------------------------------------------------------------ sweeps and triggering
    def _sweep_tail(self, f: str, levels: np.ndarray, p: Params, i: int, fields: tuple[str, ...]):
        """Parse the optional trailing sweep parameters named in ``fields`` from index ``i`` on.

        Field names: delay, count, range, failabort, dual, buffer (the manual's order for each
        sweep command). Then store the sweep for ``:INIT``.
        """
        if f != self.source_func:
            raise ScpiError(-221, "set :SOUR:FUNC to the sweep's function first")
        v = {"delay": -1.0, "count": 1, "range": "BEST", "failabort": True, "dual": False,
             "buffer": "defbuffer1"}
        for k, fld in enumerate(fields, start=i):
            if not p.has(k):
                break
            if fld == "delay":
                v[fld] = p.number(k, lo=-1.0, hi=1e4, default=-1.0, units=("S",),
                                  name="sweep delay")
                if v[fld] < 0 and v[fld] != -1.0:
                    raise ScpiError(-222, "sweep delay must be -1 (auto), 0 or 50e-6 to 1e4 s")
            elif fld == "count":
                v[fld] = p.integer(k, lo=1, hi=268435455, name="sweep count")
            elif fld == "range":
                v[fld] = p.choice(k, ["AUTO", "BEST", "FIXed"], "range type")
            elif fld in ("failabort", "dual"):
                v[fld] = p.boolean(k, fld)
            elif fld == "buffer":
                v[fld] = p.string(k, "buffer name", allow_bare=True)
        if len(p) > i + len(fields):
            raise ScpiError(-108, "too many sweep parameters")
        self._buffer(v["buffer"])
        if v["dual"]:
            levels = np.concatenate([levels, levels[::-1]])
        self.sweep = dict(func=f, levels=np.tile(levels, v["count"]),
                          delay_s=AUTODELAY_S[f] if v["delay"] == -1.0 else v["delay"],
                          range_type=v["range"], fail_abort=v["failabort"], buffer=v["buffer"])

    @scpi("[:SOURce#]:SWEep:{VOLTage|CURRent}:LINear", args=(3, 9))
    def _sweep_linear(self, p: Params):
        f = p.alt[0]
        top = SOURCE_MAX[f]
        start = p.number(0, lo=-top, hi=top, name="sweep start")
        stop = p.number(1, lo=-top, hi=top, name="sweep stop")
        points = p.integer(2, lo=2, hi=1_000_000, name="sweep points")
        self._sweep_tail(f, np.linspace(start, stop, points), p, 3, _LIN_FIELDS)

    @scpi("[:SOURce#]:SWEep:{VOLTage|CURRent}:LINear:STEP", args=(3, 9))
    def _sweep_linear_step(self, p: Params):
        f = p.alt[0]
        top = SOURCE_MAX[f]
        start = p.number(0, lo=-top, hi=top, name="sweep start")
        stop = p.number(1, lo=-top, hi=top, name="sweep stop")
        step = p.number(2, lo=0.0, hi=2 * top, name="sweep step")
        if step <= 0:
            raise ScpiError(-222, "sweep step must be > 0")
        points = int(math.floor(abs(stop - start) / step + 1e-9)) + 1
        if points > 1_000_000 or points < 2:
            raise ScpiError(-222, f"sweep of {points} points")
        levels = start + math.copysign(step, stop - start) * np.arange(points)
        self._sweep_tail(f, levels, p, 3, _LIN_FIELDS)

    @scpi("[:SOURce#]:SWEep:{VOLTage|CURRent}:LOG", args=(3, 10))
    def _sweep_log(self, p: Params):
        f = p.alt[0]
        top = SOURCE_MAX[f]
        start = p.number(0, lo=-top, hi=top, name="sweep start")
        stop = p.number(1, lo=-top, hi=top, name="sweep stop")
        points = p.integer(2, lo=2, hi=1_000_000, name="sweep points")
        asymptote = p.number(8, lo=-top, hi=top, name="asymptote") if p.has(8) else 0.0
        if (start - asymptote) * (stop - asymptote) <= 0:
            raise ScpiError(-222, "the asymptote must lie outside [start, stop]")
        levels = asymptote + np.sign(start - asymptote) * np.logspace(
            math.log10(abs(start - asymptote)), math.log10(abs(stop - asymptote)), points)
        self._sweep_tail(f, levels, p, 3, _LOG_FIELDS)

    @scpi("[:SOURce#]:SWEep:{VOLTage|CURRent}:LIST", args=(1, 5))
    def _sweep_list(self, p: Params):
        f = p.alt[0]
        values = self.source_list[f]
        start_index = p.integer(0, lo=1, hi=max(1, len(values)), name="start index")
        if not values:
            raise ScpiError(-221, "source list is empty")
        self._sweep_tail(f, np.asarray(values[start_index - 1:], dtype=float), p, 1,
                         ("delay", "count", "failabort", "buffer"))

    @scpi("[:SOURce#]:LIST:{VOLTage|CURRent}", args=(1, 100000))
    def _set_list(self, p: Params):
        f = p.alt[0]
        self.source_list[f] = p.numbers(0, lo=-SOURCE_MAX[f], hi=SOURCE_MAX[f], name="list value")

    @scpi("[:SOURce#]:LIST:{VOLTage|CURRent}:APPend", args=(1, 100000))
    def _append_list(self, p: Params):
        f = p.alt[0]
        self.source_list[f].extend(p.numbers(0, lo=-SOURCE_MAX[f], hi=SOURCE_MAX[f],
                                             name="list value"))

    @scpi("[:SOURce#]:LIST:{VOLTage|CURRent}", query=True)
    def _get_list(self, p: Params):
        return ",".join(_fmt(v) for v in self.source_list[p.alt[0]])

    @scpi("[:SOURce#]:LIST:{VOLTage|CURRent}:POINts", query=True)
    def _get_list_points(self, p: Params):
        return str(len(self.source_list[p.alt[0]]))

    @scpi(":INITiate[:IMMediate]", args=(0, 0))
    def _initiate(self, p: Params):
        if self.sweep is not None:
            self._run_sweep()
            return
        buf = self.buffers["defbuffer1"]
        if self.trace_feed_control == "NEXT":  # 2400 style: fill the buffer
            while len(buf) < buf.capacity:
                self._take_readings("defbuffer1")
            return
        self._take_readings("defbuffer1")

    @scpi(":ABORt", args=(0, 0))
    def _abort(self, p: Params):
        """Nothing runs in the background: every trigger model has finished already."""

    def _on_trigger(self) -> None:
        """``*TRG`` with no trigger model waiting for it does nothing (as the 2450)."""

    def _run_sweep(self) -> None:
        sw = self.sweep
        f = sw["func"]
        buf = self._buffer(sw["buffer"])
        buf.clear()  # the sweep trigger model starts with a buffer clear
        levels = np.asarray(sw["levels"], dtype=float)
        if sw["range_type"] == "FIX" and not self.source_autorange[f]:
            r = self.source_range[f] * 1.05
            levels = np.clip(levels, -r, r)
        self.source_func = f
        aperture = self._aperture_s()
        t0 = self.link.now_s
        step = sw["delay_s"] + aperture
        if f == "VOLT" and (not sw["fail_abort"] or self.link.sweep_supports("stop_on_compliance")
                            or not self.link.connected):
            cur, vol, comp = self.link.sweep(levels, delay_s=sw["delay_s"], aperture_s=aperture,
                                             ilimit_a=self.ilimit_a,
                                             stop_on_compliance=sw["fail_abort"]
                                             and self.link.connected)
            n = len(cur)
            readings = [self._reading_value(Reading(c, v, k)) for c, v, k in zip(cur, vol, comp)]
            sources = vol if self.readback[f] else levels[:n]
            times = t0 + step * np.arange(n) + sw["delay_s"]
            buf.extend(readings, sources, comp, times)
            self.tripped = bool(comp[-1]) if n else False
        else:
            self._run_points(levels, sw, buf)
        buf.units = SENSE_UNITS[self.sense_func]
        buf.source_units = SENSE_UNITS[f]
        self.output = False  # guess: the sweep model ends with the output off
        self._apply_source()

    def _run_points(self, levels: np.ndarray, sw: dict, buf: ReadingBuffer) -> None:
        """Point by point (current sweeps, and failAbort when the bench cannot stop a sweep)."""
        f = sw["func"]
        saved = self.level[f], self.output
        self.output = True
        for level in levels:
            self.level[f] = float(level)
            self._apply_source()
            self.link.wait(sw["delay_s"])
            t = self.link.now_s
            r = self.link.measure(self._aperture_s())
            limit = self._limit_reached(r)
            buf.extend([self._reading_value(r)], [self._source_value(r)], [limit], [t])
            self.tripped = limit
            if limit and sw["fail_abort"]:
                break
        self.level[f], self.output = saved[0], saved[1]
