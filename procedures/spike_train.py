"""spike-train: the cell's firing response to a spike train from the pulse generator.

Each train is played as one triggered burst (a pulse train, or an uploaded arbitrary spike train);
the scope, triggered by the generator's sync output, captures the cell current through the sense
resistor; a firing event is the current rising through ``fire_current_A``. Per spike: the number of
events and the delay from the spike's leading edge to the first one; per train: the firing
probability (fraction of spikes with at least one event), the events and the rate (events per second
of train). Between trains the PCM conductance is read with the SMU (common.read_conductance). The
cell can first be programmed to one or several conductances (program-and-verify), several trains at
each, so that one run shows the firing response against the synaptic weight (intrinsic plasticity).

The conductance is read with the two-point ON-branch read (common.READ_METHOD_TEXT): true from ~0.7 uS
up, NaN (with the reason) below.

The building blocks (:class:`SpikeTrain`, :func:`fire_train`, :class:`SpikeParametersMixin`, and the
per-device spike-amplitude calibration :func:`calibrate_amplitude` with :class:`SpikeCalibrationMixin`)
are used by learning-loop and pattern as well.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, ListParameter, Parameter

from procedures import common
from procedures.base import ParameterError, TspcmProcedure, duration_text

log = logging.getLogger(__name__)

#: firing threshold on the cell current (A): a fired TS-PCM cell (both layers switched) carries
#: ~100-200 uA through the 100 Ohm generator path at 1.5-2 V on the simulated cell, an unfired one
#: < 0.1 uA.
FIRE_CURRENT_A = 20e-6
#: points a capture may use (the DSOX1102G's longest transferred record is 62 500)
MAX_CAPTURE_POINTS = 62_500
#: a spike must be resolved by this many capture samples across its width
SAMPLES_PER_WIDTH = 8
#: shortest and longest arbitrary-waveform sample interval and size (33500B: 250 MSa/s, 8..1e6 points)
ARB_MIN_INTERVAL_S = 4e-9
ARB_MAX_POINTS = 1_000_000


# ------------------------------------------------------------------------------------------ the train
@dataclass(frozen=True)
class SpikeTrain:
    """``count`` rectangular spikes of ``amplitude_V`` (V, open-circuit level of the generator),
    ``width_s`` wide, one every ``period_s``. ``waveform``: "pulse" (the generator's pulse function
    in a burst) or "arb" (the same spikes uploaded as one arbitrary waveform, one sample every
    ``arb_sample_interval_s``, steps instead of programmed edges)."""

    amplitude_V: float
    width_s: float
    period_s: float
    count: int
    waveform: str = "pulse"
    edge_s: float | None = None
    arb_sample_interval_s: float = ARB_MIN_INTERVAL_S

    @property
    def duration_s(self) -> float:
        return self.count * self.period_s

    def edge_time_s(self, pulse_min_edge_s: float = 8.4e-9) -> float:
        """Length of a spike's leading edge (s): the programmed edge, or 0 for an arb (steps)."""
        if self.waveform == "arb":
            return 0.0
        return pulse_min_edge_s if self.edge_s is None else float(self.edge_s)

    def onsets_s(self, pulse_min_edge_s: float = 8.4e-9) -> np.ndarray:
        """Time of each spike's leading edge, at half its rise, from the trigger (s)."""
        return np.arange(self.count) * self.period_s + 0.5 * self.edge_time_s(pulse_min_edge_s)

    def arb_samples_V(self) -> np.ndarray:
        """The train as generator samples (V): 0 V, ``amplitude_V`` during each spike."""
        dt = self.arb_sample_interval_s
        per = int(round(self.period_s / dt))
        high = max(int(round(self.width_s / dt)), 1)
        one = np.zeros(per)
        one[:high] = self.amplitude_V
        return np.concatenate([np.tile(one, self.count), [0.0]])


