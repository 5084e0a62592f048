"""Keysight 33522B (33500B series, two channels) function/arbitrary waveform generator.

Commands follow the 33500B series operating and service guide (SCPI chapter); they cover what
PyMeasure's ``Agilent33500`` driver and its channel class send, plus the arbitrary-waveform commands
our instruments layer uses:
- ``[SOURce[1|2]:]FUNCtion`` SIN/SQU/TRI/RAMP/PULS/PRBS/NOIS/ARB/DC, ``FREQuency``,
  ``VOLTage``/``VOLTage:OFFSet``/``:HIGH``/``:LOW``/``:UNIT``, ``PHASe``, square duty cycle, ramp
  symmetry, pulse ``PERiod``/``WIDTh``/``DCYCle``/``HOLD``/``TRANsition[:BOTH|:LEADing|:TRAiling]``;
- burst ``BURSt:STATe``/``MODE``/``NCYCles``/``INTernal:PERiod``/``PHASe``; ``TRIGger[1|2]:SOURce``
  IMM/EXT/TIM/BUS, ``TRIGger[1|2]`` (force), ``TRIGger[1|2]:DELay``, ``*TRG``;
- arbitrary waveforms: ``DATA:ARBitrary name, floats``, ``DATA:ARBitrary:DAC name, ints`` (also as
  binary blocks), ``DATA:VOLatile:CLEar``/``CATalog?``, ``FUNCtion:ARBitrary name``,
  ``FUNCtion:ARBitrary:SRATe``/``FILTer``/``ADVance``/``POINts?``;
- ``OUTPut[1|2]`` on/off, ``OUTPut[1|2]:LOAD`` 1 Ohm..10 kOhm or INF, ``OUTPut:SYNC``,
  ``OUTPut:TRIGger``, ``DISPlay:TEXT``, ``SYSTem:BEEPer``, ``PHASe:SYNChronize``.

Limits enforced as the instrument does (values outside queue -222 and change nothing): amplitude and
offset against the load (|offset| + Vpp/2 <= 10 V * R/(R + 50 Ohm): 5 V into 50 Ohm, 10 V open),
1 mVpp minimum, pulse width >= 16 ns and <= period - 16 ns, edge times 8.4 ns..1 us and <= 0.625 x
width, frequency 1 uHz..30 MHz (200 kHz for triangle/ramp). Changing the period so that the width no
longer fits shortens the width (and edges) without an error, as the manual says the instrument does.

Physics: the output is a 50 Ohm source. The programmed voltages assume the load set by
``OUTPut:LOAD``, so the EMF played into the bench is the programmed voltage x (R + 50)/R (x 1 for
INF). A triggered burst (``*TRG`` with ``TRIG:SOUR BUS``, or ``TRIG``) is built as a piecewise-linear
waveform (pulses with their edges, sines as 64 segments a cycle, arbitrary samples at the sample
rate, stepped for ``FILTer STEP|OFF``) and played with ``bench.play`` (it advances the virtual clock
by the burst's length and triggers an armed scope through the sync output). Between bursts, or with
the DC function, the output holds its idle level (the waveform's value at the start phase) through
``bench.set_source``; an output that is off is high impedance.

Limitations, stated: a free-running output (burst off, or burst with ``TRIG:SOUR IMM``/``TIM``)
cannot be played by the bench, which has no periodic-source call; such an output holds its idle
level (``free_running`` is True). Two wired channels triggered together play one after the other.
Not verified on hardware: reply digits (``%+.15E``), the error code for a duplicate arb name
(-221 here), the idle level between bursts, the 12-character arb-name limit.
"""

from __future__ import annotations

import math

import numpy as np

from .benchlink import BenchLink
from .engine import ScpiInstrument, scpi
from .errors import ScpiError
from .params import Choice, Params

