"""delay-recovery: the threshold switch's switching delay against overdrive, and its threshold recovery.

Part 1, delay: single pulses from the pulse generator at each amplitude of ``delay_amplitudes_V``
(``delay_repeats`` each, ``delay_gap_s`` apart so the threshold has recovered), the cell current
captured by the scope on the generator's sync; the delay is the time from the pulse's leading edge
(half rise) to the current rising through ``fire_current_A`` (interpolated between samples). A pulse
that does not fire within its width gives a NaN delay. Expected: ln t_d falling linearly with the
amplitude (t_d = t_d0 exp(-(V - Vth)/V0)).

Part 2, recovery: paired pulses uploaded as one arbitrary waveform: a conditioning pulse that fires
the cell, an interval (from its trailing edge), then a probe pulse below the recovered threshold. Just
after turn-off the threshold is near the hold voltage and recovers towards Vth, so the probe fires
at short intervals and not at long ones: the probe's firing probability (over ``recovery_repeats``
pairs whose conditioning pulse fired) against the interval gives the recovery time.

Both parts need a cell that carries more than ``fire_current_A`` once fired: by default it is first
programmed to ``initial_conductance_S`` (a mostly crystalline PCM, so the threshold is the switch's).

Rows (docs/analysis.md): delay rows ``Voltage (V)``, ``Delay (s)``, ``Repeat``; recovery rows
``Interval (s)``, ``Firing probability``, ``Probe delay (s)``, ``Pairs``; NaN in the other part's
columns.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, Parameter

from procedures import common
from procedures.base import ParameterError, TspcmProcedure
from procedures.spike_train import (ARB_MIN_INTERVAL_S, FIRE_CURRENT_A, ProgramParametersMixin, SpikeTrain,
                                    emit_trace, fire_train, first_event_delays_s)

log = logging.getLogger(__name__)


def parse_values(text: str, parameter: str, unit: str, low: float, high: float) -> list[float]:
    """'1.2, 1.3' -> [1.2, 1.3]; each within [low, high] (in ``unit``); ParameterError otherwise."""
    items = [s for s in str(text or "").replace(";", ",").replace(" ", ",").split(",") if s.strip()]
    if not items:
        raise ParameterError(parameter, f"is empty; give values in {unit} separated by commas")
    values = []
    for item in items:
        try:
            x = float(item)
        except ValueError:
            raise ParameterError(parameter, f"{item!r} is not a number; give values in {unit} separated by "
                                 "commas") from None
        if not (math.isfinite(x) and low <= x <= high):
            raise ParameterError(parameter, f"{x:g} {unit} is outside the allowed {low:g} {unit} to {high:g} {unit}")
        values.append(x)
    return values


class DelayRecoveryProcedure(ProgramParametersMixin, common.ConductanceReadMixin, TspcmProcedure):
    """Switching delay versus overdrive; threshold recovery versus the paired-pulse interval."""

    name = "delay-recovery"
    REQUIRED_ROLES = ("smu", "pulse", "scope")
    KEY_PARAMETERS = ("delay_amplitudes_V", "recovery_intervals_s", "probe_amplitude_V")
    BENCH_LIMITS = {"conditioning_amplitude_V": ("pulse", "voltage"), "probe_amplitude_V": ("pulse", "voltage"),
                    "set_amplitude_V": ("pulse", "voltage"), "reset_amplitude_V": ("pulse", "voltage")}
    DATA_COLUMNS = ["Voltage (V)", "Delay (s)", "Repeat", "Interval (s)", "Firing probability",
                    "Probe delay (s)", "Pairs", "Time (s)"]

    initial_conductance_S = FloatParameter("Program to this conductance first (0 = no)", units="S",
                                           minimum=0.0, maximum=1e-2, default=100e-6)
    # part 1
    measure_delay = BooleanParameter("Measure delay vs overdrive", default=True)
    delay_amplitudes_V = Parameter("Delay pulse amplitudes (V, comma-separated)",
                                   default="1.15, 1.2, 1.25, 1.3, 1.35, 1.4")
    delay_width_s = FloatParameter("Delay pulse width", units="s", minimum=16e-9, maximum=1e-3, default=1e-6)
    delay_repeats = IntegerParameter("Pulses per amplitude", minimum=1, maximum=10_000, default=5)
    delay_gap_s = FloatParameter("Wait between delay pulses", units="s", minimum=0.0, maximum=10.0, default=10e-6)
    # part 2
    measure_recovery = BooleanParameter("Measure threshold recovery", default=True)
    conditioning_amplitude_V = FloatParameter("Conditioning pulse amplitude", units="V", minimum=0.1,
                                              maximum=10.0, default=1.5)
    conditioning_width_s = FloatParameter("Conditioning pulse width", units="s", minimum=8e-9, maximum=1e-3,
                                          default=100e-9)
    probe_amplitude_V = FloatParameter("Probe pulse amplitude", units="V", minimum=0.1, maximum=10.0, default=1.1)
    probe_width_s = FloatParameter("Probe pulse width", units="s", minimum=8e-9, maximum=1e-3, default=200e-9)
    recovery_intervals_s = Parameter("Pulse intervals (s, comma-separated)",
                                     default="40e-9, 80e-9, 160e-9, 320e-9, 640e-9, 1.28e-6, 2.56e-6")
    recovery_repeats = IntegerParameter("Pairs per interval", minimum=1, maximum=10_000, default=8)
    recovery_gap_s = FloatParameter("Wait between pairs", units="s", minimum=0.0, maximum=10.0, default=10e-6)
    # capture
    fire_current_A = FloatParameter("Firing current threshold", units="A", minimum=1e-7, maximum=1e-2,
                                    default=FIRE_CURRENT_A)
    capture_interval_s = FloatParameter("Scope sample interval", units="s", minimum=1e-10, maximum=1e-3,
                                        default=1e-9)
    scope_full_scale_A = FloatParameter("Scope full scale", units="A", minimum=1e-6, maximum=0.1, default=1e-3)
    arb_sample_interval_s = FloatParameter("Arb sample interval (paired pulses)", units="s",
                                           minimum=ARB_MIN_INTERVAL_S, maximum=1e-6, default=ARB_MIN_INTERVAL_S)
    store_traces = BooleanParameter("Store captured traces", default=False)

    def check_relations(self) -> None:
        if not (self.measure_delay or self.measure_recovery):
            raise ParameterError("measure_delay", "both parts are off: turn on measure_delay or measure_recovery")
        if self.initial_conductance_S and self.initial_conductance_S < 1e-7:
            raise ParameterError("initial_conductance_S", "must be 0 (no programming) or from 1e-07 S to 0.01 S")
        parse_values(self.delay_amplitudes_V, "delay_amplitudes_V", "V", 0.05, 10.0)
        parse_values(self.recovery_intervals_s, "recovery_intervals_s", "s", self.arb_sample_interval_s, 1e-3)
        if self.fire_current_A >= self.scope_full_scale_A:
            raise ParameterError("fire_current_A", f"must be below scope_full_scale_A ({self.scope_full_scale_A:g} A)")
        for key in ("conditioning_width_s", "probe_width_s"):
            if getattr(self, key) < self.arb_sample_interval_s:
                raise ParameterError(key, f"must be at least arb_sample_interval_s ({self.arb_sample_interval_s:g} s)")
        if self.probe_amplitude_V >= self.conditioning_amplitude_V:
            raise ParameterError("probe_amplitude_V", "must be below conditioning_amplitude_V "
                                 f"({self.conditioning_amplitude_V:g} V): the probe tests a not yet recovered threshold")

    def check_bench_limits(self, bench) -> None:
        super().check_bench_limits(bench)
        from procedures.base import role_limit

        limit, where = role_limit(bench, "pulse", "voltage")
        if limit is not None:
            worst = max(abs(v) for v in parse_values(self.delay_amplitudes_V, "delay_amplitudes_V", "V", 0.05, 10.0))
            if worst > limit:
                raise ParameterError("delay_amplitudes_V", f"{worst:g} V exceeds the bench limit {limit:g} V "
                                     f"({where}); allowed: up to {limit:g} V")

    # ------------------------------------------------------------------ part 1
    def measure_delays(self, clock, progress) -> bool:
        amplitudes = parse_values(self.delay_amplitudes_V, "delay_amplitudes_V", "V", 0.05, 10.0)
        edge = getattr(self.bench.pulse, "MIN_EDGE_S", 8.4e-9)
        for a, amplitude in enumerate(amplitudes):
            train = SpikeTrain(amplitude, self.delay_width_s, self.delay_width_s + 4 * edge, 1)
            for k in range(self.delay_repeats):
                if self.should_stop():
                    return False
                t_start = clock.now_s()
                response = fire_train(self.bench, train, fire_current_A=self.fire_current_A,
                                      sample_interval_s=self.capture_interval_s,
                                      full_scale_current_A=self.scope_full_scale_A,
                                      tail_s=0.0, configure=(k == 0))
                delay = float(response.delay_s[0])
                if not delay < self.delay_width_s - edge / 2:
                    delay = math.nan  # no firing while the pulse was at its top: no delay at this amplitude
                self.emit("results", {"Voltage (V)": amplitude, "Delay (s)": delay, "Repeat": k,
                                      "Time (s)": t_start})
                if self.store_traces:
                    emit_trace(self, f"delay_{a}_{k}", response)
                if self.delay_gap_s > 0:
                    clock.wait(self.delay_gap_s, self.should_stop)
            progress()
        return True

    # ------------------------------------------------------------------ part 2
    def pair_samples(self, interval_s: float) -> tuple[np.ndarray, float, float]:
        """(samples, probe start time, interval used) of one conditioning + probe pair on the arb grid."""
        dt = self.arb_sample_interval_s
        lead = 2
        n1 = max(int(round(self.conditioning_width_s / dt)), 1)
        gap = max(int(round(interval_s / dt)), 1)
        n2 = max(int(round(self.probe_width_s / dt)), 1)
        tail = max(n2, 8)
        samples = np.concatenate([np.zeros(lead), np.full(n1, self.conditioning_amplitude_V), np.zeros(gap),
                                  np.full(n2, self.probe_amplitude_V), np.zeros(tail)])
        return samples, (lead + n1 + gap) * dt, gap * dt

    def measure_recovery_curve(self, clock, progress) -> bool:
        intervals = parse_values(self.recovery_intervals_s, "recovery_intervals_s", "s",
                                 self.arb_sample_interval_s, 1e-3)
        dt = self.arb_sample_interval_s
        for j, interval in enumerate(intervals):
            samples, t_probe, used = self.pair_samples(interval)
            duration = samples.size * dt
            train = SpikeTrain(self.conditioning_amplitude_V, self.conditioning_width_s, duration, 1, "arb",
                               arb_sample_interval_s=dt)
            self.bench.pulse.configure_spike_train(samples, dt, count=1, name="PAIR")
            fired_probe, delays = [], []
            t_start = clock.now_s()
            for k in range(self.recovery_repeats):
                if self.should_stop():
                    return False
                response = fire_train(self.bench, train, fire_current_A=self.fire_current_A,
                                      sample_interval_s=self.capture_interval_s,
                                      full_scale_current_A=self.scope_full_scale_A, tail_s=0.0, configure=False)
                t, i = response.t_s, response.current_A
                cond = common.events_per_window(t, i, self.fire_current_A, [0.0], t_probe)[0]
                probe = first_event_delays_s(t, i, self.fire_current_A, [t_probe], duration - t_probe)[0]
                if self.store_traces:
                    emit_trace(self, f"pair_{j}_{k}", response)
                if cond > 0:  # only pairs whose conditioning pulse fired say anything about recovery
                    fired_probe.append(math.isfinite(probe))
                    if math.isfinite(probe):
                        delays.append(probe)
                if self.recovery_gap_s > 0:
                    clock.wait(self.recovery_gap_s, self.should_stop)
            probability = float(np.mean(fired_probe)) if fired_probe else math.nan
            if not fired_probe:
                log.warning("interval %.3g s: the conditioning pulse never fired (%d pairs); raise "
                            "conditioning_amplitude_V", used, self.recovery_repeats)
            self.emit("results", {"Interval (s)": used, "Firing probability": probability,
                                  "Probe delay (s)": float(np.mean(delays)) if delays else math.nan,
                                  "Pairs": len(fired_probe), "Time (s)": t_start})
            progress()
        return True

    def execute(self) -> None:
        clock = common.bench_clock(self.bench)
        if self.initial_conductance_S > 0:
            result = self.program(self.initial_conductance_S)
            if result.stopped:
                return
            log.info("programmed to %.3g S (target %.3g S, %s)", result.conductance_S, self.initial_conductance_S,
                     "converged" if result.converged else "NOT converged")
        steps = (len(parse_values(self.delay_amplitudes_V, "delay_amplitudes_V", "V", 0.05, 10.0))
                 if self.measure_delay else 0)
        steps += (len(parse_values(self.recovery_intervals_s, "recovery_intervals_s", "s",
                                   self.arb_sample_interval_s, 1e-3)) if self.measure_recovery else 0)
        done = [0]

        def progress():
            done[0] += 1
            self.report_progress(done[0], steps)

        if self.measure_delay and not self.measure_delays(clock, progress):
            return
        if self.measure_recovery and not self.measure_recovery_curve(clock, progress):
            return
        g = self.read().conductance_S
        log.info("conductance after the run: %.3g S", g)
