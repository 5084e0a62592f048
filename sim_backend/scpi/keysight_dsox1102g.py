"""Keysight InfiniiVision DSOX1102G oscilloscope (1000 X-Series programmer's guide commands).

The commands are the rows of ``tables/keysight_dsox1102g.toml``: plain settings are implemented by
the engine from their row; this module holds acquisition, scaling and waveform transfer. Emulated: ``:TIMebase:SCALe|RANGe|POSition|REFerence|MODE`` and the ``:TIMebase?`` summary;
``:CHANnel<n>:SCALe|RANGe|OFFSet|COUPling|PROBe|BWLimit|DISPlay|INVert|LABel|UNITs|IMPedance`` and
the ``:CHANnel<n>?`` summary; ``:TRIGger:MODE``, ``:TRIGger[:EDGE]:SOURce|LEVel|SLOPe|COUPling``,
``:TRIGger:SWEep``, ``:TRIGger:HOLDoff``, ``:TRIGger:FORCe``; ``:RUN``, ``:STOP``, ``:SINGle``,
``:DIGitize``, ``:AUToscale``, ``:TER?``, ``:OPERegister:CONDition?`` (bit 3 while armed),
``:RSTate?``; ``:ACQuire:TYPE|MODE|COUNt|POINts?|SRATe?``; ``:WAVeform:SOURce|FORMat
BYTE|WORD|ASCii|POINts|POINts:MODE|BYTeorder|UNSigned|PREamble?|DATA?|X/Y INCrement/ORigin/
REFerence?|COUNt?|TYPE?``; ``:SYSTem:SETup`` (as text in a block), ``:SYSTem:PRESet``,
``:DISPlay:DATA?`` (a small blank PNG).

Wiring: channel 1 sees the cell current through the 50 Ohm sense resistor (input volts = I x 50
Ohm, ``sense_ohm``); the displayed value is that x the probe attenuation setting (a direct BNC with
the 10:1 default reads 10x, as on the real scope: set ``:CHAN1:PROB 1``). Channel 2 is unwired (0 V).
The EXT trigger input is the AWG sync: an EXT-triggered acquisition is armed with
``bench.arm_capture(trigger="awg_sync")`` and completes when the AWG plays a burst; any other
trigger source arms ``trigger="immediate"`` (the bench has no level trigger on the cell current).

Acquisition record: 10 divisions, ``min(62500, record x 2 GSa/s)`` points (at least 100);
``:WAVeform:POINts`` n returns the record decimated to n points when n is smaller. Data formats, as
the driver reads them: BYTE (0..255, y reference 128, 25 codes a division), WORD (unsigned, big
endian by default, y reference 32768, 6400 codes a division), ASCii (volts, ``+1.234567E-03``,
comma separated), each as an IEEE 488.2 definite block ``#8nnnnnnnn...``; values beyond the screen
clip at the ADC's range. Preamble: ``format,type,points,count,xinc,xorigin,xref,yinc,yorigin,yref``.

Timing: ``:DIGitize`` with an immediate trigger (or AUTO sweep with nothing triggering) lets the
record's duration pass in virtual time; a NORMal-sweep acquisition that never triggers stays armed
and ``:WAVeform:DATA?`` queues -230 and does not reply (the real scope would leave the query
hanging until a timeout). Not verified on hardware: reply digits, the BYTE/WORD codes per
division, the offset limits (2 V below 200 mV/div at the input, 40 V above; out-of-range offsets
are set to the nearest legal value, as the programmer's guide says), the -230 code.
"""

from __future__ import annotations

import json
import math
import re
import struct
import time as _time
import zlib

import numpy as np

from .benchlink import BenchLink
from .clock import Clock
from .engine import ScpiInstrument, scpi
from .errors import ScpiError
from .params import Params, format_number
from .status import EventRegister

MAX_SRATE = 2e9
MAX_POINTS = 62500
BYTE_CODES_PER_DIV = 25.0
WORD_CODES_PER_DIV = 6400.0
REF_FRACTION = {"LEFT": 0.1, "CENT": 0.5, "RIGH": 0.9}