def check_spike_train(train: SpikeTrain, *, prefix: str = "spike_") -> None:
    """Relations between the spike parameters; ParameterError naming the parameter."""
    edge = train.edge_time_s()
    if train.width_s + 2 * edge >= train.period_s:
        raise ParameterError(f"{prefix}period_s", f"must exceed {prefix}width_s + 2 edges = "
                             f"{train.width_s + 2 * edge:g} s, got {train.period_s:g} s")
    if train.waveform == "arb":
        dt = train.arb_sample_interval_s
        if dt < ARB_MIN_INTERVAL_S or train.width_s < dt:
            raise ParameterError("arb_sample_interval_s", f"must be from {ARB_MIN_INTERVAL_S:g} s to "
                                 f"{prefix}width_s ({train.width_s:g} s), got {dt:g} s")
        for key, value in ((f"{prefix}period_s", train.period_s), (f"{prefix}width_s", train.width_s)):
            steps = value / dt
            if abs(steps - round(steps)) > 1e-6 * max(steps, 1.0):
                raise ParameterError(key, f"must be a whole number of arb_sample_interval_s ({dt:g} s) "
                                     f"for an arbitrary spike train, got {value:g} s")
        points = train.count * round(train.period_s / dt) + 1
        if points > ARB_MAX_POINTS:
            raise ParameterError("spikes_per_train",
                                 f"the arbitrary train would need {points} samples; allowed: up to "
                                 f"{ARB_MAX_POINTS} (fewer spikes, or a longer arb_sample_interval_s)")


def capture_interval_s(train: SpikeTrain, requested_s: float, tail_s: float = 0.0) -> float:
    """The scope sample interval for a train (s): ``requested_s``, lengthened if the record would
    exceed MAX_CAPTURE_POINTS. ValueError if that no longer resolves a spike."""
    record = train.duration_s + tail_s
    interval = max(requested_s, record / MAX_CAPTURE_POINTS)
    if interval > train.width_s / SAMPLES_PER_WIDTH:
        raise ValueError(f"a {record:g} s record in {MAX_CAPTURE_POINTS} points samples every {interval:g} s, "
                         f"more than width/{SAMPLES_PER_WIDTH} = {train.width_s / SAMPLES_PER_WIDTH:g} s")
    return interval


# ------------------------------------------------------------------------------------------ playing it
@dataclass
class TrainResponse:
    """What one captured train showed."""

    train: SpikeTrain
    t_s: np.ndarray  #: capture time from the trigger (s)
    current_A: np.ndarray  #: cell current (A)
    sample_interval_s: float
    events_per_spike: np.ndarray  #: firing events in each spike's period
    delay_s: np.ndarray  #: leading edge (half rise) to the first event of each spike (s); NaN: none
    fire_current_A: float

    @property
    def fired(self) -> np.ndarray:
        return self.events_per_spike > 0

    @property
    def probability(self) -> float:
        """Fraction of spikes with at least one firing event."""
        return float(np.mean(self.fired)) if self.events_per_spike.size else math.nan

    @property
    def events(self) -> int:
        return int(self.events_per_spike.sum())

    @property
    def rate_Hz(self) -> float:
        """Firing events per second of train."""
        return self.events / self.train.duration_s

    @property
    def mean_delay_s(self) -> float:
        d = self.delay_s[np.isfinite(self.delay_s)]
        return float(d.mean()) if d.size else math.nan

    @property
    def peak_current_A(self) -> np.ndarray:
        """Largest current within each spike's period (A)."""
        k = np.floor(self.t_s / self.train.period_s).astype(np.int64)
        peaks = np.full(self.train.count, np.nan)
        ok = (k >= 0) & (k < self.train.count)
        if ok.any():
            peaks_found = np.full(self.train.count, -np.inf)
            np.maximum.at(peaks_found, k[ok], np.abs(self.current_A[ok]))
            peaks = np.where(np.isfinite(peaks_found), peaks_found, np.nan)
        return peaks


def configure_train(bench, train: SpikeTrain, name: str = "SPIKES") -> None:
    """Program the pulse generator with ``train`` (played once per trigger)."""
    pulse = bench.pulse
    if train.waveform == "arb":
        pulse.configure_spike_train(train.arb_samples_V(), train.arb_sample_interval_s, count=1, name=name)
    else:
        pulse.configure_pulse_train(train.amplitude_V, train.width_s, period_s=train.period_s,
                                    count=train.count, edge_s=train.edge_s)


def crossings_s(t_s, current_a, threshold_a: float) -> tuple[np.ndarray, np.ndarray]:
    """Where |I| rises through ``threshold_a`` (common.rising_edges, with hysteresis): (time of the
    first sample at or above it, crossing time linearly interpolated between the samples around it),
    both in s."""
    t = np.asarray(t_s, dtype=float)
    i = np.abs(np.asarray(current_a, dtype=float))
    idx = common.rising_edges(i, threshold_a)
    t_sample = t[idx]
    t_cross = t_sample.copy()
    prev = idx > 0
    j = idx[prev]
    i0, i1 = i[j - 1], i[j]
    frac = np.where(i1 > i0, (threshold_a - i0) / np.where(i1 > i0, i1 - i0, 1.0), 1.0)
    t_cross[prev] = t[j - 1] + np.clip(frac, 0.0, 1.0) * (t[j] - t[j - 1])
    return t_sample, t_cross


