"""delay-recovery: the threshold switch's switching delay against overdrive, and its threshold recovery.

Both parts are set relative to the cell's threshold, because the delay and the recovery are functions of
the overdrive V - Vth, and cells differ (device-to-device spread) by more than the interesting overdrives:
with t_d = t_d0 exp(-(V - Vth)/V0) and V0 ~0.1 V, 50 mV shift the delay 1.6x. The threshold is measured
first (``threshold_V = 0``, the default): after the cell is programmed to ``initial_conductance_S`` (a
crystalline PCM, so the threshold is the switch's own), the median of ``threshold_ramps`` SMU ramps under
10 uA compliance (:func:`procedures.library.measure_threshold`: device voltage before the current jump); or it is given. It is
recorded in every row (``Threshold (V)``). Its error sets t_d0's: 10 mV is 10 % of t_d0 at V0 = 0.1 V.

Part 1, delay: single pulses from the pulse generator at Vth + each overdrive of ``delay_overdrives_V``
(``delay_repeats`` each, ``delay_gap_s`` apart so the threshold has recovered), the cell current
captured by the scope on the generator's sync; the delay is the time from the moment the pulse's leading
edge passes Vth (the edge is linear: at Vth/amplitude of it) to the current rising through
``fire_current_A`` (interpolated between samples). A pulse that does not fire within its width gives a NaN
delay. A switch's delay is a Poisson waiting time, exponentially distributed about its mean, so one pulse
says little: the analysis fits the mean against the overdrive by maximum likelihood over all repeats.

Part 2, recovery: paired pulses uploaded as one arbitrary waveform: a conditioning pulse
(Vth + ``conditioning_overdrive_V``) that fires the cell, an interval (from its trailing edge), then a
probe at each of ``probe_fractions`` x Vth (or at ``probe_amplitude_V`` when set), below the recovered
threshold. Just after turn-off the threshold is low and recovers towards Vth, so a probe fires at short
intervals and not at long ones: its firing probability (over ``recovery_repeats`` pairs whose
conditioning pulse fired) falls through 1/2 where the recovering threshold passes it. One probe level
gives that crossing only; several give the recovery itself, since the crossing interval t_f of the probe at
f x Vth is tau ln((1 - V_start/Vth)/(1 - f)) (analysis: drift.recovery_from_probes).

Rows (docs/analysis.md): delay rows ``Voltage (V)`` (the amplitude applied), ``Delay (s)``, ``Repeat``,
``Overdrive (V)``; recovery rows ``Interval (s)``, ``Firing probability``, ``Probe delay (s)``, ``Pairs``,
``Voltage (V)`` (the probe amplitude), ``Probe fraction``; NaN in the other part's columns;
``Threshold (V)`` in all (the analysis's reference for t_d0 and the probe fractions).
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, Parameter

from procedures import library as lib
from procedures.base import ParameterError, TspcmProcedure

log = logging.getLogger(__name__)


class DelayRecoveryProcedure(lib.ProgramParametersMixin, lib.ConductanceReadMixin, TspcmProcedure):
    """Switching delay versus overdrive; threshold recovery versus the paired-pulse interval."""

    name = "delay-recovery"
    REQUIRED_ROLES = ("smu", "pulse", "scope")
    KEY_PARAMETERS = ("delay_overdrives_V", "recovery_intervals_s", "probe_fractions", "threshold_V")
    BENCH_LIMITS = {
        "set_amplitude_V": ("pulse", "voltage"),
        "reset_amplitude_V": ("pulse", "voltage"),
        "probe_amplitude_V": ("pulse", "voltage"),
        "threshold_stop_V": ("smu", "voltage"),
    }
    DATA_COLUMNS = [
        "Voltage (V)",
        "Delay (s)",
        "Repeat",
        "Overdrive (V)",
        "Interval (s)",
        "Firing probability",
        "Probe delay (s)",
        "Pairs",
        "Probe fraction",
        "Threshold (V)",
        "Time (s)",
    ]
    VIEWS = (
        {
            "title": "Switching delay vs pulse amplitude",
            "x": "Voltage (V)",
            "y": "Delay (s)",
            "log_y": True,
            "style": "points",
            "features": ["v0_V", "td0_s"],
        },
        {
            "title": "Threshold recovery vs interval",
            "x": "Interval (s)",
            "y": "Firing probability",
            "log_x": True,
            "series": "Probe fraction",
            "labels": {},
            "style": "both",
            "features": ["recovery_tau_s", "t_recover_s"],
        },
    )

    PARAMETER_GROUPS = (
        ("Threshold", ("threshold_V", "threshold_ramps", "threshold_stop_V", "threshold_step_V"), False),
        ("Delay", ("measure_delay", "delay_overdrives_V", "delay_width_s", "delay_repeats", "delay_gap_s"), False),
        (
            "Recovery",
            (
                "measure_recovery",
                "conditioning_overdrive_V",
                "conditioning_width_s",
                "probe_fractions",
                "probe_amplitude_V",
                "probe_width_s",
                "recovery_intervals_s",
                "recovery_repeats",
                "recovery_gap_s",
            ),
            False,
        ),
        (
            "Scope",
            ("fire_current_A", "capture_interval_s", "scope_full_scale_A", "arb_sample_interval_s", "store_traces"),
            True,
        ),
    )

    initial_conductance_S = FloatParameter(
        "Program to this conductance first (0 = no)", units="S", minimum=0.0, maximum=1e-2, default=150e-6
    )
    # the threshold
    threshold_V = FloatParameter("Cell threshold (0 = measure)", units="V", minimum=0.0, maximum=10.0, default=0.0)
    threshold_ramps = IntegerParameter("Threshold ramps (median)", minimum=1, maximum=100, default=7)
    threshold_stop_V = FloatParameter("Threshold ramp stop", units="V", minimum=0.1, maximum=10.0, default=2.5)
    threshold_step_V = FloatParameter("Threshold ramp step", units="V", minimum=0.001, maximum=0.5, default=0.01)
    # part 1
    measure_delay = BooleanParameter("Measure delay vs overdrive", default=True)
    delay_overdrives_V = Parameter(
        "Delay pulse overdrives above Vth (V, comma-separated)", default="0.05, 0.1, 0.15, 0.2, 0.25, 0.3"
    )
    delay_width_s = FloatParameter("Delay pulse width", units="s", minimum=16e-9, maximum=1e-3, default=1e-6)
    delay_repeats = IntegerParameter("Pulses per amplitude", minimum=1, maximum=10_000, default=20)
    delay_gap_s = FloatParameter("Wait between delay pulses", units="s", minimum=0.0, maximum=10.0, default=10e-6)
    # part 2
    measure_recovery = BooleanParameter("Measure threshold recovery", default=True)
    conditioning_overdrive_V = FloatParameter(
        "Conditioning pulse overdrive above Vth", units="V", minimum=0.0, maximum=5.0, default=0.5
    )
    conditioning_width_s = FloatParameter(
        "Conditioning pulse width", units="s", minimum=8e-9, maximum=1e-3, default=100e-9
    )
    probe_fractions = Parameter("Probe amplitudes / Vth (comma-separated)", default="0.6, 0.75, 0.9")
    probe_amplitude_V = FloatParameter(
        "Probe amplitude (0 = probe_fractions x Vth)", units="V", minimum=0.0, maximum=10.0, default=0.0
    )
    probe_width_s = FloatParameter("Probe pulse width", units="s", minimum=8e-9, maximum=1e-3, default=200e-9)
    recovery_intervals_s = Parameter(
        "Pulse intervals (s, comma-separated)",
        default="40e-9, 70e-9, 100e-9, 150e-9, 200e-9, 300e-9, 400e-9, 600e-9, 800e-9, 1.1e-6, 1.6e-6, 3.2e-6",
    )
    recovery_repeats = IntegerParameter("Pairs per interval", minimum=1, maximum=10_000, default=12)
    recovery_gap_s = FloatParameter("Wait between pairs", units="s", minimum=0.0, maximum=10.0, default=10e-6)
    # capture
    fire_current_A = FloatParameter(
        "Firing current threshold", units="A", minimum=1e-7, maximum=1e-2, default=lib.FIRE_CURRENT_A
    )
    capture_interval_s = FloatParameter("Scope sample interval", units="s", minimum=1e-10, maximum=1e-3, default=1e-9)
    scope_full_scale_A = FloatParameter("Scope full scale", units="A", minimum=1e-6, maximum=0.1, default=1e-3)
    arb_sample_interval_s = FloatParameter(
        "Arb sample interval (paired pulses)",
        units="s",
        minimum=lib.ARB_MIN_INTERVAL_S,
        maximum=1e-6,
        default=lib.ARB_MIN_INTERVAL_S,
    )
    store_traces = BooleanParameter("Store captured traces", default=False)

    #: the threshold of this run (V): threshold_V, or the measured one
    vth: float = math.nan

    def overdrives(self) -> list[float]:
        return lib.parse_values(self.delay_overdrives_V, "delay_overdrives_V", "V", -1.0, 5.0)

    def fractions(self) -> list[float]:
        return lib.parse_values(self.probe_fractions, "probe_fractions", "x Vth", 0.05, 0.99)

    def intervals(self) -> list[float]:
        return lib.parse_values(
            self.recovery_intervals_s, "recovery_intervals_s", "s", self.arb_sample_interval_s, 1e-3
        )

    def check_relations(self) -> None:
        if not (self.measure_delay or self.measure_recovery):
            raise ParameterError("measure_delay", "both parts are off: turn on measure_delay or measure_recovery")
        if self.initial_conductance_S and self.initial_conductance_S < 1e-7:
            raise ParameterError("initial_conductance_S", "must be 0 (no programming) or from 1e-07 S to 0.01 S")
        if 0 < self.probe_amplitude_V < 0.1:
            raise ParameterError(
                "probe_amplitude_V",
                f"must be 0 (probe_fractions x Vth) or from 0.1 V to 10 V, got {self.probe_amplitude_V:g} V",
            )
        if self.probe_amplitude_V and self.threshold_V and self.probe_amplitude_V >= self.threshold_V:
            raise ParameterError(
                "probe_amplitude_V",
                f"must be below threshold_V ({self.threshold_V:g} V): the probe "
                "tests a threshold that has not recovered yet",
            )
        if 0 < self.threshold_V < 0.1:
            raise ParameterError(
                "threshold_V", f"must be 0 (measure) or from 0.1 V to 10 V, got {self.threshold_V:g} V"
            )
        if self.threshold_step_V >= self.threshold_stop_V:
            raise ParameterError("threshold_step_V", f"must be below threshold_stop_V ({self.threshold_stop_V:g} V)")
        self.overdrives()
        self.intervals()
        self.fractions()
        if self.fire_current_A >= self.scope_full_scale_A:
            raise ParameterError("fire_current_A", f"must be below scope_full_scale_A ({self.scope_full_scale_A:g} A)")
        for key in ("conditioning_width_s", "probe_width_s"):
            if getattr(self, key) < self.arb_sample_interval_s:
                raise ParameterError(key, f"must be at least arb_sample_interval_s ({self.arb_sample_interval_s:g} s)")

    def check_bench_limits(self, bench) -> None:
        super().check_bench_limits(bench)
        limit, where = bench.limit("pulse", "voltage")
        if limit is None:
            return
        # with a measured threshold the amplitudes are known only during the run (checked there too);
        # a given threshold lets every amplitude be checked now
        vth = self.threshold_V or None
        top_od = max(self.overdrives() + [self.conditioning_overdrive_V])
        if vth is not None and vth + top_od > limit:
            key = (
                "delay_overdrives_V"
                if max(self.overdrives()) >= self.conditioning_overdrive_V
                else "conditioning_overdrive_V"
            )
            raise ParameterError(
                key,
                f"Vth {vth:g} V + {top_od:g} V exceeds the pulse generator's bench limit "
                f"{limit:g} V ({where}); allowed: up to {limit - vth:g} V above Vth",
            )
        if self.threshold_stop_V + top_od > limit:
            raise ParameterError(
                "threshold_stop_V",
                f"a threshold up to {self.threshold_stop_V:g} V plus the "
                f"largest overdrive ({top_od:g} V) could exceed the pulse generator's bench limit "
                f"{limit:g} V ({where}); allowed: threshold_stop_V up to {limit - top_od:g} V",
            )

    # ------------------------------------------------------------------ the threshold
    def find_threshold(self) -> float:
        """The cell threshold (V): given, or the median of ``threshold_ramps`` SMU ramps."""
        if self.threshold_V > 0:
            return float(self.threshold_V)
        values = []
        for _ in range(self.threshold_ramps):
            if self.should_stop():
                return math.nan
            sweep = lib.measure_threshold(
                self.bench, stop_voltage_v=self.threshold_stop_V, step_v=self.threshold_step_V
            )
            values.append(sweep.threshold_V)
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            raise RuntimeError(
                f"threshold: no current jump in {self.threshold_ramps} ramp(s) up to "
                f"{self.threshold_stop_V:g} V (raise threshold_stop_V, or give threshold_V)"
            )
        vth = float(np.median(finite))
        log.info("cell threshold %.3f V (median of %s V)", vth, ", ".join(f"{v:.3f}" for v in values))
        return vth

    def fire(self, train: lib.SpikeTrain, *, configure: bool) -> lib.TrainResponse:
        """Play ``train`` once and capture the cell's response (no tail after the last pulse)."""
        return lib.fire_train(
            self.bench,
            train,
            fire_current_A=self.fire_current_A,
            sample_interval_s=self.capture_interval_s,
            full_scale_current_A=self.scope_full_scale_A,
            tail_s=0.0,
            configure=configure,
        )

    # ------------------------------------------------------------------ part 1
    def measure_delays(self, clock, progress) -> bool:
        edge = getattr(self.bench.pulse, "MIN_EDGE_S", 8.4e-9)
        for a, overdrive in enumerate(self.overdrives()):
            amplitude = round(self.vth + overdrive, 6)
            train = lib.SpikeTrain(amplitude, self.delay_width_s, self.delay_width_s + 4 * edge, 1)
            for k in range(self.delay_repeats):
                if self.should_stop():
                    return False
                t_start = clock.now_s()
                response = self.fire(train, configure=(k == 0))
                # from the moment the leading edge passes the threshold (onsets are at half rise)
                delay = float(response.delay_s[0]) - edge * (min(self.vth / amplitude, 1.0) - 0.5)
                if not delay < self.delay_width_s - edge / 2:
                    delay = math.nan  # no firing while the pulse was at its top: no delay at this amplitude
                self.emit(
                    "results",
                    {
                        "Voltage (V)": amplitude,
                        "Delay (s)": delay,
                        "Repeat": k,
                        "Overdrive (V)": overdrive,
                        "Threshold (V)": self.vth,
                        "Time (s)": t_start,
                    },
                )
                if self.store_traces:
                    lib.emit_trace(self, f"delay_{a}_{k}", response)
                if self.delay_gap_s > 0:
                    clock.wait(self.delay_gap_s, self.should_stop)
            progress()
        return True

    # ------------------------------------------------------------------ part 2
    @property
    def conditioning_amplitude_V(self) -> float:
        return round(self.vth + self.conditioning_overdrive_V, 6)

    def probe_levels_V(self) -> list[float]:
        """The probe amplitudes (V): probe_amplitude_V, or each of probe_fractions x Vth."""
        if self.probe_amplitude_V > 0:
            return [float(self.probe_amplitude_V)]
        return [round(f * self.vth, 6) for f in self.fractions()]

    def pair_samples(self, interval_s: float, probe_V: float) -> tuple[np.ndarray, float, float]:
        """(samples, probe start time, interval used) of one conditioning + probe pair on the arb grid."""
        dt = self.arb_sample_interval_s
        lead = 2
        n1 = max(int(round(self.conditioning_width_s / dt)), 1)
        gap = max(int(round(interval_s / dt)), 1)
        n2 = max(int(round(self.probe_width_s / dt)), 1)
        tail = max(n2, 8)
        samples = np.concatenate(
            [
                np.zeros(lead),
                np.full(n1, self.conditioning_amplitude_V),
                np.zeros(gap),
                np.full(n2, probe_V),
                np.zeros(tail),
            ]
        )
        return samples, (lead + n1 + gap) * dt, gap * dt

    def measure_recovery_curve(self, clock, progress) -> bool:
        dt = self.arb_sample_interval_s
        for probe_V in self.probe_levels_V():
            for j, interval in enumerate(self.intervals()):
                if not self.measure_pairs(clock, probe_V, j, interval, dt):
                    return False
                progress()
        return True

    def measure_pairs(self, clock, probe_V: float, j: int, interval: float, dt: float) -> bool:
        """``recovery_repeats`` pairs at one interval and probe level; one row."""
        samples, t_probe, used = self.pair_samples(interval, probe_V)
        duration = samples.size * dt
        train = lib.SpikeTrain(
            self.conditioning_amplitude_V, self.conditioning_width_s, duration, 1, "arb", arb_sample_interval_s=dt
        )
        self.bench.pulse.configure_spike_train(samples, dt, count=1, name="PAIR")
        fired_probe, delays = [], []
        t_start = clock.now_s()
        for k in range(self.recovery_repeats):
            if self.should_stop():
                return False
            response = self.fire(train, configure=False)
            t, i = response.t_s, response.current_A
            t_cross = lib.crossings_s(t, i, self.fire_current_A)[1]
            cond = np.count_nonzero(t_cross < t_probe)
            probe = lib.first_after_s(t_cross, [t_probe], duration - t_probe)[0]
            if self.store_traces:
                lib.emit_trace(self, f"pair_{probe_V:.3f}V_{j}_{k}", response)
            if cond > 0:  # only pairs whose conditioning pulse fired say anything about recovery
                fired_probe.append(math.isfinite(probe))
                if math.isfinite(probe):
                    delays.append(probe)
            if self.recovery_gap_s > 0:
                clock.wait(self.recovery_gap_s, self.should_stop)
        probability = float(np.mean(fired_probe)) if fired_probe else math.nan
        if not fired_probe:
            log.warning(
                "interval %.3g s: the conditioning pulse never fired (%d pairs); raise conditioning_overdrive_V",
                used,
                self.recovery_repeats,
            )
        self.emit(
            "results",
            {
                "Interval (s)": used,
                "Firing probability": probability,
                "Probe delay (s)": float(np.mean(delays)) if delays else math.nan,
                "Pairs": len(fired_probe),
                "Voltage (V)": probe_V,
                "Probe fraction": round(probe_V / self.vth, 6),
                "Threshold (V)": self.vth,
                "Time (s)": t_start,
            },
        )
        return True

    def check_amplitudes(self) -> None:
        """Every amplitude of the run within the pulse generator's bench limit, now that Vth is known."""
        limit, where = self.bench.limit("pulse", "voltage")
        top = self.vth + max(self.overdrives() + [self.conditioning_overdrive_V])
        probes = self.probe_levels_V() if self.measure_recovery else [0.0]
        if limit is not None and max(top, *probes) > limit:
            raise RuntimeError(
                f"Vth {self.vth:.3f} V + the largest overdrive = {top:.3f} V exceeds the pulse "
                f"generator's bench limit {limit:g} V ({where}); nothing was applied"
            )
        if self.measure_recovery and max(probes) >= self.vth:
            log.warning(
                "the probe (%.3f V) is not below the measured threshold (%.3f V): it will fire at every "
                "interval; lower probe_amplitude_V or set it to 0 (probe_fractions x Vth)",
                max(probes),
                self.vth,
            )

    def estimate(self) -> list[tuple[str, str]]:
        out = []
        if self.measure_delay:
            n = len(self.overdrives())
            out.append(("Delay pulses", f"{n} amplitudes x {self.delay_repeats} = {n * self.delay_repeats}"))
        if self.measure_recovery:
            n, probes = len(self.intervals()), 1 if self.probe_amplitude_V > 0 else len(self.fractions())
            out.append(
                (
                    "Pulse pairs",
                    f"{n} intervals x {probes} probe levels x {self.recovery_repeats} = "
                    f"{n * probes * self.recovery_repeats}",
                )
            )
        if self.threshold_V == 0:
            out.append(("First", f"the threshold: median of {self.threshold_ramps} DC ramps"))
        return out

    def execute(self) -> None:
        clock = self.bench.clock
        if self.initial_conductance_S > 0:
            result = self.program(self.initial_conductance_S)
            if result.stopped:
                return
            log.info(
                "programmed to %.3g S (target %.3g S, %s)",
                result.conductance_S,
                self.initial_conductance_S,
                "converged" if result.converged else "NOT converged",
            )
        self.vth = self.find_threshold()
        if not math.isfinite(self.vth):
            return  # stopped
        self.check_amplitudes()
        steps = len(self.overdrives()) if self.measure_delay else 0
        steps += len(self.intervals()) * len(self.probe_levels_V()) if self.measure_recovery else 0
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
