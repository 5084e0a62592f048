"""Keysight 33522B (33500B series, two channels) function/arbitrary waveform generator.

The commands are the rows of ``tables/keysight33500b.toml`` (written from the 33500 Series
Operating and Service Guide, SCPI programming reference): plain settings are implemented by the
engine from their row; this module holds the behaviour and the cross-setting checks.

Limits enforced as the instrument does (values outside queue -222 and change nothing): amplitude and
offset against the load (|offset| + Vpp/2 <= 10 V * R/(R + 50 Ohm): 5 V into 50 Ohm, 10 V open) and
against ``VOLT:LIM`` when on, 1 mVpp minimum, pulse width >= 16 ns and <= period - 16 ns, edge
times 8.4 ns..1 us and <= 0.625 x width, frequency 1 uHz..30 MHz (200 kHz for triangle/ramp; sine
and square bursts above 6 MHz only with an infinite count). Changing the period so that the width no
longer fits shortens the width (and edges) without an error, as the guide says the instrument does.
``APPLy:<function>`` sets function, frequency, amplitude and offset at once, and (as the guide
says) sets the trigger source to IMMediate, turns burst, sweep and modulation off, turns voltage
autoranging and the output on. ``BURSt:NCYCles INFinity`` and ``TRIG:COUN INF`` read back 9.9E+37.

Arbitrary-waveform memory (issue 10): a waveform has 8 to 1,000,000 points (fewer: -222, more:
-223 "Too much data"); each channel's volatile memory holds :data:`ARB_MEMORY_POINTS` points,
allocated in blocks of 128 (a waveform that does not fit: -225 "Out of memory");
``DATA:VOL:FREE?`` is what is left. A binary block whose length is not a whole number of samples
(2 bytes DAC, 4 bytes float) is -161 "Invalid block data".

Physics: the output is a 50 Ohm source. The programmed voltages assume the load set by
``OUTPut:LOAD``, so the EMF played into the bench is the programmed voltage x (R + 50)/R (x 1 for
INF). A triggered burst (``*TRG`` with ``TRIG:SOUR BUS``, or ``TRIG``) is built as a piecewise-linear
waveform (pulses with their edges, sines as 64 segments a cycle, arbitrary samples at the sample
rate, stepped for ``FILTer STEP|OFF``) and played with ``bench.play`` (it advances the virtual clock
by the burst's length and triggers an armed scope through the sync output). Between bursts, or with
the DC function, the output holds its idle level (the waveform's value at the start phase) through
``bench.set_source``; an output that is off is high impedance.

Refused, with the row's reason (-221 and no change): modulation, sweep, frequency list, channel
coupling/tracking/combining, gated output, non-Vpp amplitude units and angle units other than
degrees, two-channel arbitrary waveforms and sequences: the bench plays none of them.

Limitations, stated: a free-running output (burst off, or burst with ``TRIG:SOUR IMM``/``TIM``, or an
infinite count) cannot be played by the bench, which has no periodic-source call; such an output
holds its idle level (``free_running`` is True). Two wired channels triggered together play one after
the other. Not verified on hardware: reply digits (``%+.15E``), the error code for a duplicate arb
name (-221 here), the idle level between bursts, the 12-character arb-name limit.
"""

from __future__ import annotations

import numpy as np

from . import status
from .benchlink import BenchLink
from .clock import Clock
from .engine import ScpiInstrument, scpi
from .errors import ScpiError
from .params import Choice, Params, format_number

R_OUT_OHM = 50.0
EMF_MAX_V = 10.0
INF_OHM = 9.9e37
INF_COUNT = 9.9e37
MIN_WIDTH_S = 16e-9
EDGE_MIN_S = 8.4e-9
EDGE_MAX_S = 1e-6
SQUARE_EDGE_S = 8.4e-9
FREQ_MAX_HZ = {
    "SIN": 30e6,
    "SQU": 30e6,
    "PULS": 30e6,
    "TRI": 200e3,
    "RAMP": 200e3,
    "ARB": 30e6,
    "PRBS": 30e6,
    "NOIS": 30e6,
    "DC": 30e6,
}
BURST_FREQ_MAX_HZ = 6e6  # sine/square bursts above this only with an infinite count
MAX_KNOTS_PER_PLAY = 200_000
ARB_MIN_POINTS = 8
ARB_MAX_POINTS = 1_000_000
ARB_MEMORY_POINTS = 1_048_576
ARB_BLOCK = 128
BUILTIN_ARB = "INT:\\BUILTIN\\EXP_RISE.ARB"

_FUNCS = Choice(["SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe", "ARBitrary", "DC"])
_APPLY_NAMES = {
    "ARB": "ARB",
    "DC": "DC",
    "NOIS": "NOIS",
    "PRBS": "PRBS",
    "PULS": "PULS",
    "RAMP": "RAMP",
    "SIN": "SIN",
    "SQU": "SQU",
    "TRI": "TRI",
}