def first_after_s(t_cross_s: np.ndarray, starts_s, length_s: float) -> np.ndarray:
    """Per window [start, start + length): the time from ``start`` to the first crossing (s); NaN if none."""
    t = np.asarray(t_cross_s, dtype=float)
    starts = np.asarray(starts_s, dtype=float).ravel()
    out = np.full(starts.size, np.nan)
    if t.size > 1 and not (np.diff(t) >= 0).all():  # crossings come in time order; else the first listed
        for n, s in enumerate(starts):
            hit = t[(t >= s) & (t < s + length_s)]
            if hit.size:
                out[n] = hit[0] - s
        return out
    if t.size and starts.size:
        k = np.searchsorted(t, starts, side="left")  # the first crossing at or after each start
        ok = k < t.size
        hit = np.where(ok, t[np.minimum(k, t.size - 1)], np.inf)
        ok &= hit < starts + length_s
        out[ok] = hit[ok] - starts[ok]
    return out


def first_event_delays_s(t_s, current_a, threshold_a: float, starts_s, length_s: float) -> np.ndarray:
    """Per window [start, start + length): time from ``start`` to the first rise through
    ``threshold_a``, linearly interpolated between the samples around it (s); NaN without one."""
    return first_after_s(crossings_s(t_s, current_a, threshold_a)[1], starts_s, length_s)


def fire_train(bench, train: SpikeTrain, *, fire_current_A: float = FIRE_CURRENT_A,
               sample_interval_s: float = 1e-9, full_scale_current_A: float = 1e-3,
               tail_s: float | None = None, name: str = "SPIKES", configure: bool = True) -> TrainResponse:
    """Play ``train`` once and capture the cell current (scope armed on the generator's sync).

    The generator output is on only for the burst. ``tail_s``: record this long after the last
    spike's period (default: one period). ``configure`` False replays the waveform already
    programmed (same train)."""
    if configure:
        configure_train(bench, train, name)
    tail = train.period_s if tail_s is None else float(tail_s)
    interval = capture_interval_s(train, sample_interval_s, tail)
    record = train.duration_s + tail
    scope, pulse = bench.scope, bench.pulse
    scope.arm(record, interval, trigger_level_v=1.0, pretrigger_s=0.0, full_scale_current_a=full_scale_current_A)
    try:
        pulse.output_on()
        pulse.trigger()
    finally:
        pulse.output_off()
    cap = scope.fetch(timeout_s=max(10.0, 2 * record))
    edge_min = getattr(pulse, "MIN_EDGE_S", 8.4e-9)
    onsets = train.onsets_s(edge_min)
    starts = np.arange(train.count) * train.period_s
    # one edge detection for both (events are counted by their first sample, as common.events_per_window)
    t_sample, t_cross = crossings_s(cap.t_s, cap.current_a, fire_current_A)
    window = np.floor(t_sample / train.period_s).astype(np.int64)
    events = np.bincount(window[(window >= 0) & (window < train.count)], minlength=train.count).astype(np.int64)
    delays = first_after_s(t_cross, starts, train.period_s) - (onsets - starts)
    return TrainResponse(train, np.asarray(cap.t_s, float), np.asarray(cap.current_a, float),
                         float(cap.meta.get("xincrement_s", interval)), events, delays, fire_current_A)


def emit_trace(procedure, name: str, response: TrainResponse) -> None:
    """Store a captured train as a waveform (current against time from the trigger)."""
    t = response.t_s
    dt = float(np.median(np.diff(t))) if t.size > 1 else response.sample_interval_s
    procedure.emit("waveform", {"name": name, "y": response.current_A, "dt": dt,
                                "t0": float(t[0]) if t.size else 0.0,
                                "y_label": "Current (A)", "x_label": "Time (s)"})
    procedure.emit("waveform", {"name": f"{name}_events", "y": response.events_per_spike.astype(float),
                                "x": np.arange(response.events_per_spike.size, dtype=float),
                                "y_label": "Firing events", "x_label": "Spike"})


