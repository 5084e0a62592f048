"""Measurement steps shared by the TS-PCM procedures, written against instrument roles.

Every function takes an open :class:`tspcm_lab.bench.Bench` and talks to the cell only through its
roles (``bench.smu``, ``bench.pulse``, ``bench.scope``); each leaves the outputs it used off. Units
are SI and part of every name; the conductance is spelt ``_S`` (siemens) so that it is never read
as seconds (``_s``). Stable API (other procedure modules build on it):

Resistances of the bench wiring (from the bench *file*, nothing is queried)
    ``sense_resistance_ohm(bench)``, ``path_resistance_ohm(bench, role="smu")``

The conductance read (see READ_METHOD_TEXT for the why)
    ``read_conductance(bench, *, fire_voltage_v=2.0, fire_compliance_a=10e-6, low_voltage_v=0.8,
    high_voltage_v=0.9, compliance_a=100e-6, ts_on_resistance_ohm=5000, ...) -> ConductanceRead``
    ``ConductanceReadMixin``: the read's PyMeasure parameters and ``self.read()`` for a procedure

The cell threshold
    ``measure_threshold(bench, *, stop_voltage_v=2.5, step_v=0.01, compliance_a=10e-6, hold=False,
    ...) -> ThresholdSweep`` (a compliance-limited SMU ramp; Vth where the current jumps)
    ``measure_pulse_threshold(bench, *, start_voltage_v=0.8, stop_voltage_v=2.2, step_v=0.02,
    width_s=50e-9, fire_current_a=50e-6) -> PulseThreshold`` (single-pulse ladder with scope capture)

Pulses from the pulse generator
    ``apply_pulses(bench, amplitude_v, width_s, *, count=1, period_s=None, edge_s=None)``,
    ``set_pulse(bench, amplitude_v=SET_AMPLITUDE_V, width_s=SET_WIDTH_S, ...)``,
    ``reset_pulse(bench, amplitude_v=RESET_AMPLITUDE_V, width_s=RESET_WIDTH_S, ...)``

Program and verify
    ``program_to_target(bench, g_target_S, *, tolerance=0.15, max_pulses=60, ...) -> ProgramResult``

Time
    ``bench_clock(bench) -> Clock`` with ``now_s()`` and ``wait(duration_s, should_stop=None)``:
    virtual time on the in-process simulated bench (a 1e4 s wait is instant), wall time elsewhere.

Firing events in a captured current trace
    ``rising_edges(current_a, threshold_a, *, rearm_fraction=0.5) -> indices``,
    ``count_firing_events(current_a, threshold_a, ...) -> int``,
    ``firing_times_s(t_s, current_a, threshold_a, ...)``,
    ``events_per_window(t_s, current_a, threshold_a, starts_s, length_s, ...) -> counts``

Defaults are those that work on the simulated bench (docs/procedures.md gives the numbers) and stay
within what a TS-PCM cell tolerates: reads fire under 10 uA and read at tens of uW at most, ramps under 10 uA.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
from pymeasure.experiment import FloatParameter

from procedures.base import ParameterError, role_limit

if TYPE_CHECKING:  # pragma: no cover
    from tspcm_lab.bench import Bench

StopCheck = Callable[[], bool] | None

# ------------------------------------------------------------------------------------------ defaults
#: read: fire the TS under a low compliance, then two ON-branch levels (see READ_METHOD_TEXT)
READ_FIRE_VOLTAGE_V = 2.0
READ_FIRE_COMPLIANCE_A = 10e-6
READ_LOW_VOLTAGE_V = 0.8
READ_HIGH_VOLTAGE_V = 0.9
READ_COMPLIANCE_A = 100e-6
READ_TS_ON_RESISTANCE_OHM = 5000.0
READ_MIN_CURRENT_A = 50e-9
READ_NPLC = 0.1
#: potentiation pulse on the pulse generator (AWG path, 100 Ohm on the simulated bench): heats a firing
#: RESET-side cell into its crystallization window without melting it
SET_AMPLITUDE_V = 1.8
SET_WIDTH_S = 100e-9
#: depression pulse: melt-quench, fast fall; 2.5 V melts the whole dome of any state, below ~1600 K
RESET_AMPLITUDE_V = 2.5
RESET_WIDTH_S = 100e-9
#: threshold ramp: compliance low enough not to heat the PCM (10 uA: a few kelvin)
THRESHOLD_COMPLIANCE_A = 10e-6

READ_METHOD_TEXT = (
    "Two-point ON-branch read with the SMU: (1) fire the threshold switch with one reading at "
    "read_fire_voltage_V under read_fire_compliance_A (a few uW: the PCM is neither heated nor "
    "programmed); (2) raise the compliance to read_compliance_A and, with the output still on, read at "
    "read_low_voltage_V and read_high_voltage_V (NPLC read_nplc), both above the TS's hold voltage and "
    "below the amorphous part's hold and threshold voltages, so the TS stays on and the PCM is ohmic. "
    "The slope gives the series resistance of the on branch, R = dV/dI; G = 1 / (R - R_series - R_on,TS) "
    "with R_series the SMU path (the bench file's [smu] series_resistance, or read_series_resistance_ohm) "
    "and R_on,TS = read_ts_on_resistance_ohm. The hold voltage cancels in the slope. Valid while the TS "
    "holds at the low level (current >= read_min_current_A): down to ~0.7 uS on the simulated cell; "
    "below, the read reports NaN (not a wrong number). Towards the crystalline end the PCM is a small "
    "part of R and the read's precision follows R_on,TS's (~5-10 % at 2 mS on the simulated cell)."
)


# ------------------------------------------------------------------------------------------ wiring
def sense_resistance_ohm(bench: "Bench") -> float:
    """The scope's sense resistor at the bottom electrode (Ohm), 0 when the bench has no scope."""
    scope = bench.config.roles.get("scope")
    return float(scope.sense_resistance_ohm or 0.0) if scope is not None else 0.0