def _nr3(x: float) -> str:
    return format_number("%+.15E", x)


def _arb_blocks(n: int) -> int:
    return -(-n // ARB_BLOCK) * ARB_BLOCK


class Channel:
    """One output channel: a container the table's rows fill (SI units; INF load is 9.9e37)."""

    def __init__(self, number: int):
        self.number = number
        self.arbs: dict[str, np.ndarray] = {BUILTIN_ARB: 1 - 2 * np.exp(-np.linspace(0, 5, 64))}
        self.list_freqs: list[float] = []

    @property
    def period_s(self) -> float:
        return 1.0 / self.freq_hz

    @property
    def high_v(self) -> float:
        return self.offset_v + self.ampl_vpp / 2

    @property
    def low_v(self) -> float:
        return self.offset_v - self.ampl_vpp / 2

    @property
    def infinite_load(self) -> bool:
        return self.load_ohm >= INF_OHM

    def vmax_v(self, load_ohm: float | None = None) -> float:
        """Largest |voltage| at the load for the load setting (10 V EMF through 50 Ohm)."""
        r = self.load_ohm if load_ohm is None else load_ohm
        return EMF_MAX_V if r >= INF_OHM else EMF_MAX_V * r / (r + R_OUT_OHM)

    def emf_factor(self) -> float:
        r = self.load_ohm
        return 1.0 if r >= INF_OHM else (r + R_OUT_OHM) / r

    def arb_used(self) -> int:
        return sum(_arb_blocks(len(v)) for k, v in self.arbs.items() if not k.startswith("INT:"))


class Keysight33522B(status.StatusModel, ScpiInstrument):
    """Keysight 33522B; ``bench_names`` maps channel number to the bench terminal (None: unwired)."""

    model = "Keysight 33522B"
    idn = "Keysight Technologies,33522B,MY57000001,4.00-1.19-2.00-58-00"
    error_queue_size = 20
    table_file = "keysight33500b.toml"
    save_slots = 5
    status_int = "%+d"

    def __init__(
        self, bench=None, resource_name: str = "GPIB0::10::INSTR", *, bench_names: dict[int, str | None] | None = None
    ):
        if bench_names is None:
            bench_names = {1: "awg", 2: None}
        self.links = {ch: BenchLink(bench, bench_names.get(ch)) for ch in (1, 2)}
        self.free_running = {1: False, 2: False}
        self._init_registers()
        self.clock = Clock(lambda: self.links[1].now_s)
        super().__init__(resource_name)

    def _rst_state(self) -> None:
        self.ch = {1: Channel(1), 2: Channel(2)}

    def _after_rst(self) -> None:
        for n in (1, 2):
            self._apply_output(n)

    def format_error(self, code: int, message: str) -> str:
        return f'{code:+d},"{message}"'

    # ------------------------------------------------------------------ helpers
    def _c(self, p: Params, k: int = 0) -> Channel:
        return self.ch[p.sfx[k] if p.sfx else 1]

    def _check_levels(
        self, c: Channel, ampl: float, offset: float, load: float | None = None, func: str | None = None
    ) -> None:
        vmax = c.vmax_v(load)
        func = func or c.func
        if func == "DC":
            hi = lo = offset
            if abs(offset) > vmax + 1e-12:
                raise ScpiError(-222, f"DC level {offset:g} V beyond +-{vmax:g} V for this load")
        else:
            amin = 1e-3 * (vmax / 5.0)
            if ampl < amin - 1e-15 or ampl > 2 * vmax + 1e-12:
                raise ScpiError(-222, f"amplitude {ampl:g} Vpp outside [{amin:g}, {2 * vmax:g}]")
            if abs(offset) + ampl / 2 > vmax + 1e-12:
                raise ScpiError(
                    -222, f"|offset| + amplitude/2 = {abs(offset) + ampl / 2:g} V beyond {vmax:g} V for this load"
                )
            hi, lo = offset + ampl / 2, offset - ampl / 2
        if self.s[f"ch{c.number}.vlimit.state"]:
            top, bottom = self.s[f"ch{c.number}.vlimit.high"], self.s[f"ch{c.number}.vlimit.low"]
            if hi > top + 1e-12 or lo < bottom - 1e-12:
                raise ScpiError(-221, f"levels {lo:g}..{hi:g} V beyond VOLT:LIM {bottom:g}..{top:g} V")

    def _check_pulse(self, c: Channel, width: float, lead: float, trail: float, period: float):
        if width < MIN_WIDTH_S or width > period - MIN_WIDTH_S:
            raise ScpiError(-222, f"pulse width {width:g} s outside [16 ns, period - 16 ns]")
        for name, edge in (("leading edge", lead), ("trailing edge", trail)):
            if not (EDGE_MIN_S - 1e-15 <= edge <= EDGE_MAX_S + 1e-15):
                raise ScpiError(-222, f"{name} {edge:g} s outside [8.4 ns, 1 us]")
            if edge > 0.625 * width * (1 + 1e-9):
                raise ScpiError(-222, f"{name} {edge:g} s longer than 0.625 x width")

    # ------------------------------------------------------------------ waveform and physics
    def _one_cycle(self, c: Channel) -> tuple[np.ndarray, np.ndarray]:
        """Knots (t, v) of one period of the programmed waveform, at the load, from phase 0."""
        hi, lo = c.high_v, c.low_v
        if c.polarity == "INV":
            hi, lo = 2 * c.offset_v - hi, 2 * c.offset_v - lo
        if c.func in ("PULS", "SQU"):
            period = c.period_s
            if c.func == "PULS":
                width, lead, trail = c.pulse_width_s, c.lead_s, c.trail_s
            else:
                width, lead, trail = period * c.square_dcyc / 100, SQUARE_EDGE_S, SQUARE_EDGE_S
            t_fall = lead / 2 + width - trail / 2
            t = [0.0, lead, t_fall, t_fall + trail, period]
            v = [lo, hi, hi, lo, lo]
            return np.array(t), np.array(v)
        if c.func == "SIN":
            t = np.linspace(0, c.period_s, 65)
            return t, c.offset_v + (hi - c.offset_v) * np.sin(2 * np.pi * t / c.period_s + np.radians(c.phase_deg))
        if c.func in ("TRI", "RAMP"):
            sym = 50.0 if c.func == "TRI" else c.ramp_symm
            tp = c.period_s * sym / 100
            # start at the offset going up, as a sine does at phase 0
            t = np.array([0.0, tp / 2, tp / 2 + (c.period_s - tp), c.period_s])
            v = np.array([c.offset_v, hi, lo, c.offset_v])
            keep = np.concatenate([[True], np.diff(t) > 0])
            return t[keep], v[keep]
        if c.func == "ARB":
            samples = c.arbs[c.arb_name]
            v = c.offset_v + samples * (hi - c.offset_v)
            dt = 1.0 / c.arb_srate
            n = len(samples)
            if c.arb_filter == "NORM":
                t = np.arange(n + 1) * dt
                return t, np.concatenate([v, v[:1]])
            t = np.repeat(np.arange(n + 1) * dt, 2)[1:-1]
            return t, np.repeat(v, 2)
        return np.array([0.0, c.period_s]), np.array([c.offset_v, c.offset_v])

    def _cycle_length_s(self, c: Channel) -> float:
        if c.func == "ARB":
            return len(c.arbs[c.arb_name]) / c.arb_srate
        return c.period_s

    def _idle_level_v(self, c: Channel) -> float:
        if c.func in ("DC", "NOIS", "PRBS"):
            return c.offset_v
        return float(self._one_cycle(c)[1][0])

    def _apply_output(self, n: int) -> None:
        """The output's DC state on the bench: off (high impedance) or its idle level."""
        c = self.ch[n]
        link = self.links[n]
        self.free_running[n] = (
            c.output
            and c.func != "DC"
            and not (c.burst and c.trig_source in ("BUS", "EXT") and c.burst_ncyc < INF_COUNT)
        )
        waiting = c.output and c.burst and c.trig_source in ("BUS", "EXT")
        oper = self.registers["OPER"]
        (oper.set if waiting else oper.clear)(32)  # bit 5: waiting for trigger
        if not c.output:
            link.set_source(enabled=False)
            return
        link.set_source(enabled=True, level_v=self._idle_level_v(c) * c.emf_factor(), r_series_ohm=R_OUT_OHM)

    def _output_changed(self, p: Params) -> None:
        self._apply_output(self._c(p).number)

    def _fire(self, n: int) -> None:
        """Play one triggered burst of channel ``n`` (N cycles after the trigger delay)."""
        c = self.ch[n]
        if not (c.output and c.burst) or c.func in ("DC", "NOIS", "PRBS") or c.burst_ncyc >= INF_COUNT:
            return
        link = self.links[n]
        t1, v1 = self._one_cycle(c)
        length = self._cycle_length_s(c)
        emf = c.emf_factor()
        idle = v1[0]
        per_play = max(1, MAX_KNOTS_PER_PLAY // len(t1))
        if c.trig_delay_s > 0:
            link.wait(c.trig_delay_s)
        remaining = int(c.burst_ncyc)
        while remaining > 0:
            k = min(per_play, remaining)
            offsets = (np.arange(k) * length)[:, None]
            # a cycle's last knot and the next cycle's first are the same instant; rounding must not
            # put them out of order
            t = np.maximum.accumulate((t1[None, :] + offsets).ravel())
            v = np.tile(v1, k)
            t, v = _dedupe_knots(t, v)
            if t[-1] < k * length:
                t = np.append(t, k * length)
                v = np.append(v, idle)
            link.play(t, v * emf, r_series_ohm=R_OUT_OHM)
            remaining -= k
        self._apply_output(n)

    def _on_trigger(self) -> None:
        for n in (1, 2):
            if self.ch[n].trig_source == "BUS":
                self._fire(n)

    # ------------------------------------------------------------------ table hooks
    def _refuse_unless(self, allowed, why: str):
        def check(p: Params, value):
            if value not in allowed:
                raise ScpiError(-221, why)
            return value

        return check

    def _check_func(self, p: Params, func):
        c = self._c(p)
        if c.burst and func in ("DC", "NOIS", "PRBS"):
            raise ScpiError(-221, f"{func} not allowed with burst on")
        if func != "DC" and func != c.func:
            ampl = min(c.ampl_vpp, 2 * c.vmax_v())
            if abs(c.offset_v) + ampl / 2 > c.vmax_v():
                raise ScpiError(-221, "offset too large for this function's amplitude")
        if c.freq_hz > FREQ_MAX_HZ[func]:
            c.freq_hz = FREQ_MAX_HZ[func]
        return func

    def _freq_max(self, p: Params) -> float:
        c = self._c(p)
        top = FREQ_MAX_HZ[c.func]
        if c.burst and c.func in ("SIN", "SQU") and c.burst_ncyc < INF_COUNT:
            top = min(top, BURST_FREQ_MAX_HZ)
        return top

    def _check_freq(self, p: Params, freq: float):
        self._set_period(self._c(p), 1.0 / freq, freq)
        return freq

    def _set_period(self, c: Channel, period: float, freq: float | None = None) -> None:
        """New period (``freq``: the frequency as sent, kept exactly); a pulse width or edge that
        no longer fits is shortened (no error: the guide says the instrument adjusts them)."""
        if c.func == "PULS":
            if c.pulse_hold == "DCYC":
                c.pulse_width_s *= period / c.period_s
            if c.pulse_width_s > period - MIN_WIDTH_S:
                c.pulse_width_s = max(MIN_WIDTH_S, period - MIN_WIDTH_S)
            edge_max = max(EDGE_MIN_S, 0.625 * c.pulse_width_s)
            c.lead_s = min(c.lead_s, edge_max)
            c.trail_s = min(c.trail_s, edge_max)
        c.freq_hz = 1.0 / period if freq is None else freq
        self._apply_output(c.number)

    def _ampl_min(self, p: Params) -> float:
        return 1e-3 * self._c(p).vmax_v() / 5

    def _ampl_max(self, p: Params) -> float:
        return 2 * self._c(p).vmax_v()

    def _offset_max(self, p: Params) -> float:
        return self._c(p).vmax_v()

    def _offset_min(self, p: Params) -> float:
        return -self._c(p).vmax_v()

    def _check_offset(self, p: Params, offset: float):
        c = self._c(p)
        self._check_levels(c, c.ampl_vpp, offset)
        return offset

    def _check_width(self, p: Params, width: float):
        c = self._c(p)
        self._check_pulse(c, width, c.lead_s, c.trail_s, c.period_s)
        return width

    def _check_lead(self, p: Params, edge: float):
        c = self._c(p)
        self._check_pulse(c, c.pulse_width_s, edge, c.trail_s, c.period_s)
        return edge

    def _check_trail(self, p: Params, edge: float):
        c = self._c(p)
        self._check_pulse(c, c.pulse_width_s, c.lead_s, edge, c.period_s)
        return edge

    def _check_burst(self, p: Params, state: bool):
        c = self._c(p)
        if state and c.func in ("DC", "NOIS", "PRBS"):
            raise ScpiError(-221, f"burst not available for {c.func}")
        if state and c.func in ("SIN", "SQU") and c.freq_hz > BURST_FREQ_MAX_HZ and c.burst_ncyc < INF_COUNT:
            raise ScpiError(-221, "sine/square bursts above 6 MHz need an infinite count")
        return state

    def _check_load(self, p: Params, load: float):
        c = self._c(p)
        # the physical output stays: the displayed (programmed) voltages follow the new load
        old_factor = c.emf_factor()
        new_factor = 1.0 if load >= INF_OHM else (load + R_OUT_OHM) / load
        scale = old_factor / new_factor
        c.ampl_vpp *= scale
        c.offset_v *= scale
        return load

    def _check_vlimit(self, p: Params, field_name: str, value):
        c = self._c(p)
        key = f"ch{c.number}.vlimit."
        saved = {k: self.s[key + k] for k in ("high", "low", "state")}
        self.s[key + field_name] = value
        try:
            if self.s[key + "high"] <= self.s[key + "low"]:
                raise ScpiError(-222, "VOLT:LIM:HIGH must exceed VOLT:LIM:LOW")
            self._check_levels(c, c.ampl_vpp, c.offset_v)
        finally:
            for k, v in saved.items():
                self.s[key + k] = v
        return value

    def _check_vlimit_high(self, p, value):
        return self._check_vlimit(p, "high", value)

    def _check_vlimit_low(self, p, value):
        return self._check_vlimit(p, "low", value)

    def _check_vlimit_state(self, p, value):
        return self._check_vlimit(p, "state", value)

    def _check_sweep_state(self, p, value):
        return self._refuse_unless((False,), "frequency sweeps are not played by the bench")(p, value)

    def _check_mod_state(self, p, value):
        return self._refuse_unless((False,), "modulation is not played by the bench")(p, value)

    def _check_off(self, p, value):
        return self._refuse_unless((False,), "channel coupling is not emulated")(p, value)

    def _check_freq_mode(self, p, value):
        return self._refuse_unless(("CW", "FIX"), "frequency sweeps and lists are not played by the bench")(p, value)

    def _check_unit(self, p, value):
        return self._refuse_unless(("VPP",), "only Vpp amplitudes are emulated")(p, value)

    def _check_track(self, p, value):
        return self._refuse_unless(("OFF",), "channel tracking is not emulated")(p, value)

    def _check_combine(self, p, value):
        return self._refuse_unless(("NONE",), "combining channels is not emulated")(p, value)

    def _check_output_mode(self, p, value):
        return self._refuse_unless(("NORM",), "gated output needs a Trig In signal the bench does not have")(p, value)

    def _check_angle(self, p, value):
        return self._refuse_unless(("DEG", "DEF"), "only degrees are emulated")(p, value)

    def _sweep_span_changed(self, p: Params) -> None:
        n = self._c(p).number
        center, span = self.s[f"ch{n}.freq.center"], self.s[f"ch{n}.freq.span"]
        self.s[f"ch{n}.freq.start"] = max(1e-6, center - span / 2)
        self.s[f"ch{n}.freq.stop"] = center + span / 2

    def _sweep_ends_changed(self, p: Params) -> None:
        n = self._c(p).number
        start, stop = self.s[f"ch{n}.freq.start"], self.s[f"ch{n}.freq.stop"]
        self.s[f"ch{n}.freq.center"] = (start + stop) / 2
        self.s[f"ch{n}.freq.span"] = stop - start

    # ------------------------------------------------------------------ levels
    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_ampl(self, p: Params):
        c = self._c(p)
        vmax = c.vmax_v()
        ampl = p.number(0, lo=1e-3 * vmax / 5, hi=2 * vmax, default=0.1, units=("VPP", "V"), name="amplitude")
        self._check_levels(c, ampl, c.offset_v)
        c.ampl_vpp = ampl
        self._apply_output(c.number)

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:{HIGH|LOW}")
    def _set_high_low(self, p: Params):
        c = self._c(p)
        vmax = c.vmax_v()
        value = p.number(0, lo=-vmax, hi=vmax, units=("V",), name=f"{p.alt[0].lower()} level")
        hi, lo = (value, c.low_v) if p.alt[0] == "HIGH" else (c.high_v, value)
        if hi <= lo:
            raise ScpiError(-222, "high level must exceed low level")
        self._check_levels(c, hi - lo, (hi + lo) / 2)
        c.ampl_vpp, c.offset_v = hi - lo, (hi + lo) / 2
        self._apply_output(c.number)

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:{HIGH|LOW}", query=True, args=(0, 1))
    def _get_high_low(self, p: Params):
        c = self._c(p)
        if p.has(0):
            word = p.choice(0, ["MINimum", "MAXimum"], "limit")
            vmax = c.vmax_v()
            return _nr3(-vmax if word == "MIN" else vmax)
        return _nr3(c.high_v if p.alt[0] == "HIGH" else c.low_v)

    @scpi("[:SOURce#]:VOLTage:RANGe:AUTO")
    def _set_autorange(self, p: Params):
        word = p.raw(0).strip().upper()
        state = True if word == "ONCE" else p.boolean(0, "autorange")
        self.s[f"ch{self._c(p).number}.autorange"] = state and word != "ONCE"

    @scpi("[:SOURce#]:APPLy:{SINusoid|SQUare|TRIangle|RAMP|PULSe|PRBS|NOISe|ARBitrary|DC}", args=(0, 3))
    def _apply(self, p: Params):
        c = self._c(p)
        func = p.alt[0]
        vals = {}
        for i, (name, default) in enumerate((("freq", None), ("ampl", None), ("offset", None))):
            if p.has(i) and p.raw(i).strip().upper() not in ("DEF", "DEFAULT"):
                units = {"freq": ("HZ",), "ampl": ("VPP", "V"), "offset": ("V",)}[name]
                vals[name] = p.number(i, units=units, name=name)
        freq = vals.get("freq", c.freq_hz)
        if func in ("DC", "NOIS"):
            freq = c.freq_hz
        if not 1e-6 <= freq <= FREQ_MAX_HZ[func]:
            raise ScpiError(-222, f"frequency {freq:g} Hz outside [1e-6, {FREQ_MAX_HZ[func]:g}]")
        ampl = vals.get("ampl", c.ampl_vpp)
        offset = vals.get("offset", c.offset_v)
        self._check_levels(c, ampl, offset, func=func)
        n = c.number
        c.burst = False
        for mod in ("am", "fm", "pm", "fsk", "bpsk", "pwm", "sum"):
            self.s[f"ch{n}.{mod}.state"] = False
        self.s[f"ch{n}.sweep.state"] = False
        c.trig_source = "IMM"
        self.s[f"ch{n}.autorange"] = True
        c.func = func
        if func != "ARB":
            self._set_period(c, 1.0 / freq, freq)
        c.ampl_vpp, c.offset_v = ampl, offset
        c.output = True
        self._apply_output(n)

    @scpi("[:SOURce#]:APPLy", query=True)
    def _get_apply(self, p: Params):
        c = self._c(p)
        freq = c.arb_srate / len(c.arbs[c.arb_name]) if c.func == "ARB" else c.freq_hz
        return f'"{_APPLY_NAMES[c.func]} {_nr3(freq)},{_nr3(c.ampl_vpp)},{_nr3(c.offset_v)}"'

    # ------------------------------------------------------------------ periods and duty cycles
    @scpi("[:SOURce#]:FUNCtion:PULSe:PERiod")
    @scpi("[:SOURce#]:FUNCtion:SQUare:PERiod")
    def _set_period_cmd(self, p: Params):
        c = self._c(p)
        period = p.number(0, lo=1.0 / FREQ_MAX_HZ["PULS"], hi=1e6, default=1e-3, units=("S",), name="period")
        self._set_period(c, period)

    @scpi("[:SOURce#]:FUNCtion:PULSe:PERiod", query=True, args=(0, 1))
    @scpi("[:SOURce#]:FUNCtion:SQUare:PERiod", query=True, args=(0, 1))
    def _get_period(self, p: Params):
        if p.has(0):
            word = p.choice(0, ["MINimum", "MAXimum"], "limit")
            return _nr3(1.0 / FREQ_MAX_HZ["PULS"] if word == "MIN" else 1e6)
        return _nr3(self._c(p).period_s)

    @scpi("[:SOURce#]:FUNCtion:PULSe:DCYCle")
    def _set_pulse_dcyc(self, p: Params):
        c = self._c(p)
        dcyc = p.number(0, lo=0.0, hi=100.0, default=10.0, units=("PCT",), name="duty cycle")
        width = c.period_s * dcyc / 100
        self._check_pulse(c, width, c.lead_s, c.trail_s, c.period_s)
        c.pulse_width_s = width
        self._apply_output(c.number)

    @scpi("[:SOURce#]:FUNCtion:PULSe:DCYCle", query=True)
    def _get_pulse_dcyc(self, p: Params):
        c = self._c(p)
        return _nr3(100 * c.pulse_width_s / c.period_s)

    @scpi("[:SOURce#]:FUNCtion:PULSe:TRANsition[:BOTH]")
    def _set_edges(self, p: Params):
        c = self._c(p)
        edge = p.number(0, lo=EDGE_MIN_S, hi=EDGE_MAX_S, default=10e-9, units=("S",), name="edge time")
        self._check_pulse(c, c.pulse_width_s, edge, edge, c.period_s)
        c.lead_s = c.trail_s = edge
        self._apply_output(c.number)

    @scpi("[:SOURce#]:FUNCtion:PULSe:TRANsition[:BOTH]", query=True, args=(0, 1))
    def _get_edges(self, p: Params):
        if p.has(0):
            word = p.choice(0, ["MINimum", "MAXimum"], "limit")
            return _nr3(EDGE_MIN_S if word == "MIN" else EDGE_MAX_S)
        return _nr3(self._c(p).lead_s)

    # ------------------------------------------------------------------ trigger
    @scpi(":TRIGger#[:IMMediate]", args=(0, 0))
    def _trig_now(self, p: Params):
        self._fire(self._c(p).number)

    @scpi(":INITiate[:IMMediate]", args=(0, 0))
    def _initiate(self, p: Params):
        """Arms the trigger system: with INIT:CONT ON (the default) it is always armed."""

    @scpi(":ABORt", args=(0, 0))
    def _abort(self, p: Params):
        """Stops a burst in progress: every burst has finished in virtual time already."""

    # ------------------------------------------------------------------ arbitrary waveforms
    def _store_arb(self, c: Channel, name: str, samples: np.ndarray) -> None:
        if len(name) > 12:
            raise ScpiError(-224, f"arb name {name!r} longer than 12 characters")
        if len(samples) < ARB_MIN_POINTS:
            raise ScpiError(-222, f"{len(samples)} points; an arb has at least {ARB_MIN_POINTS}")
        if len(samples) > ARB_MAX_POINTS:
            raise ScpiError(-223, f"{len(samples)} points; an arb has at most {ARB_MAX_POINTS}")
        if name.upper() in {k.upper() for k in c.arbs}:
            raise ScpiError(-221, f"arb {name!r} already in volatile memory")
        free = ARB_MEMORY_POINTS - c.arb_used()
        if _arb_blocks(len(samples)) > free:
            raise ScpiError(-225, f"{len(samples)} points do not fit: {free} points free (DATA:VOL:CLE frees them)")
        c.arbs[name] = samples

    def _binary(self, p: Params, itemsize: int, code: str) -> np.ndarray:
        raw = p.block(1).encode("latin-1")
        if len(raw) % itemsize:
            raise ScpiError(-161, f"block of {len(raw)} bytes is not a whole number of {itemsize}-byte samples")
        order = ">" if self.byte_order == "NORM" else "<"
        return np.frombuffer(raw, dtype=np.dtype(order + code)).astype(float)

    def _arb_values(self, p: Params, dac: bool) -> np.ndarray:
        if p.sfx[1] != 1:
            raise ScpiError(-221, "two-channel arbitrary waveforms are not emulated")
        if len(p) == 2 and p.tokens[1].startswith("#"):
            if dac:
                values = self._binary(p, 2, "i2")
            else:
                values = self._binary(p, 4, "f4")
        else:
            if len(p) - 1 > ARB_MAX_POINTS:
                raise ScpiError(-223, f"{len(p) - 1} points; an arb has at most {ARB_MAX_POINTS}")
            values = np.asarray(
                p.numbers(
                    1, lo=-32767 if dac else -1.0, hi=32767 if dac else 1.0, name="DAC value" if dac else "arb value"
                )
            )
        if dac:
            if np.any(np.abs(values) > 32767):
                raise ScpiError(-222, "DAC values must lie in -32767..32767")
            return values / 32767.0
        if np.any(~np.isfinite(values)) or np.any(np.abs(values) > 1.0):
            raise ScpiError(-222, "arb values must lie in -1..1")
        return values

    @scpi("[:SOURce#]:DATA:ARBitrary#:DAC", args=(2, 1 << 30))
    def _data_dac(self, p: Params):
        c = self._c(p)
        name = p.mnemonic(0, "arb name")
        self._store_arb(c, name, self._arb_values(p, dac=True))

    @scpi("[:SOURce#]:DATA:ARBitrary#", args=(2, 1 << 30))
    def _data_float(self, p: Params):
        c = self._c(p)
        name = p.mnemonic(0, "arb name")
        self._store_arb(c, name, self._arb_values(p, dac=False))

    @scpi("[:SOURce#]:DATA:VOLatile:CLEar", args=(0, 0))
    def _data_clear(self, p: Params):
        c = self._c(p)
        c.arbs = {k: v for k, v in c.arbs.items() if k.startswith("INT:")}
        if c.arb_name not in c.arbs:
            c.arb_name = BUILTIN_ARB

    @scpi("[:SOURce#]:DATA:VOLatile:CATalog", query=True)
    def _data_catalog(self, p: Params):
        names = [k for k in self._c(p).arbs if not k.startswith("INT:")]
        return ",".join(f'"{k}"' for k in names) if names else '""'

    @scpi("[:SOURce#]:DATA:VOLatile:FREE", query=True)
    def _data_free(self, p: Params):
        return f"{ARB_MEMORY_POINTS - self._c(p).arb_used():+d}"

    def _arb_named(self, c: Channel, p: Params) -> np.ndarray:
        if not p.has(0):
            return c.arbs[c.arb_name]
        name = p.string(0, "arb name", allow_bare=True)
        match = {k.upper(): k for k in c.arbs}.get(name.upper())
        if match is None:
            raise ScpiError(-224, f"arb {name!r} not in volatile memory")
        return c.arbs[match]

    @scpi("[:SOURce#]:DATA:ATTRibute:{AVERage|CFACtor|POINts|PTPeak}", query=True, args=(0, 1))
    def _data_attribute(self, p: Params):
        samples = self._arb_named(self._c(p), p)
        which = p.alt[0]
        if which == "POIN":
            return f"{len(samples):+d}"
        if which == "AVER":
            return _nr3(float(np.mean(samples)))
        if which == "PTP":
            return _nr3(float(np.ptp(samples)))
        rms = float(np.sqrt(np.mean(samples**2)))
        return _nr3(float(np.max(np.abs(samples))) / rms if rms else 0.0)

    @scpi("[:SOURce#]:FUNCtion:ARBitrary")
    def _set_arb(self, p: Params):
        c = self._c(p)
        name = p.string(0, "arb name", allow_bare=True)
        match = {k.upper(): k for k in c.arbs}.get(name.upper())
        if match is None:
            raise ScpiError(-224, f"arb {name!r} not in volatile memory")
        c.arb_name = match
        self._apply_output(c.number)

    @scpi("[:SOURce#]:FUNCtion:ARBitrary", query=True)
    def _get_arb(self, p: Params):
        return f'"{self._c(p).arb_name}"'

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:POINts", query=True)
    def _get_arb_points(self, p: Params):
        c = self._c(p)
        return str(len(c.arbs[c.arb_name]))

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:{FREQuency|PERiod}")
    def _set_arb_rate(self, p: Params):
        c = self._c(p)
        n = len(c.arbs[c.arb_name])
        units = ("HZ",) if p.alt[0] == "FREQ" else ("S",)
        value = p.number(
            0,
            lo=1e-6 if p.alt[0] == "FREQ" else n / 250e6,
            hi=250e6 / n if p.alt[0] == "FREQ" else 1e6 * n,
            units=units,
            name="arb " + p.alt[0].lower(),
        )
        c.arb_srate = n * value if p.alt[0] == "FREQ" else n / value

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:{FREQuency|PERiod}", query=True)
    def _get_arb_rate(self, p: Params):
        c = self._c(p)
        n = len(c.arbs[c.arb_name])
        return _nr3(c.arb_srate / n if p.alt[0] == "FREQ" else n / c.arb_srate)

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:PTPeak")
    def _set_arb_ptp(self, p: Params):
        self._set_ampl(p)

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:PTPeak", query=True)
    def _get_arb_ptp(self, p: Params):
        return _nr3(self._c(p).ampl_vpp)

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:SYNChronize", args=(0, 0))
    @scpi("[:SOURce#]:PHASe:SYNChronize", args=(0, 0))
    @scpi("[:SOURce#]:PHASe:REFerence", args=(0, 0))
    def _phase_sync(self, p: Params):
        """Both channels restart at their phase: nothing to do between bursts."""

    @scpi("[:SOURce#]:LIST:FREQuency", args=(1, 128))
    def _set_list(self, p: Params):
        self._c(p).list_freqs = p.numbers(0, lo=1e-6, hi=30e6, name="list frequency")

    @scpi("[:SOURce#]:LIST:FREQuency", query=True)
    def _get_list(self, p: Params):
        freqs = self._c(p).list_freqs
        return ",".join(_nr3(f) for f in freqs) if freqs else _nr3(1e3)

    @scpi("[:SOURce#]:LIST:FREQuency:POINts", query=True)
    def _get_list_points(self, p: Params):
        return f"{max(1, len(self._c(p).list_freqs)):+d}"

    # ------------------------------------------------------------------ display, status, system
    @scpi(":DISPlay:TEXT:CLEar", args=(0, 0))
    def _clear_text(self, p: Params):
        self.s["display.text"] = ""

    @scpi(":SYSTem:BEEPer[:IMMediate]", args=(0, 0))
    def _beep(self, p: Params):
        """A beep has no physical effect on the bench."""

    @scpi(":SYSTem:VERSion", query=True)
    def _get_version(self, p: Params):
        return "1999.0"

    @scpi(":SYSTem:{DATE|TIME}", args=(3, 3))
    def _set_clock(self, p: Params):
        self.clock.set_from(p, p.alt[0])

    @scpi(":SYSTem:{DATE|TIME}", query=True)
    def _get_clock(self, p: Params):
        tm = self.clock.struct()
        if p.alt[0] == "DATE":
            return f"{tm.tm_year:+d},{tm.tm_mon:+d},{tm.tm_mday:+d}"
        return f"{tm.tm_hour:+d},{tm.tm_min:+d},{float(tm.tm_sec):+.3f}"

    _stat_enable = scpi(":STATus:{OPERation|QUEStionable}:ENABle")(status.enable_command())
    _stat_enable_q = scpi(":STATus:{OPERation|QUEStionable}:ENABle", query=True)(status.enable_query())
    _stat_event = scpi(":STATus:{OPERation|QUEStionable}[:EVENt]", query=True)(status.event_query())
    _stat_condition = scpi(":STATus:{OPERation|QUEStionable}:CONDition", query=True)(status.condition_query())
    _stat_preset = scpi(":STATus:PRESet", args=(0, 0))(status.preset_command())


def _dedupe_knots(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop a knot that repeats the previous one exactly (cycle joins)."""
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = (np.diff(t) != 0) | (np.diff(v) != 0)
    return t[keep], v[keep]