def parse_conductances(text: str, parameter: str) -> list[float]:
    """'30e-6, 120e-6' -> [3e-05, 0.00012] (S); empty -> []. ParameterError on anything else."""
    items = [s for s in str(text or "").replace(";", ",").replace(" ", ",").split(",") if s.strip()]
    values = []
    for item in items:
        try:
            g = float(item)
        except ValueError:
            raise ParameterError(parameter, f"{item!r} is not a number; give conductances in S separated by "
                                 "commas, e.g. '30e-6, 120e-6'") from None
        if not (math.isfinite(g) and 1e-7 <= g <= 1e-2):
            raise ParameterError(parameter, f"{g:g} S is outside the allowed 1e-07 S to 0.01 S")
        values.append(g)
    return values


# ------------------------------------------------------------------------------------------ parameters
class SpikeParametersMixin:
    """The spike train and its capture, shared by spike-train, learning-loop and pattern.
    Defaults: near-threshold spikes that fire a partly crystalline cell on the simulated bench."""

    PARAMETER_GROUPS = (
        ("Spikes", ("spike_amplitude_V", "spike_width_s", "spike_period_s", "spikes_per_train"), False),
        ("Waveform and scope", ("spike_waveform", "arb_sample_interval_s", "fire_current_A", "capture_interval_s",
                                "scope_full_scale_A"), True),
    )

    spike_amplitude_V = FloatParameter("Spike amplitude", units="V", minimum=0.1, maximum=10.0, default=1.6)
    # 200 ns: a RESET-side cell's switching delay is long (the voltage division keeps its overdrive small)
    spike_width_s = FloatParameter("Spike width", units="s", minimum=16e-9, maximum=1e-3, default=200e-9)
    spike_period_s = FloatParameter("Spike period", units="s", minimum=50e-9, maximum=1.0, default=2e-6)
    spikes_per_train = IntegerParameter("Spikes per train", minimum=1, maximum=10_000, default=10)
    spike_waveform = ListParameter("Spike waveform", choices=["pulse", "arb"], default="pulse")
    arb_sample_interval_s = FloatParameter("Arb sample interval", units="s", minimum=ARB_MIN_INTERVAL_S,
                                           maximum=1e-3, default=ARB_MIN_INTERVAL_S)
    fire_current_A = FloatParameter("Firing current threshold", units="A", minimum=1e-7, maximum=1e-2,
                                    default=FIRE_CURRENT_A)
    capture_interval_s = FloatParameter("Scope sample interval", units="s", minimum=1e-10, maximum=1e-3,
                                        default=1e-9)
    scope_full_scale_A = FloatParameter("Scope full scale", units="A", minimum=1e-6, maximum=0.1, default=1e-3)

    def spike_train(self) -> SpikeTrain:
        return SpikeTrain(self.spike_amplitude_V, self.spike_width_s, self.spike_period_s,
                          int(self.spikes_per_train), self.spike_waveform,
                          arb_sample_interval_s=self.arb_sample_interval_s)

    def check_spike_parameters(self) -> None:
        train = self.spike_train()
        check_spike_train(train)
        if self.fire_current_A >= self.scope_full_scale_A:
            raise ParameterError("fire_current_A", f"must be below scope_full_scale_A "
                                 f"({self.scope_full_scale_A:g} A), got {self.fire_current_A:g} A")
        try:
            capture_interval_s(train, self.capture_interval_s, train.period_s)
        except ValueError as exc:
            raise ParameterError("spikes_per_train", f"{exc}; allowed: fewer spikes or a shorter "
                                 "period") from None

    def fire(self, train: SpikeTrain | None = None, *, configure: bool = True) -> TrainResponse:
        return fire_train(self.bench, train or self.spike_train(), fire_current_A=self.fire_current_A,
                          sample_interval_s=self.capture_interval_s,
                          full_scale_current_A=self.scope_full_scale_A, configure=configure)