def path_resistance_ohm(bench: "Bench", role: str = "smu") -> float:
    """Series resistance between ``role``'s output and the cell (Ohm): the bench file's
    ``series_resistance`` of that role, which states the whole path (series resistor, output
    impedance and the scope's sense resistor: 1050 Ohm SMU, 100 Ohm AWG on the simulated bench)."""
    config = bench.config.roles.get(role)
    return float(config.series_resistance_ohm or 0.0) if config is not None else 0.0


# ------------------------------------------------------------------------------------------ read
@dataclass(frozen=True)
class ConductanceRead:
    """One two-point ON-branch read of the PCM conductance through the SMU."""

    conductance_S: float  #: G (S); NaN when the TS did not hold at the low level or the slope is not usable
    current_low_A: float  #: SMU current at the low read level (A)
    current_high_A: float  #: SMU current at the high read level (A)
    voltage_low_V: float  #: SMU terminal voltage at the low read level (V, source readback)
    voltage_high_V: float
    series_resistance_ohm: float
    ts_on_resistance_ohm: float
    reason: str = ""  #: why the read is NaN ("" when valid)

    @property
    def resistance_ohm(self) -> float:
        return 1.0 / self.conductance_S if self.conductance_S > 0 else math.nan

    @property
    def current_A(self) -> float:
        """The SMU current at the high read level (A)."""
        return self.current_high_A

    @property
    def voltage_V(self) -> float:
        """The SMU terminal voltage at the high read level (V)."""
        return self.voltage_high_V


