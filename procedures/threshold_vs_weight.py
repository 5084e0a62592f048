"""threshold-vs-weight: intrinsic plasticity, the cell's firing threshold at a ladder of PCM states.

For each target conductance (``states`` of them from ``target_min_S`` to ``target_max_S``, log or
linear spacing, in rising order so that each state is reached by potentiation from the previous one)
the PCM is programmed and verified (:func:`procedures.library.program_to_target`), its conductance
read, then the threshold measured ``repeats`` times:

- ``threshold_method = "dc"`` (default): a compliance-limited SMU staircase (``ramp_*``), the threshold
  the switching voltage, where the current jumps (:func:`procedures.library.measure_threshold`): the TS
  fires when the voltage its off current leaves it reaches its threshold, so a more amorphous PCM,
  which takes more of the voltage, raises the cell's threshold; the PCM switches with it (one event).
- ``threshold_method = "pulse"``: single pulses of rising amplitude from the pulse generator, the scope
  capturing the current; the threshold is the first amplitude during which the current rises through
  ``fire_current_A`` (a firing event). It also includes the switching delay at the pulse's width.

With ``record_dc_threshold`` the DC ramp threshold is recorded beside the chosen one. The conductance
is read again after the thresholds (``Conductance after (S)``), to show whether measuring disturbed it.

Rows: one per threshold measurement: ``State``, ``Target (S)``, ``Conductance (S)`` (read before),
``Threshold (V)``, ``Repeat``, ``Converged``, ``Program pulses``, ``DC threshold (V)``,
``Conductance after (S)``.
"""

from __future__ import annotations

import math

from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, ListParameter

from procedures import library as lib
from procedures.base import ParameterError, TspcmProcedure