class ProgramParametersMixin:
    """Program-and-verify to a target conductance (common.program_to_target)."""

    PARAMETER_GROUPS = (("Program and verify", ("program_tolerance", "program_max_pulses", "set_amplitude_V",
                                                "set_width_s", "reset_amplitude_V", "reset_width_s"), True),)

    program_tolerance = FloatParameter("Program tolerance (relative)", minimum=0.01, maximum=0.9, default=0.2)
    program_max_pulses = IntegerParameter("Program max pulses", minimum=1, maximum=10_000, default=120)
    set_amplitude_V = FloatParameter("SET amplitude", units="V", minimum=0.1, maximum=10.0,
                                     default=common.SET_AMPLITUDE_V)
    set_width_s = FloatParameter("SET width", units="s", minimum=16e-9, maximum=1e-3, default=common.SET_WIDTH_S)
    reset_amplitude_V = FloatParameter("RESET amplitude", units="V", minimum=0.1, maximum=10.0,
                                       default=common.RESET_AMPLITUDE_V)
    reset_width_s = FloatParameter("RESET width", units="s", minimum=16e-9, maximum=1e-3,
                                   default=common.RESET_WIDTH_S)

    def program(self, target_S: float) -> common.ProgramResult:
        return common.program_to_target(
            self.bench, target_S, tolerance=self.program_tolerance, max_pulses=int(self.program_max_pulses),
            set_amplitude_v=self.set_amplitude_V, set_width_s=self.set_width_s,
            reset_amplitude_v=self.reset_amplitude_V, reset_width_s=self.reset_width_s,
            read=self.read_settings(), should_stop=self.should_stop)


# ------------------------------------------------------------------------------------------ calibration
@dataclass
class Calibration:
    """The spike-amplitude calibration of one cell: the ladder (:func:`calibrate_amplitude`), then the
    confirmation at the operating amplitude (:func:`confirm_amplitude`), every train in the order played."""

    amplitude_V: float  #: lowest ladder amplitude that met the criterion (V); NaN when none up to the stop
    spikes: int  #: spikes per ladder train
    min_fires: int  #: spikes of a ladder train that had to fire
    amplitudes_V: list[float] = field(default_factory=list)  #: every amplitude played, in order (V)
    fired: list[int] = field(default_factory=list)  #: spikes that fired in each train
    played: list[int] = field(default_factory=list)  #: spikes in each train
    operating_V: float = math.nan  #: the spike amplitude to use (V); NaN when none was confirmed
    stopped: bool = False  #: the stop check asked to stop

    @property
    def found(self) -> bool:
        return math.isfinite(self.amplitude_V)

    @property
    def confirmed(self) -> bool:
        return math.isfinite(self.operating_V)

    def record(self, amplitude_V: float, fired: int, played: int) -> None:
        self.amplitudes_V.append(float(amplitude_V))
        self.fired.append(int(fired))
        self.played.append(int(played))


def amplitude_ladder(start_v: float, stop_v: float, step_v: float) -> list[float]:
    """start, start + step, ... up to stop (V), rounded to 1 uV so that the values read back cleanly."""
    n = int(math.floor((stop_v - start_v) / step_v + 1e-9))
    return [round(start_v + k * step_v, 6) for k in range(max(n, 0) + 1)]


def calibrate_amplitude(fired_spikes: Callable[[float], int], *, start_v: float, stop_v: float, step_v: float,
                        coarse_steps: int = 5, spikes: int = 20, min_fires: int = 2, trains: int = 1,
                        should_stop: common.StopCheck = None) -> Calibration:
    """The lowest spike amplitude (V, to ``step_v``) at which a calibration train makes the cell fire on
    at least ``min_fires`` of its ``spikes`` spikes: "near threshold" for this device.

    ``fired_spikes(amplitude_V)`` plays one calibration train and returns the spikes that fired. The
    ladder goes as an experimenter's would, coarse (``coarse_steps`` steps at a time from ``start_v`` to
    ``stop_v``), then fine (one step at a time from just above the last coarse amplitude that did not
    fire, or below ``start_v`` when that one already fired): few trains, and the few firings on the way
    barely change the PCM. An amplitude passes when each of ``trains`` trains there meets the criterion.
    The result's ``operating_V`` is the amplitude found (see :func:`confirm_amplitude` for more)."""
    result = Calibration(math.nan, int(spikes), int(min_fires))

    def enough(amplitude: float) -> bool | None:
        for _ in range(max(int(trains), 1)):
            if should_stop is not None and should_stop():
                result.stopped = True
                return None
            n = int(fired_spikes(amplitude))
            result.record(amplitude, n, spikes)
            if n < min_fires:
                return False
        return True

    coarse = coarse_steps * step_v
    below = start_v - coarse
    for amplitude in amplitude_ladder(start_v, stop_v, coarse):
        hit = enough(amplitude)
        if hit is None:
            return result
        if hit:
            for fine in amplitude_ladder(max(below + step_v, step_v), amplitude - step_v, step_v):
                hit_fine = enough(fine)
                if hit_fine is None:
                    return result
                if hit_fine:
                    result.amplitude_V = result.operating_V = fine
                    return result
            result.amplitude_V = result.operating_V = amplitude
            return result
        below = amplitude
    return result