def conductance_from_read(voltages_v, currents_a, *, series_resistance_ohm: float, ts_on_resistance_ohm: float,
                          min_current_a: float = READ_MIN_CURRENT_A,
                          compliance_a: float | None = None) -> tuple[float, str]:
    """(G in S, reason) of a two-point ON-branch read: G = 1 / (dV/dI - R_series - R_on,TS).

    NaN with a reason when the low-level current is below ``min_current_a`` (the TS did not hold: the
    cell is below the read range), a level sat at the compliance (above the read range), or the slope is
    not positive or leaves no resistance for the PCM."""
    (v1, v2), (i1, i2) = voltages_v, currents_a
    if not (abs(i1) >= min_current_a):
        return math.nan, f"below the read range: {abs(i1):.3g} A at the low level, under {min_current_a:g} A (the TS did not hold)"
    if compliance_a is not None and max(abs(i1), abs(i2)) >= 0.98 * compliance_a:
        return math.nan, f"above the read range: the read reached its compliance {compliance_a:g} A"
    di, dv = i2 - i1, v2 - v1
    if not (di > 0 and dv > 0):
        return math.nan, f"no usable slope ({di:.3g} A over {dv:.3g} V)"
    r_pcm = dv / di - series_resistance_ohm - ts_on_resistance_ohm
    if not r_pcm > 0:
        return math.nan, f"the on-branch resistance {dv / di:.4g} Ohm leaves none for the PCM"
    return 1.0 / r_pcm, ""


def read_conductance(bench: "Bench", *, fire_voltage_v: float = READ_FIRE_VOLTAGE_V,
                     fire_compliance_a: float = READ_FIRE_COMPLIANCE_A, low_voltage_v: float = READ_LOW_VOLTAGE_V,
                     high_voltage_v: float = READ_HIGH_VOLTAGE_V, compliance_a: float = READ_COMPLIANCE_A,
                     ts_on_resistance_ohm: float = READ_TS_ON_RESISTANCE_OHM,
                     min_current_a: float = READ_MIN_CURRENT_A, nplc: float = READ_NPLC,
                     series_resistance_ohm: float | None = None) -> ConductanceRead:
    """Read the PCM conductance (see READ_METHOD_TEXT). ``series_resistance_ohm`` None: the SMU path
    resistance from the bench file. The SMU output is off afterwards."""
    smu = bench.smu
    r_s = path_resistance_ohm(bench, "smu") if series_resistance_ohm is None else float(series_resistance_ohm)
    try:
        smu.configure_voltage_source(compliance_a=fire_compliance_a, nplc=nplc)
        smu.set_voltage(fire_voltage_v)
        smu.output_on()
        smu.measure_current()  # the TS fires; a few uW only
        smu.configure_voltage_source(compliance_a=compliance_a, nplc=nplc)
        sweep = smu.sweep_voltage([low_voltage_v, high_voltage_v])
    finally:
        smu.output_off()
    v = [float(x) for x in sweep.source_v]
    i = [float(x) for x in sweep.current_a]
    g, reason = conductance_from_read(v, i, series_resistance_ohm=r_s, ts_on_resistance_ohm=ts_on_resistance_ohm,
                                      min_current_a=min_current_a, compliance_a=compliance_a)
    return ConductanceRead(g, i[0], i[1], v[0], v[1], r_s, float(ts_on_resistance_ohm), reason)