R_OUT_OHM = 50.0
EMF_MAX_V = 10.0
MIN_WIDTH_S = 16e-9
EDGE_MIN_S = 8.4e-9
EDGE_MAX_S = 1e-6
SQUARE_EDGE_S = 8.4e-9
FREQ_MAX_HZ = {"SIN": 30e6, "SQU": 30e6, "PULS": 30e6, "TRI": 200e3, "RAMP": 200e3,
               "ARB": 30e6, "PRBS": 30e6, "NOIS": 30e6, "DC": 30e6}
MAX_KNOTS_PER_PLAY = 200_000
INF_OHM = 9.9e37

_FUNCS = Choice(["SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe", "ARBitrary",
                 "DC"])


def _nr3(x: float) -> str:
    return f"{x:+.15E}"


class Channel:
    """Settings of one output channel (SI units; ``load_ohm`` is inf for INF)."""

    def __init__(self, number: int):
        self.number = number
        self.func = "SIN"
        self.freq_hz = 1e3
        self.ampl_vpp = 0.1
        self.offset_v = 0.0
        self.unit = "VPP"
        self.phase_deg = 0.0
        self.square_dcyc = 50.0
        self.ramp_symm = 100.0
        self.pulse_width_s = 100e-6
        self.lead_s = 10e-9
        self.trail_s = 10e-9
        self.pulse_hold = "WIDT"
        self.burst = False
        self.burst_mode = "TRIG"
        self.burst_ncyc = 1
        self.burst_period_s = 0.01
        self.burst_phase_deg = 0.0
        self.trig_source = "IMM"
        self.trig_delay_s = 0.0
        self.trig_slope = "POS"
        self.trig_timer_s = 1e-3
        self.output = False
        self.load_ohm = 50.0
        self.polarity = "NORM"
        self.sync = True
        self.arb_name = "INT:\\BUILTIN\\EXP_RISE.ARB"
        self.arb_srate = 40e3
        self.arb_filter = "NORM"
        self.arb_adv = "SRAT"
        self.arbs: dict[str, np.ndarray] = {}
        self.arbs["INT:\\BUILTIN\\EXP_RISE.ARB"] = 1 - 2 * np.exp(-np.linspace(0, 5, 64))

    @property
    def period_s(self) -> float:
        return 1.0 / self.freq_hz

    @property
    def high_v(self) -> float:
        return self.offset_v + self.ampl_vpp / 2

    @property
    def low_v(self) -> float:
        return self.offset_v - self.ampl_vpp / 2

    def vmax_v(self, load_ohm: float | None = None) -> float:
        """Largest |voltage| at the load for the load setting (10 V EMF through 50 Ohm)."""
        r = self.load_ohm if load_ohm is None else load_ohm
        return EMF_MAX_V if math.isinf(r) else EMF_MAX_V * r / (r + R_OUT_OHM)

    def emf_factor(self) -> float:
        r = self.load_ohm
        return 1.0 if math.isinf(r) else (r + R_OUT_OHM) / r


