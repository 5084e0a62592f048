"""pulse-train: potentiation and depression of the PCM by identical pulses (or an amplitude ladder).

Each cycle is a potentiation phase (``potentiation_pulses`` SET pulses from the pulse generator) then
a depression phase (``depression_pulses`` partial-RESET pulses). The conductance is read (the SMU read
of :mod:`procedures.library.read`) before the first pulse of each phase and after every ``read_every``
pulses; the pulses between two reads go out as one burst, ``interval_s`` apart. With an amplitude
step, pulse n of a phase has amplitude ``amplitude + n * step`` (a ladder; each read interval is then
one burst per pulse).

Rows (one per read): ``Pulse`` (pulses of this phase so far), ``Cycle``, ``Phase`` (+1 potentiation,
-1 depression), ``Conductance (S)``, plus the amplitude of the last pulse and the raw read.

Defaults: SET pulses that heat a firing RESET-side cell into its crystallization window
(lib.SET_AMPLITUDE_V x SET_WIDTH_S), and a rising ladder of short melt-quench pulses for depression:
a partial RESET re-melts the same dome each time, so identical pulses depress once and then no more
(docs/procedures.md shows both on the simulated cell). An optional full RESET before the first cycle
starts from the amorphous end, below the read's range (reads NaN there).
"""

from __future__ import annotations

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter

from procedures import library as lib
from procedures.base import ParameterError, TspcmProcedure, duration_text

POTENTIATION, DEPRESSION = 1, -1