class ConductanceReadMixin:
    """The read's parameters for a procedure, and ``self.read()``.

    Put it before TspcmProcedure: ``class PulseTrain(ConductanceReadMixin, TspcmProcedure)``.
    ``read_series_resistance_ohm = -1`` (default) takes the SMU path resistance from the bench
    file during validate(), so the run file records the value used.
    """

    READ_METHOD = READ_METHOD_TEXT
    #: folded in the window: rarely changed (see tspcm_lab/gui/viewspec.py)
    PARAMETER_GROUPS = (("Conductance read", "*", True),)  # "*": every parameter this class declares

    read_fire_voltage_V = FloatParameter("Read firing voltage", units="V", minimum=0.1, maximum=10.0,
                                         default=READ_FIRE_VOLTAGE_V)
    read_fire_compliance_A = FloatParameter("Read firing compliance", units="A", minimum=1e-7, maximum=1e-4,
                                            default=READ_FIRE_COMPLIANCE_A)
    read_low_voltage_V = FloatParameter("Read low level", units="V", minimum=0.05, maximum=5.0,
                                        default=READ_LOW_VOLTAGE_V)
    read_high_voltage_V = FloatParameter("Read high level", units="V", minimum=0.05, maximum=5.0,
                                         default=READ_HIGH_VOLTAGE_V)
    read_compliance_A = FloatParameter("Read compliance", units="A", minimum=1e-7,
                                       maximum=1e-3, default=READ_COMPLIANCE_A)
    read_ts_on_resistance_ohm = FloatParameter("Read TS on-resistance", units="ohm", minimum=0.0, maximum=1e7,
                                               default=READ_TS_ON_RESISTANCE_OHM)
    read_min_current_A = FloatParameter("Read least current", units="A", minimum=1e-12,
                                        maximum=1e-4, default=READ_MIN_CURRENT_A)
    read_nplc = FloatParameter("Read NPLC", minimum=0.01, maximum=10.0, default=READ_NPLC)
    read_series_resistance_ohm = FloatParameter(
        "Read series resistance (-1 = from bench file)", units="ohm", minimum=-1.0, maximum=1e6, default=-1.0)

    def check_bench_limits(self, bench) -> None:
        super().check_bench_limits(bench)
        for key in ("read_fire_voltage_V", "read_low_voltage_V", "read_high_voltage_V"):
            limit, where = role_limit(bench, "smu", "voltage")
            value = getattr(self, key)
            if limit is not None and abs(value) > limit:
                raise ParameterError(key, f"{key} = {value:g} V exceeds the bench limit {limit:g} V ({where}); "
                                          f"allowed: up to {limit:g} V")
        limit, where = role_limit(bench, "smu", "current")
        for key in ("read_fire_compliance_A", "read_compliance_A"):
            value = getattr(self, key)
            if limit is not None and value > limit:
                raise ParameterError(key, f"{key} = {value:g} A exceeds the bench limit {limit:g} A ({where}); "
                                          f"allowed: up to {limit:g} A")
        if self.read_series_resistance_ohm < 0:
            self.read_series_resistance_ohm = path_resistance_ohm(bench, "smu")
        if not self.read_low_voltage_V < self.read_high_voltage_V < self.read_fire_voltage_V:
            raise ParameterError("read_high_voltage_V", f"the read levels must rise: read_low_voltage_V "
                                 f"({self.read_low_voltage_V:g} V) < read_high_voltage_V ({self.read_high_voltage_V:g} V) "
                                 f"< read_fire_voltage_V ({self.read_fire_voltage_V:g} V)")

    def read_settings(self) -> dict:
        """Keyword arguments of :func:`read_conductance` from the parameters."""
        r_s = self.read_series_resistance_ohm
        return dict(fire_voltage_v=self.read_fire_voltage_V, fire_compliance_a=self.read_fire_compliance_A,
                    low_voltage_v=self.read_low_voltage_V, high_voltage_v=self.read_high_voltage_V,
                    compliance_a=self.read_compliance_A, ts_on_resistance_ohm=self.read_ts_on_resistance_ohm,
                    min_current_a=self.read_min_current_A, nplc=self.read_nplc,
                    series_resistance_ohm=None if r_s is None or r_s < 0 else r_s)

    def read(self) -> ConductanceRead:
        return read_conductance(self.bench, **self.read_settings())

    def describe_read_method(self) -> str:
        s = self.read_settings()
        r_s = s["series_resistance_ohm"]
        r_text = f"{r_s:g} Ohm" if r_s is not None else "from the bench file"
        return (f"{READ_METHOD_TEXT} Used: fire {s['fire_voltage_v']:g} V under {s['fire_compliance_a']:g} A; read at "
                f"{s['low_voltage_v']:g} V and {s['high_voltage_v']:g} V under {s['compliance_a']:g} A, NPLC "
                f"{s['nplc']:g}; R_series = {r_text}; R_on,TS = {s['ts_on_resistance_ohm']:g} Ohm.")


