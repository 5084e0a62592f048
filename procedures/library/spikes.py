"""Spike trains from the pulse generator and the captured firing response: the train
(:class:`SpikeTrain`), playing it (:func:`fire_train`), storing it (:func:`emit_trace`) and the
parameters a procedure declares for it (:class:`SpikeParametersMixin`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter, ListParameter

from instruments.benchlike import BenchLike
from procedures.library.errors import ParameterError
from procedures.library.events import crossings_s, first_after_s
from procedures.library.parameters import ParameterGroups

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


class Emitter(Protocol):
    """What stores waveforms: a procedure (PyMeasure's ``Procedure.emit``)."""

    def emit(self, topic: str, record: Any) -> None: ...


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
        raise ParameterError(
            f"{prefix}period_s",
            f"must exceed {prefix}width_s + 2 edges = {train.width_s + 2 * edge:g} s, got {train.period_s:g} s",
        )
    if train.waveform == "arb":
        dt = train.arb_sample_interval_s
        if dt < ARB_MIN_INTERVAL_S or train.width_s < dt:
            raise ParameterError(
                "arb_sample_interval_s",
                f"must be from {ARB_MIN_INTERVAL_S:g} s to {prefix}width_s ({train.width_s:g} s), got {dt:g} s",
            )
        for key, value in ((f"{prefix}period_s", train.period_s), (f"{prefix}width_s", train.width_s)):
            steps = value / dt
            if abs(steps - round(steps)) > 1e-6 * max(steps, 1.0):
                raise ParameterError(
                    key,
                    f"must be a whole number of arb_sample_interval_s ({dt:g} s) "
                    f"for an arbitrary spike train, got {value:g} s",
                )
        points = train.count * round(train.period_s / dt) + 1
        if points > ARB_MAX_POINTS:
            raise ParameterError(
                "spikes_per_train",
                f"the arbitrary train would need {points} samples; allowed: up to "
                f"{ARB_MAX_POINTS} (fewer spikes, or a longer arb_sample_interval_s)",
            )


def capture_interval_s(train: SpikeTrain, requested_s: float, tail_s: float = 0.0) -> float:
    """The scope sample interval for a train (s): ``requested_s``, lengthened if the record would
    exceed MAX_CAPTURE_POINTS. ValueError if that no longer resolves a spike."""
    record = train.duration_s + tail_s
    interval = max(requested_s, record / MAX_CAPTURE_POINTS)
    if interval > train.width_s / SAMPLES_PER_WIDTH:
        raise ValueError(
            f"a {record:g} s record in {MAX_CAPTURE_POINTS} points samples every {interval:g} s, "
            f"more than width/{SAMPLES_PER_WIDTH} = {train.width_s / SAMPLES_PER_WIDTH:g} s"
        )
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


def configure_train(bench: BenchLike, train: SpikeTrain, name: str = "SPIKES") -> None:
    """Program the pulse generator with ``train`` (played once per trigger)."""
    pulse = bench.pulse
    if train.waveform == "arb":
        pulse.configure_spike_train(train.arb_samples_V(), train.arb_sample_interval_s, count=1, name=name)
    else:
        pulse.configure_pulse_train(
            train.amplitude_V, train.width_s, period_s=train.period_s, count=train.count, edge_s=train.edge_s
        )


def fire_train(
    bench: BenchLike,
    train: SpikeTrain,
    *,
    fire_current_A: float = FIRE_CURRENT_A,
    sample_interval_s: float = 1e-9,
    full_scale_current_A: float = 1e-3,
    tail_s: float | None = None,
    name: str = "SPIKES",
    configure: bool = True,
) -> TrainResponse:
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
    # one edge detection for both (events are counted by their first sample, as events.events_per_window)
    t_sample, t_cross = crossings_s(cap.t_s, cap.current_a, fire_current_A)
    window = np.floor(t_sample / train.period_s).astype(np.int64)
    events = np.bincount(window[(window >= 0) & (window < train.count)], minlength=train.count).astype(np.int64)
    delays = first_after_s(t_cross, starts, train.period_s) - (onsets - starts)
    return TrainResponse(
        train,
        np.asarray(cap.t_s, float),
        np.asarray(cap.current_a, float),
        float(cap.meta.get("xincrement_s", interval)),
        events,
        delays,
        fire_current_A,
    )


def emit_trace(procedure: Emitter, name: str, response: TrainResponse) -> None:
    """Store a captured train as a waveform (current against time from the trigger)."""
    t = response.t_s
    dt = float(np.median(np.diff(t))) if t.size > 1 else response.sample_interval_s
    procedure.emit(
        "waveform",
        {
            "name": name,
            "y": response.current_A,
            "dt": dt,
            "t0": float(t[0]) if t.size else 0.0,
            "y_label": "Current (A)",
            "x_label": "Time (s)",
        },
    )
    procedure.emit(
        "waveform",
        {
            "name": f"{name}_events",
            "y": response.events_per_spike.astype(float),
            "x": np.arange(response.events_per_spike.size, dtype=float),
            "y_label": "Firing events",
            "x_label": "Spike",
        },
    )


# ------------------------------------------------------------------------------------------ parameters
class SpikeParametersMixin:
    """The spike train and its capture, shared by spike-train, learning-loop and pattern.
    Defaults: near-threshold spikes that fire a partly crystalline cell on the simulated bench."""

    PARAMETER_GROUPS: ClassVar[ParameterGroups] = (
        ("Spikes", ("spike_amplitude_V", "spike_width_s", "spike_period_s", "spikes_per_train"), False),
        (
            "Waveform and scope",
            ("spike_waveform", "arb_sample_interval_s", "fire_current_A", "capture_interval_s", "scope_full_scale_A"),
            True,
        ),
    )

    spike_amplitude_V = FloatParameter("Spike amplitude", units="V", minimum=0.1, maximum=10.0, default=1.6)
    # 200 ns: a RESET-side cell's switching delay is long (the voltage division keeps its overdrive small)
    spike_width_s = FloatParameter("Spike width", units="s", minimum=16e-9, maximum=1e-3, default=200e-9)
    spike_period_s = FloatParameter("Spike period", units="s", minimum=50e-9, maximum=1.0, default=2e-6)
    spikes_per_train = IntegerParameter("Spikes per train", minimum=1, maximum=10_000, default=10)
    spike_waveform = ListParameter("Spike waveform", choices=["pulse", "arb"], default="pulse")
    arb_sample_interval_s = FloatParameter(
        "Arb sample interval", units="s", minimum=ARB_MIN_INTERVAL_S, maximum=1e-3, default=ARB_MIN_INTERVAL_S
    )
    fire_current_A = FloatParameter(
        "Firing current threshold", units="A", minimum=1e-7, maximum=1e-2, default=FIRE_CURRENT_A
    )
    capture_interval_s = FloatParameter("Scope sample interval", units="s", minimum=1e-10, maximum=1e-3, default=1e-9)
    scope_full_scale_A = FloatParameter("Scope full scale", units="A", minimum=1e-6, maximum=0.1, default=1e-3)

    if TYPE_CHECKING:  # given by the procedure this mixes into (TspcmProcedure)
        bench: BenchLike

    def spike_train(self) -> SpikeTrain:
        return SpikeTrain(
            self.spike_amplitude_V,
            self.spike_width_s,
            self.spike_period_s,
            int(self.spikes_per_train),
            self.spike_waveform,
            arb_sample_interval_s=self.arb_sample_interval_s,
        )

    def check_spike_parameters(self) -> None:
        train = self.spike_train()
        check_spike_train(train)
        if self.fire_current_A >= self.scope_full_scale_A:
            raise ParameterError(
                "fire_current_A",
                f"must be below scope_full_scale_A ({self.scope_full_scale_A:g} A), got {self.fire_current_A:g} A",
            )
        try:
            capture_interval_s(train, self.capture_interval_s, train.period_s)
        except ValueError as exc:
            raise ParameterError("spikes_per_train", f"{exc}; allowed: fewer spikes or a shorter period") from None

    def fire(self, train: SpikeTrain | None = None, *, configure: bool = True) -> TrainResponse:
        return fire_train(
            self.bench,
            train or self.spike_train(),
            fire_current_A=self.fire_current_A,
            sample_interval_s=self.capture_interval_s,
            full_scale_current_A=self.scope_full_scale_A,
            configure=configure,
        )