def confirm_amplitude(calibration: Calibration, play: Callable[[float, int], int], *, start_v: float,
                      stop_v: float, step_v: float, spikes: int, min_fraction: float,
                      should_stop: common.StopCheck = None) -> Calibration:
    """From ``start_v`` up in ``step_v`` steps to ``stop_v``: one train of ``spikes`` spikes
    (``play(amplitude_V, spikes)`` returns the spikes that fired) until one fires on at least
    ``min_fraction`` of them; that amplitude becomes ``calibration.operating_V`` (NaN: none).

    Why: a blank cell has a tail of rare firings (~5 % of spikes) some 50 mV below the steep rise of
    its firing probability, where a 20-spike train passes ">= 2 fired" by luck about one time in four;
    a longer train at the operating amplitude tells 5 % from 10 % far better (40 spikes, >= 4 fired:
    passed at 5 % one time in seven, at 20 % nineteen times in twenty)."""
    calibration.operating_V = math.nan
    need = max(int(math.ceil(min_fraction * spikes - 1e-9)), 1)
    for amplitude in amplitude_ladder(start_v, stop_v, step_v):
        if should_stop is not None and should_stop():
            calibration.stopped = True
            return calibration
        n = int(play(amplitude, spikes))
        calibration.record(amplitude, n, spikes)
        if n >= need:
            calibration.operating_V = amplitude
            return calibration
    return calibration


def emit_calibration(procedure, calibration: Calibration, name: str = "calibration") -> None:
    """Store the calibration as a waveform: fraction of the spikes that fired against amplitude (V),
    every train in the order played (ladder, then confirmation)."""
    fraction = np.asarray(calibration.fired, dtype=float) / np.maximum(np.asarray(calibration.played, float), 1)
    procedure.emit("waveform", {"name": name, "y": fraction, "x": np.asarray(calibration.amplitudes_V, dtype=float),
                                "y_label": "Fraction of spikes fired", "x_label": "Spike amplitude (V)"})