# ------------------------------------------------------------------------------------------ threshold
@dataclass(frozen=True)
class ThresholdSweep:
    """A compliance-limited ramp and what it showed."""

    threshold_V: float  #: device voltage of the last point before the current jump (NaN: no jump)
    hold_V: float  #: device voltage of the last on-state point on the way down (NaN if not asked/seen)
    voltage_V: np.ndarray  #: applied voltage (source readback) of each point
    current_A: np.ndarray
    series_resistance_ohm: float

    @property
    def fired(self) -> bool:
        return math.isfinite(self.threshold_V)


def ramp_levels(start_v: float, stop_v: float, step_v: float, *, down: bool = False) -> np.ndarray:
    """start -> stop in steps of ``step_v`` (V), back to start when ``down``."""
    n = max(int(math.ceil(abs(stop_v - start_v) / step_v - 1e-9)), 1)
    up = np.linspace(start_v, stop_v, n + 1)
    return np.concatenate([up, up[-2::-1]]) if down else up


def measure_threshold(bench: "Bench", *, start_voltage_v: float = 0.0, stop_voltage_v: float = 2.5,
                      step_v: float = 0.01, compliance_a: float = THRESHOLD_COMPLIANCE_A, nplc: float = 0.01,
                      hold: bool = False, series_resistance_ohm: float | None = None,
                      min_jump_decades: float = 1.0) -> ThresholdSweep:
    """The cell threshold: a staircase from ``start_voltage_v`` to ``stop_voltage_v`` (and back when
    ``hold``) with the SMU's buffered sweep under ``compliance_a``; Vth (and Vhold) found by
    :func:`tspcm_lab.analysis.switching.analyze_cycle` with the "jump" criterion (largest step of at
    least ``min_jump_decades`` in log10|I|), reported as device voltage V_app - I R_s.
    Resolution: one ``step_v``. The SMU output is off afterwards."""
    from tspcm_lab.analysis import switching

    smu = bench.smu
    r_s = path_resistance_ohm(bench, "smu") if series_resistance_ohm is None else float(series_resistance_ohm)
    levels = ramp_levels(start_voltage_v, stop_voltage_v, step_v, down=hold)
    try:
        smu.configure_voltage_source(compliance_a=compliance_a, nplc=nplc)
        sweep = smu.sweep_voltage(levels)
    finally:
        smu.output_off()
    v = np.asarray(sweep.source_v, dtype=float)
    i = np.asarray(sweep.current_a, dtype=float)
    # branches are cut on the programmed levels (the readback folds back at compliance)
    results = switching.analyze_cycle(levels, i, series_resistance_ohm=r_s, criterion="jump",
                                      min_jump_decades=min_jump_decades, compliance_A=compliance_a)
    head = next((r for r in results if r.polarity == (1 if stop_voltage_v >= start_voltage_v else -1)), None)
    vth = head.vth_V if head is not None else math.nan
    vhold = head.vhold_V if (head is not None and hold) else math.nan
    return ThresholdSweep(float(vth), float(vhold), v, i, r_s)


@dataclass(frozen=True)
class PulseThreshold:
    """A pulse-amplitude ladder and where the cell first fired."""

    threshold_V: float  #: amplitude of the first pulse that fired (V, open-circuit); NaN: none fired
    amplitudes_V: np.ndarray  #: the amplitudes tried, in order
    peak_current_A: np.ndarray  #: the largest captured current during each