_SOURCE = re.compile(
    r"^(CHAN|CHANNEL)([12])$|^(EXT|EXTERNAL)$|^(LINE)$|^(WGEN)$|"
    r"^(FUNC|FUNCTION|MATH)$|^(FFT)$|^(WMEM|WMEMORY)([12])$|^(ABUS)$"
)


def _nr3(x: float) -> str:
    return format_number("%+.6E", x)


def _source_name(token: str, allowed: tuple[str, ...]) -> str:
    """Canonical source name (CHAN1, EXT, LINE, ...) of a parameter token, or -224."""
    m = _SOURCE.match(token.strip().upper())
    if m is None:
        raise ScpiError(-224, f"source {token!r}")
    g = m.groups()
    name = (
        f"CHAN{g[1]}"
        if g[0]
        else "EXT"
        if g[2]
        else "LINE"
        if g[3]
        else "WGEN"
        if g[4]
        else "FUNC"
        if g[5]
        else "FFT"
        if g[6]
        else f"WMEM{g[8]}"
        if g[7]
        else "ABUS"
    )
    if name not in allowed:
        raise ScpiError(-224, f"source {token!r} not allowed here")
    return name


def _tiny_png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x20\x20\x20" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _block(payload: bytes) -> bytes:
    return b"#8" + f"{len(payload):08d}".encode() + payload


class ScopeChannel:
    """One input channel: a container the table's rows fill (scale in V/div as displayed)."""

    def __init__(self, number: int):
        self.number = number