class Keysight33522B(ScpiInstrument):
    """Keysight 33522B; ``bench_names`` maps channel number to the bench terminal (None: unwired)."""

    model = "Keysight 33522B"
    idn = "Keysight Technologies,33522B,MY57000001,4.00-1.19-2.00-58-00"
    error_queue_size = 20

    def __init__(self, bench=None, resource_name: str = "GPIB0::10::INSTR", *,
                 bench_names: dict[int, str | None] | None = None):
        if bench_names is None:
            bench_names = {1: "awg", 2: None}
        self.links = {ch: BenchLink(bench, bench_names.get(ch)) for ch in (1, 2)}
        self.free_running = {1: False, 2: False}
        super().__init__(resource_name)

    def _rst_state(self) -> None:
        self.ch = {1: Channel(1), 2: Channel(2)}
        self.byte_order = "NORM"
        self.display_text = ""
        self.trig_out = False
        for n in (1, 2):
            self._apply_output(n)

    def format_error(self, code: int, message: str) -> str:
        return f'{code:+d},"{message}"'

    # ------------------------------------------------------------------ helpers
    def _c(self, p: Params, k: int = 0) -> Channel:
        n = p.sfx[k] if p.sfx else 1
        if n not in (1, 2):
            raise ScpiError(-113, f"channel {n}")
        return self.ch[n]

    def _check_levels(self, c: Channel, ampl: float, offset: float, load: float | None = None) -> None:
        vmax = c.vmax_v(load)
        if c.func == "DC":
            if abs(offset) > vmax + 1e-12:
                raise ScpiError(-222, f"DC level {offset:g} V beyond +-{vmax:g} V for this load")
            return
        amin = 1e-3 * (vmax / 5.0)
        if ampl < amin - 1e-15 or ampl > 2 * vmax + 1e-12:
            raise ScpiError(-222, f"amplitude {ampl:g} Vpp outside [{amin:g}, {2 * vmax:g}]")
        if abs(offset) + ampl / 2 > vmax + 1e-12:
            raise ScpiError(-222, f"|offset| + amplitude/2 = {abs(offset) + ampl / 2:g} V "
                                  f"beyond {vmax:g} V for this load")

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
            return t, c.offset_v + (hi - c.offset_v) * np.sin(2 * np.pi * t / c.period_s
                                                               + np.radians(c.phase_deg))
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
        self.free_running[n] = c.output and c.func != "DC" and not (
            c.burst and c.trig_source in ("BUS", "EXT"))
        if not c.output:
            link.set_source(enabled=False)
            return
        link.set_source(enabled=True, level_v=self._idle_level_v(c) * c.emf_factor(),
                        r_series_ohm=R_OUT_OHM)

    def _fire(self, n: int) -> None:
        """Play one triggered burst of channel ``n`` (N cycles after the trigger delay)."""
        c = self.ch[n]
        if not (c.output and c.burst) or c.func in ("DC", "NOIS", "PRBS"):
            return
        link = self.links[n]
        t1, v1 = self._one_cycle(c)
        length = self._cycle_length_s(c)
        emf = c.emf_factor()
        idle = v1[0]
        per_play = max(1, MAX_KNOTS_PER_PLAY // len(t1))
        if c.trig_delay_s > 0:
            link.wait(c.trig_delay_s)
        remaining = c.burst_ncyc
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

    # ------------------------------------------------------------------ function and levels
    @scpi("[:SOURce#]:FUNCtion[:SHAPe]")
    def _set_func(self, p: Params):
        c = self._c(p)
        func = p.choice(0, _FUNCS, "function")
        if c.burst and func in ("DC", "NOIS", "PRBS"):
            raise ScpiError(-221, f"{func} not allowed with burst on")
        if func != "DC" and func != c.func:
            ampl = min(c.ampl_vpp, 2 * c.vmax_v())
            if abs(c.offset_v) + ampl / 2 > c.vmax_v():
                raise ScpiError(-221, "offset too large for this function's amplitude")
        if c.freq_hz > FREQ_MAX_HZ[func]:
            c.freq_hz = FREQ_MAX_HZ[func]
        c.func = func
        self._apply_output(c.number)

    @scpi("[:SOURce#]:FUNCtion[:SHAPe]", query=True)
    def _get_func(self, p: Params):
        return self._c(p).func

    @scpi("[:SOURce#]:FREQuency[:CW]")
    def _set_freq(self, p: Params):
        c = self._c(p)
        f = p.number(0, lo=1e-6, hi=FREQ_MAX_HZ[c.func], default=1e3, units=("HZ",),
                     name="frequency")
        self._set_period(c, 1.0 / f)

    @scpi("[:SOURce#]:FREQuency[:CW]", query=True, args=(0, 1))
    def _get_freq(self, p: Params):
        c = self._c(p)
        if p.has(0):
            return _nr3(p.number(0, lo=1e-6, hi=FREQ_MAX_HZ[c.func], default=1e3))
        return _nr3(c.freq_hz)

    def _set_period(self, c: Channel, period: float) -> None:
        """New period; a pulse width or edge that no longer fits is shortened (no error: the
        manual says the instrument adjusts them to accommodate the period)."""
        if c.func == "PULS":
            if c.pulse_hold == "DCYC":
                c.pulse_width_s *= period / c.period_s
            if c.pulse_width_s > period - MIN_WIDTH_S:
                c.pulse_width_s = max(MIN_WIDTH_S, period - MIN_WIDTH_S)
            edge_max = max(EDGE_MIN_S, 0.625 * c.pulse_width_s)
            c.lead_s = min(c.lead_s, edge_max)
            c.trail_s = min(c.trail_s, edge_max)
        c.freq_hz = 1.0 / period
        self._apply_output(c.number)

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_ampl(self, p: Params):
        c = self._c(p)
        vmax = c.vmax_v()
        ampl = p.number(0, lo=1e-3 * vmax / 5, hi=2 * vmax, default=0.1, units=("VPP", "V"),
                        name="amplitude")
        self._check_levels(c, ampl, c.offset_v)
        c.ampl_vpp = ampl
        self._apply_output(c.number)

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", query=True, args=(0, 1))
    def _get_ampl(self, p: Params):
        c = self._c(p)
        if p.has(0):
            vmax = c.vmax_v()
            return _nr3(p.number(0, lo=1e-3 * vmax / 5, hi=2 * vmax, default=0.1))
        return _nr3(c.ampl_vpp)

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:OFFSet")
    def _set_offset(self, p: Params):
        c = self._c(p)
        vmax = c.vmax_v()
        off = p.number(0, lo=-vmax, hi=vmax, default=0.0, units=("V",), name="offset")
        self._check_levels(c, c.ampl_vpp, off)
        c.offset_v = off
        self._apply_output(c.number)

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:OFFSet", query=True)
    def _get_offset(self, p: Params):
        return _nr3(self._c(p).offset_v)

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

    @scpi("[:SOURce#]:VOLTage[:LEVel][:IMMediate]:{HIGH|LOW}", query=True)
    def _get_high_low(self, p: Params):
        c = self._c(p)
        return _nr3(c.high_v if p.alt[0] == "HIGH" else c.low_v)

    @scpi("[:SOURce#]:VOLTage:UNIT")
    def _set_unit(self, p: Params):
        unit = p.choice(0, ["VPP", "VRMS", "DBM"], "amplitude unit")
        if unit != "VPP":
            raise ScpiError(-221, "only VPP amplitudes are emulated")
        self._c(p).unit = unit

    @scpi("[:SOURce#]:VOLTage:UNIT", query=True)
    def _get_unit(self, p: Params):
        return self._c(p).unit

    @scpi("[:SOURce#]:PHASe[:ADJust]")
    def _set_phase(self, p: Params):
        self._c(p).phase_deg = p.number(0, lo=-360.0, hi=360.0, default=0.0, units=("DEG",),
                                        name="phase")

    @scpi("[:SOURce#]:PHASe[:ADJust]", query=True)
    def _get_phase(self, p: Params):
        return _nr3(self._c(p).phase_deg)

    @scpi("[:SOURce#]:PHASe:SYNChronize", args=(0, 0))
    def _phase_sync(self, p: Params):
        """Both channels restart at their phase: nothing to do between bursts."""

    @scpi("[:SOURce#]:FUNCtion:SQUare:DCYCle")
    def _set_square_dcyc(self, p: Params):
        self._c(p).square_dcyc = p.number(0, lo=0.01, hi=99.99, default=50.0, units=("PCT",),
                                          name="duty cycle")

    @scpi("[:SOURce#]:FUNCtion:SQUare:DCYCle", query=True)
    def _get_square_dcyc(self, p: Params):
        return _nr3(self._c(p).square_dcyc)

    @scpi("[:SOURce#]:FUNCtion:RAMP:SYMMetry")
    def _set_ramp_symm(self, p: Params):
        self._c(p).ramp_symm = p.number(0, lo=0.0, hi=100.0, default=100.0, units=("PCT",),
                                        name="symmetry")

    @scpi("[:SOURce#]:FUNCtion:RAMP:SYMMetry", query=True)
    def _get_ramp_symm(self, p: Params):
        return _nr3(self._c(p).ramp_symm)

    # ------------------------------------------------------------------ pulse
    @scpi("[:SOURce#]:FUNCtion:PULSe:PERiod")
    def _set_pulse_period(self, p: Params):
        c = self._c(p)
        period = p.number(0, lo=1.0 / FREQ_MAX_HZ["PULS"], hi=1e6, default=1e-3, units=("S",),
                          name="pulse period")
        self._set_period(c, period)

    @scpi("[:SOURce#]:FUNCtion:PULSe:PERiod", query=True)
    def _get_pulse_period(self, p: Params):
        return _nr3(self._c(p).period_s)

    @scpi("[:SOURce#]:FUNCtion:PULSe:WIDTh")
    def _set_pulse_width(self, p: Params):
        c = self._c(p)
        width = p.number(0, lo=MIN_WIDTH_S, hi=1e6, default=100e-6, units=("S",),
                         name="pulse width")
        self._check_pulse(c, width, c.lead_s, c.trail_s, c.period_s)
        c.pulse_width_s = width
        self._apply_output(c.number)

    @scpi("[:SOURce#]:FUNCtion:PULSe:WIDTh", query=True)
    def _get_pulse_width(self, p: Params):
        return _nr3(self._c(p).pulse_width_s)

    @scpi("[:SOURce#]:FUNCtion:PULSe:DCYCle")
    def _set_pulse_dcyc(self, p: Params):
        c = self._c(p)
        dcyc = p.number(0, lo=0.0, hi=100.0, default=10.0, units=("PCT",), name="duty cycle")
        width = c.period_s * dcyc / 100
        self._check_pulse(c, width, c.lead_s, c.trail_s, c.period_s)
        c.pulse_width_s = width

    @scpi("[:SOURce#]:FUNCtion:PULSe:DCYCle", query=True)
    def _get_pulse_dcyc(self, p: Params):
        c = self._c(p)
        return _nr3(100 * c.pulse_width_s / c.period_s)

    @scpi("[:SOURce#]:FUNCtion:PULSe:HOLD")
    def _set_pulse_hold(self, p: Params):
        self._c(p).pulse_hold = p.choice(0, ["WIDTh", "DCYCle"], "pulse hold")

    @scpi("[:SOURce#]:FUNCtion:PULSe:HOLD", query=True)
    def _get_pulse_hold(self, p: Params):
        return self._c(p).pulse_hold

    @scpi("[:SOURce#]:FUNCtion:PULSe:TRANsition[:BOTH]")
    @scpi("[:SOURce#]:FUNCtion:PULSe:TRANsition:{LEADing|TRAiling}")
    def _set_edges(self, p: Params):
        c = self._c(p)
        edge = p.number(0, lo=EDGE_MIN_S, hi=EDGE_MAX_S, default=10e-9, units=("S",),
                        name="edge time")
        which = p.alt[0] if p.alt else "BOTH"
        lead = edge if which in ("BOTH", "LEAD") else c.lead_s
        trail = edge if which in ("BOTH", "TRA") else c.trail_s
        self._check_pulse(c, c.pulse_width_s, lead, trail, c.period_s)
        c.lead_s, c.trail_s = lead, trail
        self._apply_output(c.number)

    @scpi("[:SOURce#]:FUNCtion:PULSe:TRANsition[:LEADing]", query=True)
    def _get_lead(self, p: Params):
        return _nr3(self._c(p).lead_s)

    @scpi("[:SOURce#]:FUNCtion:PULSe:TRANsition:TRAiling", query=True)
    def _get_trail(self, p: Params):
        return _nr3(self._c(p).trail_s)

    # ------------------------------------------------------------------ burst and trigger
    @scpi("[:SOURce#]:BURSt:STATe")
    def _set_burst(self, p: Params):
        c = self._c(p)
        state = p.boolean(0, "burst state")
        if state and c.func in ("DC", "NOIS", "PRBS"):
            raise ScpiError(-221, f"burst not available for {c.func}")
        c.burst = state
        self._apply_output(c.number)

    @scpi("[:SOURce#]:BURSt:STATe", query=True)
    def _get_burst(self, p: Params):
        return "1" if self._c(p).burst else "0"

    @scpi("[:SOURce#]:BURSt:MODE")
    def _set_burst_mode(self, p: Params):
        self._c(p).burst_mode = p.choice(0, ["TRIGgered", "GATed"], "burst mode")

    @scpi("[:SOURce#]:BURSt:MODE", query=True)
    def _get_burst_mode(self, p: Params):
        return self._c(p).burst_mode

    @scpi("[:SOURce#]:BURSt:NCYCles")
    def _set_ncyc(self, p: Params):
        self._c(p).burst_ncyc = p.integer(0, lo=1, hi=100_000_000, default=1,
                                          name="burst cycles")

    @scpi("[:SOURce#]:BURSt:NCYCles", query=True)
    def _get_ncyc(self, p: Params):
        return _nr3(self._c(p).burst_ncyc)

    @scpi("[:SOURce#]:BURSt:INTernal:PERiod")
    def _set_burst_period(self, p: Params):
        self._c(p).burst_period_s = p.number(0, lo=1e-6, hi=8000.0, default=0.01, units=("S",),
                                             name="burst period")

    @scpi("[:SOURce#]:BURSt:INTernal:PERiod", query=True)
    def _get_burst_period(self, p: Params):
        return _nr3(self._c(p).burst_period_s)

    @scpi("[:SOURce#]:BURSt:PHASe")
    def _set_burst_phase(self, p: Params):
        self._c(p).burst_phase_deg = p.number(0, lo=-360.0, hi=360.0, default=0.0,
                                              units=("DEG",), name="burst phase")

    @scpi("[:SOURce#]:BURSt:PHASe", query=True)
    def _get_burst_phase(self, p: Params):
        return _nr3(self._c(p).burst_phase_deg)

    @scpi(":TRIGger#:SOURce")
    def _set_trig_source(self, p: Params):
        c = self._c(p)
        c.trig_source = p.choice(0, ["IMMediate", "EXTernal", "TIMer", "BUS"], "trigger source")
        self._apply_output(c.number)

    @scpi(":TRIGger#:SOURce", query=True)
    def _get_trig_source(self, p: Params):
        return self._c(p).trig_source

    @scpi(":TRIGger#[:IMMediate]", args=(0, 0))
    def _trig_now(self, p: Params):
        self._fire(self._c(p).number)

    @scpi(":TRIGger#:DELay")
    def _set_trig_delay(self, p: Params):
        self._c(p).trig_delay_s = p.number(0, lo=0.0, hi=1000.0, default=0.0, units=("S",),
                                           name="trigger delay")

    @scpi(":TRIGger#:DELay", query=True)
    def _get_trig_delay(self, p: Params):
        return _nr3(self._c(p).trig_delay_s)

    @scpi(":TRIGger#:SLOPe")
    def _set_trig_slope(self, p: Params):
        self._c(p).trig_slope = p.choice(0, ["POSitive", "NEGative"], "trigger slope")

    @scpi(":TRIGger#:SLOPe", query=True)
    def _get_trig_slope(self, p: Params):
        return self._c(p).trig_slope

    @scpi(":TRIGger#:TIMer")
    def _set_trig_timer(self, p: Params):
        self._c(p).trig_timer_s = p.number(0, lo=1e-6, hi=8000.0, default=1e-3, units=("S",),
                                           name="trigger timer")

    @scpi(":TRIGger#:TIMer", query=True)
    def _get_trig_timer(self, p: Params):
        return _nr3(self._c(p).trig_timer_s)

    # ------------------------------------------------------------------ output
    @scpi(":OUTPut#[:STATe]")
    def _set_output(self, p: Params):
        c = self._c(p)
        c.output = p.boolean(0, "output state")
        self._apply_output(c.number)

    @scpi(":OUTPut#[:STATe]", query=True)
    def _get_output(self, p: Params):
        return "1" if self._c(p).output else "0"

    @scpi(":OUTPut#:LOAD")
    def _set_load(self, p: Params):
        c = self._c(p)
        load = p.number(0, lo=1.0, hi=10e3, default=50.0, units=("OHM",),
                        specials={"INFinity": math.inf}, name="load")
        # the physical output stays: the displayed (programmed) voltages follow the new load
        old_factor = c.emf_factor()
        c.load_ohm = load
        scale = old_factor / c.emf_factor()
        c.ampl_vpp *= scale
        c.offset_v *= scale
        self._apply_output(c.number)

    @scpi(":OUTPut#:LOAD", query=True)
    def _get_load(self, p: Params):
        r = self._c(p).load_ohm
        return _nr3(INF_OHM if math.isinf(r) else r)

    @scpi(":OUTPut#:POLarity")
    def _set_polarity(self, p: Params):
        c = self._c(p)
        c.polarity = p.choice(0, ["NORMal", "INVerted"], "polarity")
        self._apply_output(c.number)

    @scpi(":OUTPut#:POLarity", query=True)
    def _get_polarity(self, p: Params):
        return self._c(p).polarity

    @scpi(":OUTPut#:SYNC[:STATe]")
    def _set_sync(self, p: Params):
        self._c(p).sync = p.boolean(0, "sync state")

    @scpi(":OUTPut#:SYNC[:STATe]", query=True)
    def _get_sync(self, p: Params):
        return "1" if self._c(p).sync else "0"

    @scpi(":OUTPut:SYNC:SOURce")
    def _set_sync_source(self, p: Params):
        self.sync_source = p.choice(0, ["CH1", "CH2"], "sync source")

    @scpi(":OUTPut:SYNC:SOURce", query=True)
    def _get_sync_source(self, p: Params):
        return getattr(self, "sync_source", "CH1")

    @scpi(":OUTPut:TRIGger[:STATe]")
    def _set_trig_out(self, p: Params):
        self.trig_out = p.boolean(0, "trigger out state")

    @scpi(":OUTPut:TRIGger[:STATe]", query=True)
    def _get_trig_out(self, p: Params):
        return "1" if self.trig_out else "0"

    # ------------------------------------------------------------------ arbitrary waveforms
    def _store_arb(self, c: Channel, name: str, samples: np.ndarray) -> None:
        if len(name) > 12:
            raise ScpiError(-224, f"arb name {name!r} longer than 12 characters")
        if not 8 <= len(samples) <= 1_000_000:
            raise ScpiError(-222, f"{len(samples)} points; an arb has 8 to 1000000")
        if name.upper() in {k.upper() for k in c.arbs}:
            raise ScpiError(-221, f"arb {name!r} already in volatile memory")
        c.arbs[name] = samples

    @scpi("[:SOURce#]:DATA:ARBitrary#:DAC", args=(2, 1_000_001))
    def _data_dac(self, p: Params):
        c = self._c(p)
        name = p.mnemonic(0, "arb name")
        if len(p) == 2 and p.tokens[1].startswith("#"):
            raw = p.block(1).encode("latin-1")
            fmt = ">" if self.byte_order == "NORM" else "<"
            values = np.frombuffer(raw[: len(raw) // 2 * 2], dtype=np.dtype(fmt + "i2"))
            values = values.astype(float)
            if np.any(np.abs(values) > 32767):
                raise ScpiError(-222, "DAC values must lie in -32767..32767")
        else:
            values = np.asarray(p.numbers(1, lo=-32767, hi=32767, name="DAC value"))
        self._store_arb(c, name, values / 32767.0)

    @scpi("[:SOURce#]:DATA:ARBitrary#", args=(2, 1_000_001))
    def _data_float(self, p: Params):
        c = self._c(p)
        name = p.mnemonic(0, "arb name")
        if len(p) == 2 and p.tokens[1].startswith("#"):
            raw = p.block(1).encode("latin-1")
            fmt = ">" if self.byte_order == "NORM" else "<"
            values = np.frombuffer(raw[: len(raw) // 4 * 4], dtype=np.dtype(fmt + "f4"))
            values = values.astype(float)
            if np.any(~np.isfinite(values)) or np.any(np.abs(values) > 1.0):
                raise ScpiError(-222, "arb values must lie in -1..1")
        else:
            values = np.asarray(p.numbers(1, lo=-1.0, hi=1.0, name="arb value"))
        self._store_arb(c, name, values)

    @scpi("[:SOURce#]:DATA:VOLatile:CLEar", args=(0, 0))
    def _data_clear(self, p: Params):
        c = self._c(p)
        c.arbs = {k: v for k, v in c.arbs.items() if k.startswith("INT:")}
        if c.arb_name not in c.arbs:
            c.arb_name = "INT:\\BUILTIN\\EXP_RISE.ARB"

    @scpi("[:SOURce#]:DATA:VOLatile:CATalog", query=True)
    def _data_catalog(self, p: Params):
        names = [k for k in self._c(p).arbs if not k.startswith("INT:")]
        return ",".join(f'"{k}"' for k in names) if names else '""'

    @scpi("[:SOURce#]:DATA:VOLatile:FREE", query=True)
    def _data_free(self, p: Params):
        used = sum(len(v) for k, v in self._c(p).arbs.items() if not k.startswith("INT:"))
        return str(max(0, 1_000_000 - used))

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

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:SRATe")
    def _set_srate(self, p: Params):
        self._c(p).arb_srate = p.number(0, lo=1e-6, hi=250e6, default=40e3, units=("SA/S", "HZ"),
                                        name="sample rate")

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:SRATe", query=True)
    def _get_srate(self, p: Params):
        return _nr3(self._c(p).arb_srate)

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:FILTer")
    def _set_arb_filter(self, p: Params):
        self._c(p).arb_filter = p.choice(0, ["NORMal", "STEP", "OFF"], "arb filter")

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:FILTer", query=True)
    def _get_arb_filter(self, p: Params):
        return self._c(p).arb_filter

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:ADVance")
    def _set_arb_adv(self, p: Params):
        self._c(p).arb_adv = p.choice(0, ["TRIGger", "SRATe"], "arb advance")

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:ADVance", query=True)
    def _get_arb_adv(self, p: Params):
        return self._c(p).arb_adv

    @scpi("[:SOURce#]:FUNCtion:ARBitrary:POINts", query=True)
    def _get_arb_points(self, p: Params):
        c = self._c(p)
        return str(len(c.arbs[c.arb_name]))

    @scpi(":FORMat:BORDer")
    def _set_border(self, p: Params):
        self.byte_order = p.choice(0, ["NORMal", "SWAPped"], "byte order")

    @scpi(":FORMat:BORDer", query=True)
    def _get_border(self, p: Params):
        return self.byte_order

    # ------------------------------------------------------------------ display and system
    @scpi(":DISPlay:TEXT[:DATA]")
    def _set_text(self, p: Params):
        self.display_text = p.string(0, "display text")

    @scpi(":DISPlay:TEXT[:DATA]", query=True)
    def _get_text(self, p: Params):
        return '"' + self.display_text.replace('"', '""') + '"'

    @scpi(":DISPlay:TEXT:CLEar", args=(0, 0))
    def _clear_text(self, p: Params):
        self.display_text = ""

    @scpi(":SYSTem:BEEPer[:IMMediate]", args=(0, 0))
    def _beep(self, p: Params):
        """A beep has no physical effect on the bench."""


def _dedupe_knots(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop a knot that repeats the previous one exactly (cycle joins)."""
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = (np.diff(t) != 0) | (np.diff(v) != 0)
    return t[keep], v[keep]