class PulseTrainProcedure(lib.ConductanceReadMixin, TspcmProcedure):
    """Conductance versus pulse number under SET and partial-RESET trains, several cycles."""

    name = "pulse-train"
    REQUIRED_ROLES = ("smu", "pulse")
    KEY_PARAMETERS = ("cycles", "potentiation_pulses", "set_amplitude_V", "depression_pulses", "reset_amplitude_V")
    DATA_COLUMNS = [
        "Cycle",
        "Phase",
        "Pulse",
        "Conductance (S)",
        "Amplitude (V)",
        "Read current (A)",
        "Read voltage (V)",
        "Time (s)",
    ]
    VIEWS = (
        {
            "title": "Conductance vs pulse (NeuroSim fit)",
            "x": "Pulse",
            "y": "Conductance (S)",
            "series": ["Cycle", "Phase"],
            "color_by": "Phase",
            "labels": {"1": "potentiation", "-1": "depression"},
            "x_cumulative": True,
            "style": "both",
            "fit": "neurosim",
            "features": ["p_a_pulses", "d_a_pulses", "p_dynamic_range", "asymmetry"],
        },
        {
            "title": "Read current",
            "x": "Time (s)",
            "y": "Read current (A)",
            "series": "Phase",
            "labels": {"1": "potentiation", "-1": "depression"},
            "style": "points",
        },
    )
    PARAMETER_GROUPS = (
        (
            "Pulse shapes",
            (
                "set_amplitude_step_V",
                "set_width_s",
                "reset_amplitude_step_V",
                "reset_width_s",
                "interval_s",
                "initial_reset",
                "initial_reset_amplitude_V",
                "initial_reset_width_s",
            ),
            True,
        ),
    )

    cycles = IntegerParameter("Cycles", minimum=1, maximum=1000, default=2)
    potentiation_pulses = IntegerParameter("Potentiation pulses", minimum=1, maximum=10000, default=20)
    depression_pulses = IntegerParameter("Depression pulses", minimum=0, maximum=10000, default=12)
    read_every = IntegerParameter("Read every k pulses", minimum=1, maximum=10000, default=1)
    set_amplitude_step_V = FloatParameter(
        "SET amplitude step per pulse", units="V", minimum=-1.0, maximum=1.0, default=0.0
    )
    set_amplitude_V = FloatParameter("SET amplitude", units="V", minimum=0.1, maximum=20.0, default=1.75)
    set_width_s = FloatParameter("SET width", units="s", minimum=16e-9, maximum=1e-3, default=500e-9)
    # a partial RESET re-melts the same dome each time (identical pulses depress once): graded depression
    # takes a rising ladder
    reset_amplitude_V = FloatParameter("Depression amplitude", units="V", minimum=0.1, maximum=20.0, default=2.0)
    reset_amplitude_step_V = FloatParameter(
        "Depression amplitude step per pulse", units="V", minimum=-1.0, maximum=1.0, default=0.02
    )
    reset_width_s = FloatParameter(
        "Depression width", units="s", minimum=16e-9, maximum=1e-3, default=lib.RESET_WIDTH_S
    )
    interval_s = FloatParameter("Interval between pulses", units="s", minimum=50e-9, maximum=10.0, default=1e-6)
    initial_reset = BooleanParameter("Full RESET before the first cycle", default=True)
    initial_reset_amplitude_V = FloatParameter(
        "Initial RESET amplitude", units="V", minimum=0.1, maximum=20.0, default=lib.RESET_AMPLITUDE_V
    )
    initial_reset_width_s = FloatParameter(
        "Initial RESET width", units="s", minimum=16e-9, maximum=1e-3, default=lib.RESET_WIDTH_S
    )

    BENCH_LIMITS = {
        "set_amplitude_V": ("pulse", "voltage"),
        "reset_amplitude_V": ("pulse", "voltage"),
        "initial_reset_amplitude_V": ("pulse", "voltage"),
    }

    def ladder(self, phase: int) -> np.ndarray:
        """Amplitudes (V) of the pulses of one phase."""
        if phase == POTENTIATION:
            n, a, step = self.potentiation_pulses, self.set_amplitude_V, self.set_amplitude_step_V
        else:
            n, a, step = self.depression_pulses, self.reset_amplitude_V, self.reset_amplitude_step_V
        return a + step * np.arange(n)

    def estimate(self) -> list[tuple[str, str]]:
        def reads(n: int) -> int:
            return 0 if n == 0 else 1 + -(-n // self.read_every)

        n_reads = self.cycles * (reads(self.potentiation_pulses) + reads(self.depression_pulses))
        pulses = self.cycles * (self.potentiation_pulses + self.depression_pulses)
        least = n_reads * self.read_nplc / 50.0 + pulses * self.interval_s
        return [
            ("Pulses", f"{pulses} ({self.cycles} cycles)"),
            ("Reads (rows)", str(n_reads)),
            ("Time at least", f"{duration_text(least)} (read integration, pulse intervals)"),
        ]

    def check_relations(self) -> None:
        for phase, key in ((POTENTIATION, "set_amplitude_step_V"), (DEPRESSION, "reset_amplitude_step_V")):
            amplitudes = self.ladder(phase)
            if amplitudes.size and amplitudes.min() <= 0:
                raise ParameterError(
                    key, f"makes the ladder reach {amplitudes.min():g} V; every pulse must stay above 0 V"
                )

    def check_bench(self, bench) -> None:
        limit, where = bench.limit("pulse", "voltage")
        for phase, key in ((POTENTIATION, "set_amplitude_step_V"), (DEPRESSION, "reset_amplitude_step_V")):
            amplitudes = self.ladder(phase)
            if limit is not None and amplitudes.size and amplitudes.max() > limit:
                raise ParameterError(
                    key,
                    f"makes the ladder reach {amplitudes.max():g} V, above the bench "
                    f"limit {limit:g} V ({where}); allowed: a ladder that stays within it",
                )

    def execute(self) -> None:
        clock = self.bench.clock
        t0 = clock.now_s()
        if self.initial_reset:
            lib.reset_pulse(self.bench, self.initial_reset_amplitude_V, self.initial_reset_width_s)
        total = self.cycles * (self.potentiation_pulses + self.depression_pulses)
        done = 0
        for cycle in range(self.cycles):
            for phase in (POTENTIATION, DEPRESSION):
                amplitudes = self.ladder(phase)
                width = self.set_width_s if phase == POTENTIATION else self.reset_width_s
                if amplitudes.size == 0:
                    continue
                if self.should_stop():
                    return
                self.emit_read(cycle, phase, 0, float("nan"), clock.now_s() - t0)
                applied = 0
                while applied < amplitudes.size:
                    if self.should_stop():
                        return
                    burst = min(self.read_every, amplitudes.size - applied)
                    chunk = amplitudes[applied : applied + burst]
                    if np.all(chunk == chunk[0]):
                        lib.apply_pulses(
                            self.bench, float(chunk[0]), width, count=burst, period_s=width + self.interval_s
                        )
                    else:  # a ladder: one pulse per amplitude
                        for amplitude in chunk:
                            lib.apply_pulses(self.bench, float(amplitude), width)
                    applied += burst
                    done += burst
                    self.emit_read(cycle, phase, applied, float(chunk[-1]), clock.now_s() - t0)
                    self.report_progress(done, total)

    def emit_read(self, cycle: int, phase: int, pulse: int, amplitude_v: float, time_s: float) -> None:
        r = self.read()
        self.emit(
            "results",
            {
                "Cycle": cycle,
                "Phase": phase,
                "Pulse": pulse,
                "Conductance (S)": r.conductance_S,
                "Amplitude (V)": amplitude_v,
                "Read current (A)": r.current_A,
                "Read voltage (V)": r.voltage_V,
                "Time (s)": time_s,
            },
        )