def measure_pulse_threshold(bench: "Bench", *, start_voltage_v: float = 0.8, stop_voltage_v: float = 2.2,
                            step_v: float = 0.02, width_s: float = 50e-9, fire_current_a: float = 50e-6,
                            sample_interval_s: float = 1e-9, should_stop: StopCheck = None) -> PulseThreshold:
    """The cell's firing threshold from single pulses of rising amplitude (pulse generator, scope
    capture on its sync): the amplitude of the first pulse during which the cell current rises
    through ``fire_current_a`` (A). Stops at that pulse, so only one pulse fires the cell (a firing
    heats the PCM a little). Resolution: ``step_v``. Needs the ``pulse`` and ``scope`` roles.

    Why pulses: after the TS fires the voltage in excess of its hold falls on the PCM; a large
    current (a firing event) needs the PCM's amorphous part to switch too, so this threshold
    follows the PCM state (more crystalline: lower), while a slow compliance-limited ramp
    (:func:`measure_threshold`) sees mostly the TS's own threshold."""
    scope, pulse = bench.scope, bench.pulse
    n = max(int(math.floor((stop_voltage_v - start_voltage_v) / step_v + 1e-9)) + 1, 1)
    ladder = start_voltage_v + step_v * np.arange(n)
    edge = getattr(pulse, "MIN_EDGE_S", 8.4e-9)
    record = width_s + 2 * edge + max(width_s, 100e-9)
    tried, peaks = [], []
    for amplitude in ladder:
        if should_stop is not None and should_stop():
            break
        pulse.configure_single_pulse(float(amplitude), width_s)
        scope.arm(record, sample_interval_s, trigger_level_v=1.0, pretrigger_s=0.0,
                  full_scale_current_a=max(4 * fire_current_a, 1e-4))
        try:
            pulse.output_on()
            pulse.trigger()
        finally:
            pulse.output_off()
        capture = scope.fetch(timeout_s=10.0)
        tried.append(float(amplitude))
        current = np.abs(np.asarray(capture.current_a, dtype=float))
        peaks.append(float(current.max()) if current.size else math.nan)
        if count_firing_events(current, fire_current_a) > 0:
            return PulseThreshold(float(amplitude), np.asarray(tried), np.asarray(peaks))
    return PulseThreshold(math.nan, np.asarray(tried), np.asarray(peaks))


# ------------------------------------------------------------------------------------------ pulses
def apply_pulses(bench: "Bench", amplitude_v: float, width_s: float, *, count: int = 1,
                 period_s: float | None = None, edge_s: float | None = None) -> None:
    """``count`` pulses of ``amplitude_v`` (V, open-circuit level of the generator), ``width_s`` wide,
    one every ``period_s`` (None: twice the pulse), edges ``edge_s`` (None: the fastest), as one
    triggered burst; the generator output is on only for the burst."""
    pulse = bench.pulse
    edge = getattr(pulse, "MIN_EDGE_S", 8.4e-9) if edge_s is None else edge_s
    if period_s is None:
        period_s = 2.0 * (width_s + 2.0 * edge)
    pulse.configure_pulse_train(amplitude_v, width_s, period_s=period_s, count=int(count), edge_s=edge_s)
    try:
        pulse.output_on()
        pulse.trigger()
        burst_s = count * period_s
        if burst_s > 1e-3 and not _is_virtual(bench):
            time.sleep(burst_s)  # let a long burst finish on a real generator before output off
    finally:
        pulse.output_off()


def set_pulse(bench: "Bench", amplitude_v: float = SET_AMPLITUDE_V, width_s: float = SET_WIDTH_S, *,
              count: int = 1, period_s: float | None = None, edge_s: float | None = None) -> None:
    """Potentiation (SET): heat the PCM into its crystallization window through a firing TS."""
    apply_pulses(bench, amplitude_v, width_s, count=count, period_s=period_s, edge_s=edge_s)


def reset_pulse(bench: "Bench", amplitude_v: float = RESET_AMPLITUDE_V, width_s: float = RESET_WIDTH_S, *,
                edge_s: float | None = None) -> None:
    """Depression (RESET): melt and quench part of the PCM; the fastest fall (``edge_s`` None)."""
    apply_pulses(bench, amplitude_v, width_s, count=1, edge_s=edge_s)


