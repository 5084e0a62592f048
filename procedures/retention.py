"""retention: resistance drift of programmed PCM states, read at log-spaced times.

For each state (target conductances from ``target_min_S`` to ``target_max_S``, ``states`` of them,
log-spaced), the cell is RESET (the drift clock of the amorphous part starts at a melt-quench),
programmed and verified (:func:`procedures.library.program_to_target`), and then read at ``reads``
log-spaced times from ``first_read_s`` to ``duration_s`` after programming ended. Between reads the
outputs are off and time passes (``bench.clock``: wall time on a real bench,
virtual time on the in-process simulated bench, where a 1e4 s retention takes no wall time).

The drift exponent per state is the slope of log10 R against log10 t
(:func:`tspcm_lab.analysis.drift.drift_exponent`, computed by ``tspcm analyze`` from the columns
``State``, ``Time (s)``, ``Resistance (Ohm)``; this procedure also logs it per state as it goes).

What to expect: only the amorphous part drifts (nu ~0.1 for a fully amorphous state), so a partly
crystalline state drifts with an effective nu = nu_a * (amorphous share of its conductance), e.g.
~0.005 at 30 uS on the simulated cell. The read (procedures.library.read) does not see a fully amorphous
state (it switches during the read), so states below ~15 uS cannot be followed with it.
"""

from __future__ import annotations

import logging

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from procedures import library as lib
from procedures.base import ParameterError, TspcmProcedure, duration_text

log = logging.getLogger(__name__)


def read_times(first_s: float, duration_s: float, reads: int) -> np.ndarray:
    """``reads`` log-spaced times (s) from ``first_s`` to ``duration_s``."""
    return np.geomspace(first_s, duration_s, reads)


class RetentionProcedure(lib.TargetLadderMixin, lib.ProgramParametersMixin, lib.ConductanceReadMixin, TspcmProcedure):
    """Log-spaced reads of programmed states over a duration; drift exponent per state."""

    name = "retention"
    REQUIRED_ROLES = ("smu", "pulse")
    KEY_PARAMETERS = ("states", "target_min_S", "target_max_S", "duration_s")
    DATA_COLUMNS = [
        "State",
        "Target (S)",
        "Time (s)",
        "Resistance (Ohm)",
        "Conductance (S)",
        "Read current (A)",
        "Read voltage (V)",
    ]
    VIEWS = (
        {
            "title": "Drift: resistance vs time (log-log)",
            "x": "Time (s)",
            "y": "Resistance (Ohm)",
            "series": "State",
            "log_x": True,
            "log_y": True,
            "style": "both",
            "features": ["nu_state0", "nu_state1", "nu_state2"],
        },
        {
            "title": "Conductance vs time",
            "x": "Time (s)",
            "y": "Conductance (S)",
            "series": "State",
            "log_x": True,
            "style": "both",
        },
    )
    # fewer states than threshold-vs-weight (each takes duration_s), up to 30 uS
    states = IntegerParameter("States", minimum=1, maximum=100, default=3)
    target_max_S = FloatParameter("Highest target conductance", units="S", minimum=1e-7, maximum=1e-2, default=30e-6)
    duration_s = FloatParameter("Duration per state", units="s", minimum=1e-3, maximum=1e8, default=1e4)
    first_read_s = FloatParameter("First read after programming", units="s", minimum=1e-4, maximum=1e6, default=1.0)
    reads = IntegerParameter("Reads per state", minimum=2, maximum=10000, default=25)

    BENCH_LIMITS = {"set_amplitude_V": ("pulse", "voltage"), "reset_amplitude_V": ("pulse", "voltage")}

    def check_relations(self) -> None:
        self.check_targets()
        if self.first_read_s >= self.duration_s:
            raise ParameterError("first_read_s", f"must be below duration_s ({self.duration_s:g} s)")

    def estimate(self) -> list[tuple[str, str]]:
        return [
            ("Reads (rows)", f"{self.states} states x {self.reads} = {self.states * self.reads}"),
            (
                "Time at least",
                f"{duration_text(self.states * self.duration_s)} of waiting (virtual on the simulated bench)",
            ),
        ]

    def execute(self) -> None:
        clock = self.bench.clock
        targets = self.targets()
        times = read_times(self.first_read_s, self.duration_s, self.reads)
        for state, target in enumerate(targets):
            if self.should_stop():
                return
            lib.reset_pulse(self.bench, self.reset_amplitude_V, self.reset_width_s)
            programmed = self.program(float(target))
            if programmed.stopped:
                return
            if not programmed.converged:
                log.warning(
                    "retention: state %d: target %g S not reached in %d pulses (last read %g S)",
                    state,
                    target,
                    programmed.pulses,
                    programmed.conductance_S,
                )
            t_programmed = clock.now_s()
            resistances = []
            for k, t_read in enumerate(times):
                wait = t_read - (clock.now_s() - t_programmed)
                if wait > 0 and not clock.wait(wait, self.should_stop):
                    return
                elapsed = clock.now_s() - t_programmed
                r = self.read()
                resistances.append(r.resistance_ohm)
                self.emit(
                    "results",
                    {
                        "State": state,
                        "Target (S)": float(target),
                        "Time (s)": elapsed,
                        "Resistance (Ohm)": r.resistance_ohm,
                        "Conductance (S)": r.conductance_S,
                        "Read current (A)": r.current_A,
                        "Read voltage (V)": r.voltage_V,
                    },
                )
                self.report_progress(state * self.reads + k + 1, targets.size * self.reads)
            fit = lib.drift_exponent(times, np.asarray(resistances))
            log.info(
                "retention: state %d (target %g S): nu = %.4g (95 %% CI %.4g .. %.4g)",
                state,
                target,
                fit.nu,
                fit.nu_ci_low,
                fit.nu_ci_high,
            )