class SpikeCalibrationMixin:
    """``spike_amplitude_V = 0`` (the default): calibrate the amplitude on the device first, with trains
    of the run's own spikes, and use it for the whole run. Put it before SpikeParametersMixin. The
    amplitude used goes into the rows (``Spike amplitude (V)``), every calibration train into a waveform
    (``calibration``: fraction fired against amplitude).

    1. The ladder (:func:`calibrate_amplitude`): trains of ``calibration_spikes`` spikes from
       ``calibration_start_V`` up, ``calibration_coarse_steps`` x ``calibration_step_V`` at a time, then
       fine steps, to the lowest amplitude where >= ``calibration_min_fires`` spikes fire.
    2. The operating amplitude (:func:`confirm_amplitude`): from that amplitude + ``calibration_margin_V``
       up in fine steps, the first where a ``calibration_confirm_spikes`` spike train fires on at least
       the same fraction; 0 spikes = no confirmation.

    Why: near-threshold spikes are what makes the learning loop a loop (a spike that always fires
    saturates at once, one that never fires teaches nothing), and the threshold of a RESET cell varies
    from device to device more than the window in which the loop works; a short train cannot tell the
    rare-firing tail below the threshold from the threshold itself (see :func:`confirm_amplitude`), and a
    firing at the tail's amplitude does not heat the PCM into its crystallization window, hence the
    margin. docs/procedures.md gives the figures over many simulated devices (a script makes them)."""

    PARAMETER_GROUPS = (
        ("Spikes", ("spike_amplitude_V",), False),
        ("Amplitude calibration", "*", True),
    )

    spike_amplitude_V = FloatParameter("Spike amplitude (0 = calibrate on the device)", units="V", minimum=0.0,
                                       maximum=10.0, default=0.0)
    calibration_start_V = FloatParameter("Calibration first amplitude", units="V", minimum=0.1, maximum=10.0,
                                         default=1.3)
    calibration_stop_V = FloatParameter("Calibration last amplitude", units="V", minimum=0.1, maximum=10.0,
                                        default=1.85)
    calibration_step_V = FloatParameter("Calibration fine step", units="V", minimum=0.001, maximum=1.0,
                                        default=0.01)
    calibration_coarse_steps = IntegerParameter("Calibration fine steps per coarse step", minimum=1,
                                                maximum=100, default=5)
    calibration_spikes = IntegerParameter("Calibration spikes per train", minimum=1, maximum=10_000, default=20)
    calibration_min_fires = IntegerParameter("Calibration spikes that must fire", minimum=1, maximum=10_000,
                                             default=2)
    calibration_margin_V = FloatParameter("Calibration margin added to the amplitude found", units="V",
                                          minimum=0.0, maximum=1.0, default=0.05)
    calibration_confirm_spikes = IntegerParameter("Calibration confirmation spikes (0 = none)", minimum=0,
                                                  maximum=10_000, default=40)

    @property
    def calibrating(self) -> bool:
        return self.spike_amplitude_V == 0

    def highest_spike_amplitude_V(self) -> float:
        """The largest amplitude a spike of this run can have (V)."""
        return self.calibration_stop_V + self.calibration_margin_V if self.calibrating else self.spike_amplitude_V

    def check_calibration(self) -> None:
        """Relations of the calibration parameters (ParameterError naming the parameter)."""
        if 0 < self.spike_amplitude_V < 0.1:
            raise ParameterError("spike_amplitude_V", f"must be 0 (calibrate) or from 0.1 V to 10 V, got "
                                 f"{self.spike_amplitude_V:g} V")
        if not self.calibrating:
            return
        if self.calibration_stop_V <= self.calibration_start_V:
            raise ParameterError("calibration_stop_V", f"must be above calibration_start_V "
                                 f"({self.calibration_start_V:g} V), got {self.calibration_stop_V:g} V")
        if self.calibration_min_fires > self.calibration_spikes:
            raise ParameterError("calibration_min_fires", f"must be at most calibration_spikes "
                                 f"({self.calibration_spikes}), got {self.calibration_min_fires}")
        for key in ("calibration_spikes", "calibration_confirm_spikes"):
            spikes = int(getattr(self, key))
            if spikes == 0:
                continue
            train = self.calibration_train(self.calibration_start_V, spikes)
            try:
                check_spike_train(train)
                capture_interval_s(train, self.capture_interval_s, train.period_s)
            except ValueError as exc:
                raise ParameterError(key, f"{exc}; allowed: fewer spikes") from None

    def calibration_train(self, amplitude_V: float, spikes: int | None = None) -> SpikeTrain:
        t = self.spike_train()
        return replace(t, amplitude_V=amplitude_V, count=int(self.calibration_spikes if spikes is None else spikes))

    def calibrate(self, play: Callable[[float, int], int] | None = None, *, name: str = "calibration") -> Calibration:
        """Calibrate (ladder, then confirmation) and store every train (waveform ``name``).
        ``play(amplitude_V, spikes)`` plays one train and returns the spikes that fired (default: on the
        connected cell)."""
        if play is None:
            def play(amplitude_V: float, spikes: int) -> int:
                return int(np.count_nonzero(self.fire(self.calibration_train(amplitude_V, spikes)).fired))
        spikes = int(self.calibration_spikes)
        result = calibrate_amplitude(
            lambda amplitude_V: play(amplitude_V, spikes), start_v=self.calibration_start_V,
            stop_v=self.calibration_stop_V, step_v=self.calibration_step_V,
            coarse_steps=int(self.calibration_coarse_steps), spikes=spikes,
            min_fires=int(self.calibration_min_fires), should_stop=self.should_stop)
        if result.found and not result.stopped:
            start = round(result.amplitude_V + self.calibration_margin_V, 6)
            if self.calibration_confirm_spikes > 0:
                confirm_amplitude(result, play, start_v=start, stop_v=self.highest_spike_amplitude_V(),
                                  step_v=self.calibration_step_V, spikes=int(self.calibration_confirm_spikes),
                                  min_fraction=self.calibration_min_fires / spikes, should_stop=self.should_stop)
            else:
                result.operating_V = start
        if not result.stopped:
            emit_calibration(self, result, name)
            log.info("%s: ladder %s V, spikes at %s V (%d trains)", name, f"{result.amplitude_V:.3f}",
                     f"{result.operating_V:.3f}", len(result.fired))
        return result

    def calibration_failed_text(self) -> str:
        return (f"calibration: no spike amplitude from {self.calibration_start_V:g} V to "
                f"{self.highest_spike_amplitude_V():g} V made the cell fire on {self.calibration_min_fires} of "
                f"{self.calibration_spikes} spikes (and, with calibration_confirm_spikes, on the same fraction of "
                f"a longer train): raise calibration_stop_V, or give spike_amplitude_V")