# ------------------------------------------------------------------------------------------ program
@dataclass
class ProgramResult:
    """Outcome of :func:`program_to_target`."""

    target_S: float
    conductance_S: float  #: the last read (S)
    converged: bool
    set_pulses: int = 0
    reset_pulses: int = 0
    reads: int = 0
    stopped: bool = False  #: the stop check asked to stop
    history_S: list[float] = field(default_factory=list)  #: every read, in order

    @property
    def pulses(self) -> int:
        return self.set_pulses + self.reset_pulses


def program_to_target(bench: "Bench", g_target_S: float, *, tolerance: float = 0.2, max_pulses: int = 120,
                      set_amplitude_v: float = SET_AMPLITUDE_V, set_width_s: float = SET_WIDTH_S,
                      min_set_width_s: float = 20e-9, max_set_width_s: float = 2e-6,
                      reset_amplitude_v: float = RESET_AMPLITUDE_V, reset_width_s: float = RESET_WIDTH_S,
                      read: dict | None = None, should_stop: StopCheck = None) -> ProgramResult:
    """Program-and-verify the PCM to ``g_target_S`` (S) within ``tolerance`` (relative).

    Loop: read; within [target (1 - tol), target (1 + tol)]: done. Below (or below the read's range,
    NaN): one SET pulse; while the reads stay below the read's range the next is 1.5x longer (up to
    ``max_set_width_s``: a RESET-side cell's switching delay is long). Above: a full RESET pulse, and
    the SET pulse width halves (down to ``min_set_width_s``): the next approach takes smaller steps
    (crystallization accelerates itself, so an approach from the RESET end overshoots unless its steps
    shrink). Stops after ``max_pulses`` pulses (not converged) or when ``should_stop()`` is true.
    ``read``: keyword arguments of :func:`read_conductance`.
    """
    if not g_target_S > 0:
        raise ValueError(f"g_target_S must be > 0 S, got {g_target_S!r}")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1 (relative), got {tolerance!r}")
    read = dict(read or {})
    low, high = g_target_S * (1 - tolerance), g_target_S * (1 + tolerance)
    result = ProgramResult(g_target_S, math.nan, False)
    width = set_width_s  # for steps within the read's range; halves after each overshoot
    approach = set_width_s  # while below the read's range; grows until the pulses take hold
    approach_cap = max_set_width_s  # lowered whenever an approach pulse overshot the window
    last = ""  # what the last pulse was: "approach", "step" or "reset"
    while True:
        if should_stop is not None and should_stop():
            result.stopped = True
            return result
        g = read_conductance(bench, **read).conductance_S
        result.reads += 1
        result.history_S.append(g)
        result.conductance_S = g
        if low <= g <= high:
            result.converged = True
            return result
        if result.pulses >= max_pulses:
            return result
        if g > high:
            if last == "approach":  # one approach pulse went through the whole window: approach more finely
                approach_cap = max(approach / 1.5 / 1.5, min_set_width_s)
                approach = min(set_width_s, approach_cap)
            else:
                width = max(width / 2.0, min_set_width_s)
            reset_pulse(bench, reset_amplitude_v, reset_width_s)
            result.reset_pulses += 1
            last = "reset"
        elif math.isnan(g):  # below the read's range (the RESET end): lengthen until the pulses take hold
            set_pulse(bench, set_amplitude_v, approach)
            result.set_pulses += 1
            approach = min(approach * 1.5, approach_cap)
            last = "approach"
        else:
            set_pulse(bench, set_amplitude_v, width)
            result.set_pulses += 1
            last = "step"


# ------------------------------------------------------------------------------------------ time
class Clock:
    """Time as the cell experiences it."""

    virtual = False

    def now_s(self) -> float:
        return time.monotonic()

    def wait(self, duration_s: float, should_stop: StopCheck = None, *, slice_s: float = 0.2) -> bool:
        """Let ``duration_s`` pass with the outputs as they are; False if stopped early."""
        end = time.monotonic() + max(float(duration_s), 0.0)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return True
            if should_stop is not None and should_stop():
                return False
            time.sleep(min(left, slice_s))