class KeysightDSOX1102G(ScpiInstrument):
    """Keysight DSOX1102G on bench terminal ``bench_name`` (channel 1), ``sense_ohm`` in series."""

    model = "Keysight DSOX1102G"
    idn = "KEYSIGHT TECHNOLOGIES,DSO-X 1102G,CN57000001,01.20.2019061038"
    error_queue_size = 30
    table_file = "keysight_dsox1102g.toml"
    save_slots = 10

    def __init__(
        self,
        bench=None,
        resource_name: str = "GPIB0::7::INSTR",
        *,
        bench_name: str | None = "scope",
        sense_ohm: float = 50.0,
    ):
        if not sense_ohm > 0:
            raise ValueError(f"sense_ohm must be > 0 Ohm, got {sense_ohm!r}")
        self.link = BenchLink(bench, bench_name)
        self.sense_ohm = float(sense_ohm)
        self.oper = EventRegister()
        self.aer = False
        self.clock = Clock(lambda: self.link.now_s)
        super().__init__(resource_name)

    def _rst_state(self) -> None:
        self.chan = {1: ScopeChannel(1), 2: ScopeChannel(2)}
        self.trig_level = {"CHAN1": 0.0, "CHAN2": 0.0, "EXT": 0.0}
        self.run_state = "RUN"
        self.armed = False
        self.record = None  # (xorigin_s, dt_s, input volts of channel 1) of the last acquisition
        self.record_settings = None
        self._last_capture = None
        self.ter = False

    def _after_rst(self) -> None:
        self._arm()

    def format_error(self, code: int, message: str) -> str:
        return f'{code:+d},"{message}"'

    # ------------------------------------------------------------------ acquisition
    @property
    def record_s(self) -> float:
        return 10.0 * self.tb_scale_s

    def _acq_points(self) -> int:
        return int(min(MAX_POINTS, max(100, round(self.record_s * MAX_SRATE))))

    def _xorigin_s(self) -> float:
        return self.tb_position_s - REF_FRACTION[self.tb_reference] * self.record_s

    def _bench_trigger(self) -> str:
        return "awg_sync" if self.trig_source == "EXT" else "immediate"

    def _arm(self, trigger: str | None = None) -> None:
        n = self._acq_points()
        self.link.arm_capture(
            record_s=self.record_s,
            dt_s=self.record_s / n,
            pretrigger_s=-self._xorigin_s(),
            trigger=trigger or self._bench_trigger(),
        )
        self.armed = True
        self.aer = True
        self.oper.set(8)
        self.record_settings = (self._xorigin_s(), self.record_s / n, n)

    def _poll(self) -> None:
        """Take a finished capture from the bench into the record (sets the trigger event)."""
        if not self.armed:
            return
        cap = self.link.capture()
        if cap is None or cap is self._last_capture:
            return
        self._last_capture = cap
        t_s, current_a = cap
        x0, dt, n = self.record_settings
        grid = x0 + dt * np.arange(n)
        t_s = np.asarray(t_s, dtype=float)
        current_a = np.asarray(current_a, dtype=float)
        # on the record's grid within 1e-3 of a sample: np.allclose(t_s, grid, rtol=0, atol=dt * 1e-3) for a
        # finite grid (a NaN fails both), in three passes over the record instead of isclose's eight
        if t_s.size == n and np.max(np.abs(t_s - grid)) <= dt * 1e-3:
            volts = current_a * self.sense_ohm
        else:
            volts = np.interp(grid, t_s, current_a) * self.sense_ohm if t_s.size else np.zeros(n)
        self.record = (x0, dt, volts)
        self.ter = True
        if self.run_state == "RUN":
            self._arm()
        else:
            self.armed = False
            self.run_state = "STOP"

    def _complete_now(self) -> None:
        """Finish an acquisition in virtual time: wait the record; AUTO sweep forces a trigger."""
        self._poll()
        if not self.armed:
            return
        if not self.link.connected:  # no bench: a flat record after the record's duration
            self.link.wait(self.record_s)
            x0, dt, n = self.record_settings
            self.record = (x0, dt, np.zeros(n))
            self.ter = True
            self.armed = self.run_state == "RUN"
            if self.run_state != "RUN":
                self.run_state = "STOP"
            return
        if self._bench_trigger() == "immediate":
            self.link.wait(self.record_s)
            self._poll()
        if self.armed and self.trig_sweep == "AUTO":
            self._arm("immediate")
            self.link.wait(self.record_s)
            self._poll()

    @scpi(":RUN", args=(0, 0))
    def _run(self, p: Params):
        self.run_state = "RUN"
        self._arm()

    @scpi(":STOP", args=(0, 0))
    def _stop(self, p: Params):
        self._poll()
        self.run_state = "STOP"
        self.armed = False

    @scpi(":SINGle", args=(0, 0))
    def _single(self, p: Params):
        self.run_state = "SING"
        self.ter = False
        self._arm()

    @scpi(":DIGitize", args=(0, 2))
    def _digitize(self, p: Params):
        for i in range(len(p)):
            _source_name(p.raw(i), ("CHAN1", "CHAN2", "FUNC", "FFT", "EXT", "ABUS"))
        self.run_state = "SING"
        self._arm()
        self._complete_now()
        if not self.armed:
            self.run_state = "STOP"

    @scpi(":AUToscale", args=(0, 2))
    def _autoscale(self, p: Params):
        """Sets displayed channel 1 and an AUTO edge trigger at 0 V; no signal search."""
        self.chan[1].display = True
        self.trig_mode, self.trig_source, self.trig_sweep = "EDGE", "CHAN1", "AUTO"
        self.trig_level["CHAN1"] = 0.0
        self.run_state = "RUN"
        self._arm()

    @scpi(":TER", query=True)
    def _ter(self, p: Params):
        self._poll()
        value, self.ter = self.ter, False
        return "+1" if value else "+0"

    def _update_oper(self) -> None:
        self._poll()
        (self.oper.set if (self.armed or self.run_state == "RUN") else self.oper.clear)(8)

    @scpi(":OPERegister:CONDition", query=True)
    def _oper_cond(self, p: Params):
        self._update_oper()
        return f"{self.oper.condition:+d}"

    @scpi(":OPERegister[:EVENt]", query=True)
    def _oper_event(self, p: Params):
        self._update_oper()
        return f"{self.oper.read_event():+d}"

    @scpi(":AER", query=True)
    def _aer(self, p: Params):
        """Arm event register: 1 once the scope has been armed since the last read."""
        value, self.aer = self.aer, False
        return "+1" if value else "+0"

    @scpi(":OVLRegister", query=True)
    def _ovl(self, p: Params):
        """Overload register: the 1 MOhm inputs are never overloaded on the bench."""
        return "+0"

    @scpi(":CDISplay", args=(0, 0))
    def _cdisplay(self, p: Params):
        """Clears the screen's persistence: nothing on the bench."""

    @scpi(":{BLANk|VIEW}", args=(1, 1))
    def _blank_view(self, p: Params):
        source = _source_name(p.raw(0), ("CHAN1", "CHAN2", "FUNC", "MATH", "FFT"))
        if source.startswith("CHAN"):
            self.chan[int(source[-1])].display = p.alt[0] == "VIEW"

    @scpi(":STATus", query=True, args=(1, 1))
    def _status(self, p: Params):
        source = _source_name(p.raw(0), ("CHAN1", "CHAN2", "FUNC", "MATH", "FFT"))
        on = self.chan[int(source[-1])].display if source.startswith("CHAN") else False
        return "1" if on else "0"

    @scpi(":SERial", query=True)
    def _serial(self, p: Params):
        return '"' + self.idn.split(",")[2] + '"'

    @scpi(":CHANnel#:PROBe:STYPe", query=True)
    def _probe_type(self, p: Params):
        return "SING"

    @scpi(":CHANnel#:PROTection", query=True)
    def _protection(self, p: Params):
        return "NORM"

    @scpi(":TRIGger:LEVel:ASETup", args=(0, 0))
    def _trig_level_auto(self, p: Params):
        """Sets the level to the 50 % point of the signal: 0 V on the bench's idle cell."""
        if self.trig_source in self.trig_level:
            self.trig_level[self.trig_source] = 0.0

    @scpi(":WAVeform:SEGMented:{COUNt|TTAG}", query=True)
    def _wav_segments(self, p: Params):
        return "+0" if p.alt[0] == "COUN" else "+0.0E+00"

    @scpi(":DISPlay:CLEar", args=(0, 0))
    def _display_clear(self, p: Params):
        """Clears waveforms from the screen: nothing on the bench."""

    @scpi(":SYSTem:{DATE|TIME}", args=(3, 3))
    def _set_clock(self, p: Params):
        self.clock.set_from(p, p.alt[0])

    @scpi(":SYSTem:{DATE|TIME}", query=True)
    def _get_clock(self, p: Params):
        tm = self.clock.struct()
        if p.alt[0] == "DATE":
            return f'"{tm.tm_mday} {_time.strftime("%b", tm).upper()} {tm.tm_year}"'
        return f'"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"'

    @scpi(":RSTate", query=True)
    def _rstate(self, p: Params):
        self._poll()
        return self.run_state

    # ------------------------------------------------------------------ timebase
    @scpi(":TIMebase[:MAIN]:RANGe")
    def _set_tb_range(self, p: Params):
        self.tb_scale_s = p.number(0, lo=50e-9, hi=500.0, units=("S",), name="timebase range") / 10
        self._rearm()

    @scpi(":TIMebase[:MAIN]:RANGe", query=True)
    def _get_tb_range(self, p: Params):
        return _nr3(self.record_s)

    @scpi(":TIMebase:DELay")
    def _set_tb_position(self, p: Params):
        self.tb_position_s = p.number(0, lo=-500.0, hi=500.0, units=("S",), name="timebase position")
        self._rearm()

    @scpi(":TIMebase:DELay", query=True)
    def _get_tb_position(self, p: Params):
        return _nr3(self.tb_position_s)

    @scpi(":TIMebase", query=True)
    def _get_timebase(self, p: Params):
        return (
            f":TIM:MODE {self.tb_mode};REF {self.tb_reference};"
            f"MAIN:RANG {self.record_s:+.2E};POS {self.tb_position_s:+.1E}"
        )

    def _rearm(self, p: Params | None = None) -> None:
        if self.armed:
            self._arm()

    # ------------------------------------------------------------------ channels
    def _ch(self, p: Params) -> ScopeChannel:
        return self.chan[p.sfx[0]]

    def _check_impedance(self, p: Params, value):
        if value != "ONEM":
            raise ScpiError(-221, "the 1000 X-Series inputs are 1 MOhm only")
        return value

    def _check_trig_mode(self, p: Params, value):
        if value != "EDGE":
            raise ScpiError(-221, f"trigger mode {value} is not emulated (EDGE only)")
        return value

    def _wav_points_max(self, p: Params) -> int:
        return MAX_POINTS if self.wav_points_mode == "NORM" else 1_000_000

    def _ch_scale_min(self, p: Params) -> float:
        return 1e-3 * self._ch(p).probe

    def _ch_scale_max(self, p: Params) -> float:
        return 10.0 * self._ch(p).probe

    def _offset_limit(self, c: ScopeChannel) -> float:
        return (2.0 if c.scale_v / c.probe <= 0.2 else 40.0) * c.probe

    @scpi(":CHANnel#:SCALe")
    def _set_ch_scale(self, p: Params):
        c = self._ch(p)
        c.scale_v = p.number(0, lo=1e-3 * c.probe, hi=10.0 * c.probe, units=("V",), name="channel scale")
        lim = self._offset_limit(c)
        c.offset_v = max(-lim, min(lim, c.offset_v))

    @scpi(":CHANnel#:RANGe")
    def _set_ch_range(self, p: Params):
        c = self._ch(p)
        c.scale_v = p.number(0, lo=8e-3 * c.probe, hi=80.0 * c.probe, units=("V",), name="channel range") / 8

    @scpi(":CHANnel#:RANGe", query=True)
    def _get_ch_range(self, p: Params):
        return _nr3(8 * self._ch(p).scale_v)

    @scpi(":CHANnel#:OFFSet")
    def _set_ch_offset(self, p: Params):
        c = self._ch(p)
        lim = self._offset_limit(c)
        c.offset_v = p.number(0, lo=-lim, hi=lim, units=("V",), name="offset", clip=True)

    @scpi(":CHANnel#:PROBe")
    def _set_ch_probe(self, p: Params):
        c = self._ch(p)
        probe = p.number(0, lo=0.1, hi=10000.0, name="probe attenuation")
        factor = probe / c.probe
        c.scale_v *= factor
        c.offset_v *= factor
        c.probe = probe

    @scpi(":CHANnel#:PROBe", query=True)
    def _get_ch_probe(self, p: Params):
        return _nr3(self._ch(p).probe)

    @scpi(":CHANnel#:LABel")
    def _set_ch_label(self, p: Params):
        self._ch(p).label = p.string(0, "label").upper()[:10]

    @scpi(":CHANnel#:LABel", query=True)
    def _get_ch_label(self, p: Params):
        return f'"{self._ch(p).label}"'

    @scpi(":CHANnel#", query=True)
    def _get_channel(self, p: Params):
        c = self._ch(p)
        return (
            f":CHAN{c.number}:RANG {8 * c.scale_v:+.3E};OFFS {c.offset_v:+.5E};"
            f"COUP {c.coupling};IMP ONEM;DISP {int(c.display)};BWL {int(c.bwlimit)};"
            f'INV {int(c.invert)};LAB "{c.label}";UNIT {c.units};PROB {c.probe:+.0E};'
            f"PROB:SKEW {c.skew_s:+.2E};STYP SING"
        )

    # ------------------------------------------------------------------ trigger
    @scpi(":TRIGger[:EDGE]:SOURce")
    def _set_trig_source(self, p: Params):
        self.trig_source = _source_name(p.raw(0), ("CHAN1", "CHAN2", "EXT", "LINE", "WGEN"))
        self._rearm()

    @scpi(":TRIGger[:EDGE]:SOURce", query=True)
    def _get_trig_source(self, p: Params):
        return self.trig_source

    @scpi(":TRIGger[:EDGE]:LEVel", args=(1, 2))
    def _set_trig_level(self, p: Params):
        source = (
            _source_name(p.raw(1), ("CHAN1", "CHAN2", "EXT"))
            if p.has(1)
            else (self.trig_source if self.trig_source in self.trig_level else "CHAN1")
        )
        if source == "EXT":
            lo, hi = -8.0, 8.0
        else:
            c = self.chan[int(source[-1])]
            lo = c.offset_v - 6 * c.scale_v
            hi = c.offset_v + 6 * c.scale_v
        self.trig_level[source] = p.number(0, lo=lo, hi=hi, units=("V",), name="trigger level")

    @scpi(":TRIGger[:EDGE]:LEVel", query=True, args=(0, 1))
    def _get_trig_level(self, p: Params):
        source = (
            _source_name(p.raw(0), ("CHAN1", "CHAN2", "EXT"))
            if p.has(0)
            else (self.trig_source if self.trig_source in self.trig_level else "CHAN1")
        )
        return _nr3(self.trig_level[source])

    @scpi(":TRIGger:FORCe", args=(0, 0))
    def _trig_force(self, p: Params):
        if self.armed:
            self._arm("immediate")
            self.link.wait(self.record_s)
            self._poll()

    # ------------------------------------------------------------------ acquire
    @scpi(":ACQuire:POINts", query=True)
    def _get_acq_points(self, p: Params):
        return f"+{self._acq_points()}"

    @scpi(":ACQuire:SRATe", query=True)
    def _get_acq_srate(self, p: Params):
        return _nr3(self._acq_points() / self.record_s)

    # ------------------------------------------------------------------ waveform
    @scpi(":WAVeform:SOURce")
    def _set_wav_source(self, p: Params):
        self.wav_source = _source_name(p.raw(0), ("CHAN1", "CHAN2", "FUNC", "FFT", "WMEM1", "WMEM2", "EXT"))

    @scpi(":WAVeform:SOURce", query=True)
    def _get_wav_source(self, p: Params):
        return self.wav_source

    @scpi(":WAVeform:POINts")
    def _set_wav_points(self, p: Params):
        top = MAX_POINTS if self.wav_points_mode == "NORM" else 1_000_000
        self.wav_points = p.integer(0, lo=100, hi=top, default=1000, name="waveform points")

    @scpi(":WAVeform:POINts", query=True)
    def _get_wav_points(self, p: Params):
        return f"+{self._out_points()}"

    def _out_points(self) -> int:
        n_acq = self.record_settings[2] if self.record is None else len(self.record[2])
        return min(self.wav_points, n_acq)

    def _scaling(self) -> tuple[int, float, float, int]:
        """(format code, y increment, y origin, y reference) of the waveform source."""
        c = self.chan[int(self.wav_source[-1])] if self.wav_source.startswith("CHAN") else self.chan[1]
        if self.wav_format == "BYTE":
            return 0, c.scale_v / BYTE_CODES_PER_DIV, c.offset_v, 128
        yref = 32768 if self.wav_unsigned else 0
        return (1 if self.wav_format == "WORD" else 4), c.scale_v / WORD_CODES_PER_DIV, c.offset_v, yref

    def _trace_record(self) -> tuple[float, float, np.ndarray]:
        """The completed record behind a waveform query (-230 when there is none for the source)."""
        self._poll()
        if self.record is None:
            if self.armed and self.trig_sweep == "AUTO":
                self._complete_now()
            if self.record is None:
                raise ScpiError(-230, "no acquisition has completed")
        if not self.wav_source.startswith("CHAN"):
            raise ScpiError(-230, f"no data for {self.wav_source}")
        return self.record

    def _decimation(self, dt: float, size: int) -> tuple[float, int]:
        """(xincrement, points) of a record of ``size`` samples ``dt`` apart, sent as :WAVeform:POINts allows."""
        n_out = min(self.wav_points, size)
        return (dt * size / n_out if n_out < size else dt), n_out

    def _trace_axis(self) -> tuple[float, float, int]:
        """(xorigin, xincrement, points) of :meth:`_trace`, without computing its volts (the preamble)."""
        x0, dt, volts_in = self._trace_record()
        return (x0, *self._decimation(dt, volts_in.size))

    def _trace(self) -> tuple[float, float, np.ndarray]:
        """(xorigin, xincrement, displayed volts) of the waveform source, decimated."""
        x0, dt, volts_in = self._trace_record()
        c = self.chan[int(self.wav_source[-1])]
        if c.number != 1:
            volts = np.zeros_like(volts_in)
        else:  # x 1.0 is x to the bit (a direct connection, the commonest probe setting): no copy to make
            volts = volts_in if c.probe == 1.0 else volts_in * c.probe
        if c.invert:
            volts = -volts
        if c.coupling == "AC" and volts.size:
            volts = volts - volts.mean()
        dt_out, n_out = self._decimation(dt, volts.size)
        if n_out < volts.size:
            volts = volts[(np.arange(n_out) * volts.size) // n_out]
        return x0, dt_out, volts

    @scpi(":WAVeform:PREamble", query=True)
    def _get_preamble(self, p: Params):
        x0, dt, points = self._trace_axis()
        fmt, yinc, yorg, yref = self._scaling()
        typ = {"NORM": 0, "PEAK": 1, "AVER": 2, "HRES": 3}[self.acq_type]
        count = self.acq_count if self.acq_type == "AVER" else 1
        return f"{fmt:+d},{typ:+d},{points:+d},{count:+d},{dt:+.9E},{x0:+.9E},+0,{yinc:+.9E},{yorg:+.9E},{yref:+d}"

    @scpi(":WAVeform:DATA", query=True)
    def _get_data(self, p: Params):
        _, _, volts = self._trace()
        fmt, yinc, yorg, yref = self._scaling()
        if fmt == 0:
            codes = np.clip(np.round((volts - yorg) / yinc + yref), 0, 255).astype(np.uint8)
            return _block(codes.tobytes())
        lo, hi = (0, 65535) if self.wav_unsigned else (-32768, 32767)
        # np.clip(np.round((volts - yorg) / yinc + yref), lo, hi), the same operations in place in one array
        codes = volts - yorg
        codes /= yinc
        codes += yref
        np.round(codes, out=codes)
        np.clip(codes, lo, hi, out=codes)
        if fmt == 1:
            order = ">" if self.wav_byteorder == "MSBF" else "<"
            dtype = np.dtype(order + ("u2" if self.wav_unsigned else "i2"))
            return _block(codes.astype(dtype).tobytes())
        clipped = (codes - yref) * yinc + yorg
        text = ",".join(f"{v:+.6E}" for v in clipped)
        return _block(text.encode("ascii"))

    @scpi(":WAVeform:{XINCrement|XORigin|XREFerence|YINCrement|YORigin|YREFerence}", query=True)
    def _get_wav_axis(self, p: Params):
        x0, dt, _ = self._trace_axis()
        fmt, yinc, yorg, yref = self._scaling()
        value = {"XINC": dt, "XOR": x0, "XREF": 0, "YINC": yinc, "YOR": yorg, "YREF": yref}[p.alt[0]]
        return f"{value:+d}" if p.alt[0] in ("XREF", "YREF") else _nr3(value)

    @scpi(":WAVeform:COUNt", query=True)
    def _get_wav_count(self, p: Params):
        return f"+{self.acq_count if self.acq_type == 'AVER' else 1}"

    @scpi(":WAVeform:TYPE", query=True)
    def _get_wav_type(self, p: Params):
        return {"NORM": "NORM", "PEAK": "PEAK", "AVER": "AVER", "HRES": "HRES"}[self.acq_type]

    # ------------------------------------------------------------------ system, display
    @scpi(":SYSTem:SETup", query=True)
    def _get_setup(self, p: Params):
        """Every table setting, as JSON text in a definite block (opaque to the client)."""
        items = [[h, list(a), list(n), v] for (h, a, n), v in self._setup_values().items()]
        return _block(json.dumps(items, separators=(",", ":")).encode("ascii"))

    @scpi(":SYSTem:SETup")
    def _set_setup(self, p: Params):
        rows = self.table.by_header()
        try:
            items = json.loads(p.block(0))
            restored = {}
            for header, alt, sfx, value in items:
                row = rows[header]
                if not row.key or row.rst is None or not isinstance(value, (bool, int, float, str)):
                    raise ValueError(header)
                if isinstance(value, float) and not math.isfinite(value):
                    raise ValueError(header)
                restored[(header, tuple(alt), tuple(sfx))] = self._table_convert(row, value)
        except (ValueError, KeyError, TypeError):
            raise ScpiError(-161, "setup block not from this instrument") from None
        self._restore_setup(restored)

    @scpi(":SYSTem:PRESet", args=(0, 0))
    def _preset(self, p: Params):
        self._rst_state()

    @scpi(":DISPlay:DATA", query=True, args=(0, 3))
    def _display_data(self, p: Params):
        if p.has(0):
            p.choice(0, ["PNG", "BMP", "BMP8bit"], "image format")
        if p.has(1):
            p.choice(1, ["COLor", "GRAYscale"], "palette")
        return _block(_tiny_png())