# ------------------------------------------------------------------------------------------ procedure
class SpikeTrainProcedure(SpikeParametersMixin, ProgramParametersMixin,
                          common.ConductanceReadMixin, TspcmProcedure):
    """Firing response to spike trains, with the conductance read between trains."""

    name = "spike-train"
    REQUIRED_ROLES = ("smu", "pulse", "scope")
    KEY_PARAMETERS = ("spike_amplitude_V", "spikes_per_train", "trains", "target_conductances_S")
    BENCH_LIMITS = {"spike_amplitude_V": ("pulse", "voltage"), "set_amplitude_V": ("pulse", "voltage"),
                    "reset_amplitude_V": ("pulse", "voltage")}
    DATA_COLUMNS = ["State", "Train", "Conductance (S)", "Firing probability", "Firing events",
                    "Firing rate (Hz)", "Mean delay (s)", "Spikes", "Time (s)"]
    VIEWS = (
        {"title": "Firing probability vs conductance", "x": "Conductance (S)", "y": "Firing probability",
         "series": "State", "log_x": True, "style": "points",
         "features": ["firing_probability_mean", "probability_spearman_rho"]},
        {"title": "Scope traces with detected events", "kind": "traces", "threshold_parameter": "fire_current_A"},
        {"title": "Firing rate vs conductance", "x": "Conductance (S)", "y": "Firing rate (Hz)", "series": "State",
         "log_x": True, "style": "points"},
    )

    trains = IntegerParameter("Trains per state", minimum=1, maximum=100_000, default=5)
    target_conductances_S = Parameter("Target conductances (S, comma-separated, empty = as found)", default="")
    read_every = IntegerParameter("Read the conductance every N trains", minimum=1, maximum=100_000, default=1)
    train_interval_s = FloatParameter("Wait between trains", units="s", minimum=0.0, maximum=1e4, default=1e-3)
    store_traces = BooleanParameter("Store captured traces", default=True)

    def check_relations(self) -> None:
        self.check_spike_parameters()
        parse_conductances(self.target_conductances_S, "target_conductances_S")

    def estimate(self) -> list[tuple[str, str]]:
        states = len(parse_conductances(self.target_conductances_S, "target_conductances_S")) or 1
        trains = states * self.trains
        least = trains * (self.spikes_per_train * self.spike_period_s + self.train_interval_s)
        return [("Trains (rows)", f"{states} states x {self.trains} = {trains}"),
                ("Spikes", str(trains * self.spikes_per_train)),
                ("Time at least", duration_text(least))]

    def execute(self) -> None:
        targets = parse_conductances(self.target_conductances_S, "target_conductances_S") or [math.nan]
        clock = common.bench_clock(self.bench)
        train = self.spike_train()
        total = len(targets) * self.trains
        done = 0
        for state, target in enumerate(targets):
            if math.isfinite(target):
                result = self.program(target)
                if result.stopped:
                    return
                log.info("state %d: programmed to %.3g S (target %.3g S, %s after %d pulses)", state,
                         result.conductance_S, target, "converged" if result.converged else "NOT converged",
                         result.pulses)
                if not result.converged:
                    log.warning("state %d: program-and-verify did not reach %.3g S within %.0f %% "
                                "(read %.3g S); the trains run at the state reached", state, target,
                                100 * self.program_tolerance, result.conductance_S)
            configured = False
            for k in range(self.trains):
                if self.should_stop():
                    return
                g = self.read().conductance_S if k % self.read_every == 0 else math.nan
                t_start = clock.now_s()
                response = self.fire(train, configure=not configured)
                configured = True
                self.emit("results", {
                    "State": state, "Train": done, "Conductance (S)": g,
                    "Firing probability": response.probability, "Firing events": response.events,
                    "Firing rate (Hz)": response.rate_Hz, "Mean delay (s)": response.mean_delay_s,
                    "Spikes": train.count, "Time (s)": t_start})
                if self.store_traces:
                    emit_trace(self, f"state{state}_train{k}", response)
                done += 1
                self.report_progress(done, total)
                if self.train_interval_s > 0:
                    clock.wait(self.train_interval_s, self.should_stop)