class VirtualClock(Clock):
    """The clock of an in-process simulated bench (``@tspcm``): waiting advances its virtual time
    under the bench's lock, as an idle instrument would, so a 1e4 s wait is instant."""

    virtual = True

    def __init__(self, host) -> None:
        self.host = host

    def now_s(self) -> float:
        return float(self.host.bench.now_s)

    def wait(self, duration_s: float, should_stop: StopCheck = None, *, slice_s: float = 0.2) -> bool:
        if should_stop is not None and should_stop():
            return False
        with self.host.lock:
            self.host.bench.wait(max(float(duration_s), 0.0))
        return True


def _visa_library(bench: "Bench"):
    for role in bench.roles.values():
        connection = getattr(getattr(getattr(role, "driver", None), "adapter", None), "connection", None)
        library = getattr(connection, "visalib", None)
        if library is not None:
            return library
    return None


def _is_virtual(bench: "Bench") -> bool:
    return bench_clock(bench).virtual


def bench_clock(bench: "Bench") -> Clock:
    """The bench's own clock when it has one (a simulated bench in another process), a
    :class:`VirtualClock` for an in-process simulated bench, else the wall clock."""
    own = getattr(bench, "clock", None)
    if own is not None:
        return own
    library = _visa_library(bench)
    host = getattr(library, "host", None) if type(library).__name__ == "TspcmVisaLibrary" else None
    return VirtualClock(host) if host is not None else Clock()


# ------------------------------------------------------------------------------------------ firing events
def rising_edges(current_a: Sequence[float], threshold_a: float, *, rearm_fraction: float = 0.5) -> np.ndarray:
    """Indices where |I| rises through ``threshold_a`` (A): one firing event each. After an event
    the detector re-arms only once |I| has fallen below ``rearm_fraction * threshold_a`` (hysteresis:
    noise on a plateau is not counted twice). A trace that starts above threshold does not count
    its first sample as an event."""
    if not threshold_a > 0:
        raise ValueError(f"threshold_a must be > 0 A, got {threshold_a!r}")
    if not 0 < rearm_fraction <= 1:
        raise ValueError(f"rearm_fraction must be in (0, 1], got {rearm_fraction!r}")
    i = np.abs(np.asarray(current_a, dtype=float))
    above = i >= threshold_a
    below = i < rearm_fraction * threshold_a
    if not above.any():
        return np.zeros(0, dtype=np.int64)
    # state machine over the samples that are above or below (in between keeps the state)
    events = []
    armed = not above[0]
    crossings = np.flatnonzero(above | below)
    for k in crossings:
        if above[k]:
            if armed:
                events.append(k)
                armed = False
        else:
            armed = True
    return np.asarray(events, dtype=np.int64)


def count_firing_events(current_a: Sequence[float], threshold_a: float, *, rearm_fraction: float = 0.5) -> int:
    """Number of firing events (rising edges through ``threshold_a``) in a current trace."""
    return int(rising_edges(current_a, threshold_a, rearm_fraction=rearm_fraction).size)


def firing_times_s(t_s: Sequence[float], current_a: Sequence[float], threshold_a: float, *,
                   rearm_fraction: float = 0.5) -> np.ndarray:
    """Times (s) of the firing events: the first sample at or above ``threshold_a`` of each."""
    t = np.asarray(t_s, dtype=float)
    return t[rising_edges(current_a, threshold_a, rearm_fraction=rearm_fraction)]


def events_per_window(t_s: Sequence[float], current_a: Sequence[float], threshold_a: float,
                      starts_s: Sequence[float], length_s: float, *, rearm_fraction: float = 0.5) -> np.ndarray:
    """Firing events in each window [start, start + length_s) (e.g. one window per spike of a
    train): an int array with one count per start."""
    times = firing_times_s(t_s, current_a, threshold_a, rearm_fraction=rearm_fraction)
    starts = np.asarray(starts_s, dtype=float)
    return np.array([int(np.count_nonzero((times >= s) & (times < s + length_s))) for s in starts],
                    dtype=np.int64)