class ThresholdVsWeightProcedure(
    lib.TargetLadderMixin, lib.ProgramParametersMixin, lib.ConductanceReadMixin, TspcmProcedure
):
    """Program a ladder of PCM states and measure the cell threshold at each."""

    name = "threshold-vs-weight"
    REQUIRED_ROLES = ("smu", "pulse", "scope")
    KEY_PARAMETERS = ("states", "target_min_S", "target_max_S", "threshold_method")
    DATA_COLUMNS = [
        "State",
        "Target (S)",
        "Conductance (S)",
        "Threshold (V)",
        "Repeat",
        "Converged",
        "Program pulses",
        "DC threshold (V)",
        "Conductance after (S)",
    ]
    VIEWS = (
        {
            "title": "Threshold vs conductance",
            "x": "Conductance (S)",
            "y": ["Threshold (V)", "DC threshold (V)"],
            "log_x": True,
            "style": "points",
            "features": ["threshold_slope_V_per_decade", "threshold_spearman_rho"],
        },
        {
            "title": "Programmed vs target",
            "x": "Target (S)",
            "y": ["Conductance (S)", "Conductance after (S)"],
            "log_x": True,
            "log_y": True,
            "style": "points",
        },
    )
    PARAMETER_GROUPS = (
        (
            "Threshold measurement",
            (
                "threshold_method",
                "pulse_start_V",
                "pulse_stop_V",
                "pulse_step_V",
                "pulse_width_s",
                "fire_current_A",
                "record_dc_threshold",
                "ramp_stop_V",
                "ramp_step_V",
                "ramp_compliance_A",
                "ramp_nplc",
            ),
            True,
        ),
    )

    repeats = IntegerParameter("Threshold measurements per state", minimum=1, maximum=100, default=1)
    initial_reset = BooleanParameter("Full RESET before the first state", default=True)
    threshold_method = ListParameter("Threshold method", choices=["dc", "pulse"], default="dc")
    pulse_start_V = FloatParameter("Threshold pulses from", units="V", minimum=0.05, maximum=20.0, default=0.8)
    pulse_stop_V = FloatParameter("Threshold pulses up to", units="V", minimum=0.05, maximum=20.0, default=2.2)
    pulse_step_V = FloatParameter("Threshold pulse step", units="V", minimum=1e-3, maximum=1.0, default=0.02)
    pulse_width_s = FloatParameter("Threshold pulse width", units="s", minimum=16e-9, maximum=1e-4, default=200e-9)
    fire_current_A = FloatParameter("Firing current", units="A", minimum=1e-7, maximum=0.1, default=50e-6)
    record_dc_threshold = BooleanParameter("Also record the DC ramp threshold", default=False)
    ramp_stop_V = FloatParameter("DC ramp up to", units="V", minimum=0.05, maximum=20.0, default=2.2)
    ramp_step_V = FloatParameter("DC ramp step", units="V", minimum=1e-4, maximum=0.5, default=0.01)
    ramp_compliance_A = FloatParameter("DC ramp compliance", units="A", minimum=1e-9, maximum=0.1, default=10e-6)
    ramp_nplc = FloatParameter("DC ramp NPLC", minimum=0.01, maximum=10.0, default=0.01)

    BENCH_LIMITS = {
        "set_amplitude_V": ("pulse", "voltage"),
        "reset_amplitude_V": ("pulse", "voltage"),
        "pulse_stop_V": ("pulse", "voltage"),
        "ramp_stop_V": ("smu", "voltage"),
        "ramp_compliance_A": ("smu", "current"),
    }

    def check_relations(self) -> None:
        self.check_targets()
        if self.pulse_stop_V <= self.pulse_start_V:
            raise ParameterError("pulse_stop_V", f"must be above pulse_start_V ({self.pulse_start_V:g} V)")
        if self.ramp_step_V >= self.ramp_stop_V:
            raise ParameterError("ramp_step_V", f"must be below ramp_stop_V ({self.ramp_stop_V:g} V)")
        if self.ramp_stop_V / self.ramp_step_V > 2400:
            raise ParameterError(
                "ramp_step_V",
                f"gives more than 2400 points; allowed: >= "
                f"{self.ramp_stop_V / 2400:.3g} V for ramp_stop_V = {self.ramp_stop_V:g} V",
            )

    def estimate(self) -> list[tuple[str, str]]:
        method = "pulse ladder" if self.threshold_method == "pulse" else "DC ramp"
        return [
            ("Thresholds (rows)", f"{self.states} states x {self.repeats} = {self.states * self.repeats}"),
            ("Each", f"program and verify (up to {self.program_max_pulses} pulses), then a {method}"),
        ]

    def execute(self) -> None:
        targets = self.targets()
        if self.initial_reset:
            lib.reset_pulse(self.bench, self.reset_amplitude_V, self.reset_width_s)
        total = targets.size * self.repeats
        for state, target in enumerate(targets):
            if self.should_stop():
                return
            programmed = self.program(float(target))
            if programmed.stopped:
                return
            if not programmed.converged:
                self.log_warning(
                    f"state {state}: target {target:g} S not reached in {programmed.pulses} pulses "
                    f"(last read {programmed.conductance_S:g} S)"
                )
            for repeat in range(self.repeats):
                if self.should_stop():
                    return
                g = self.read().conductance_S
                vth, vth_dc = self.threshold()
                if self.threshold_method == "pulse" and self.should_stop():
                    return
                g_after = self.read().conductance_S
                self.emit(
                    "results",
                    {
                        "State": state,
                        "Target (S)": float(target),
                        "Conductance (S)": g,
                        "Threshold (V)": vth,
                        "Repeat": repeat,
                        "Converged": float(programmed.converged),
                        "Program pulses": programmed.pulses,
                        "DC threshold (V)": vth_dc,
                        "Conductance after (S)": g_after,
                    },
                )
                self.report_progress(state * self.repeats + repeat + 1, total)

    def threshold(self) -> tuple[float, float]:
        """(threshold of the chosen method, DC ramp threshold or NaN) in V."""
        dc = math.nan
        if self.threshold_method == "dc" or self.record_dc_threshold:
            dc = lib.measure_threshold(
                self.bench,
                stop_voltage_v=self.ramp_stop_V,
                step_v=self.ramp_step_V,
                compliance_a=self.ramp_compliance_A,
                nplc=self.ramp_nplc,
                series_resistance_ohm=self.read_settings()["series_resistance_ohm"],
            ).threshold_V
        if self.threshold_method == "dc":
            return dc, dc
        pulsed = lib.measure_pulse_threshold(
            self.bench,
            start_voltage_v=self.pulse_start_V,
            stop_voltage_v=self.pulse_stop_V,
            step_v=self.pulse_step_V,
            width_s=self.pulse_width_s,
            fire_current_a=self.fire_current_A,
            should_stop=self.should_stop,
        )
        return pulsed.threshold_V, dc

    def log_warning(self, message: str) -> None:
        import logging

        logging.getLogger(__name__).warning("%s: %s", self.name, message)
