"""endurance: SET/RESET cycling, the cell's memory window read every ``read_every`` cycles.

Each cycle is ``set_pulses`` SET pulses then one RESET pulse from the pulse generator. At the read cycles
the cell's DC threshold (the switching voltage of a compliance-limited SMU staircase,
:func:`procedures.library.measure_threshold`) is measured after the SET and after the RESET, and the SET
state's conductance is read (the RESET state is below the on-branch read's range). The window is the
threshold difference V_T(RESET) - V_T(SET): in a series TS-PCM stack the amorphous dome a RESET leaves
raises the cell's threshold (the voltage division), so the threshold window is the stack's memory window,
as in a cross-point cell. A window below ``min_window_V`` is a failure.

Rows: ``Cycle``, ``Threshold SET (V)``, ``Threshold RESET (V)``, ``Threshold window (V)``,
``Conductance SET (S)``.
"""

from __future__ import annotations

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from procedures import library as lib
from procedures.base import ParameterError, TspcmProcedure, duration_text


def read_cycles(cycles: int, read_every: int) -> np.ndarray:
    """The cycles (from 0) after which the cell is read: every ``read_every``-th, the first and the last."""
    marks = set(range(0, cycles, read_every)) | {0, cycles - 1}
    return np.array(sorted(marks), dtype=np.int64)


class EnduranceProcedure(lib.ConductanceReadMixin, TspcmProcedure):
    """SET/RESET cycling; the threshold window versus cycle."""

    name = "endurance"
    REQUIRED_ROLES = ("smu", "pulse")
    KEY_PARAMETERS = ("cycles", "read_every", "set_amplitude_V", "reset_amplitude_V")
    DATA_COLUMNS = ["Cycle", "Threshold SET (V)", "Threshold RESET (V)", "Threshold window (V)", "Conductance SET (S)"]
    VIEWS = (
        {
            "title": "SET and RESET thresholds vs cycle",
            "x": "Cycle",
            "y": ["Threshold SET (V)", "Threshold RESET (V)"],
            "style": "both",
        },
        {
            "title": "Threshold window vs cycle",
            "x": "Cycle",
            "y": "Threshold window (V)",
            "style": "both",
            "hlines": ["min_window_V"],
            "features": ["window_first", "window_last", "window_min", "failure_cycle"],
        },
    )
    PARAMETER_GROUPS = (
        ("Pulses", ("set_width_s", "set_pulses", "set_interval_s", "reset_width_s"), True),
        ("Threshold staircase", ("ramp_stop_V", "ramp_step_V", "ramp_compliance_A"), True),
    )

    cycles = IntegerParameter("Cycles", minimum=1, maximum=10_000_000, default=100)
    read_every = IntegerParameter("Read every k cycles", minimum=1, maximum=10_000_000, default=10)
    set_amplitude_V = FloatParameter("SET amplitude", units="V", minimum=0.1, maximum=20.0, default=lib.SET_AMPLITUDE_V)
    # a full SET every cycle (10 x 1 us), not program-and-verify's 100 ns steps (procedures.library.SET_WIDTH_S)
    set_width_s = FloatParameter("SET width", units="s", minimum=16e-9, maximum=1e-3, default=1e-6)
    set_pulses = IntegerParameter("SET pulses per cycle", minimum=1, maximum=10000, default=10)
    set_interval_s = FloatParameter("Interval between SET pulses", units="s", minimum=50e-9, maximum=1.0, default=1e-6)
    reset_amplitude_V = FloatParameter(
        "RESET amplitude", units="V", minimum=0.1, maximum=20.0, default=lib.RESET_AMPLITUDE_V
    )
    reset_width_s = FloatParameter("RESET width", units="s", minimum=16e-9, maximum=1e-3, default=lib.RESET_WIDTH_S)
    ramp_stop_V = FloatParameter("Threshold staircase up to", units="V", minimum=0.1, maximum=20.0, default=2.5)
    ramp_step_V = FloatParameter("Threshold staircase step", units="V", minimum=1e-3, maximum=0.5, default=0.01)
    ramp_compliance_A = FloatParameter(
        "Threshold staircase compliance", units="A", minimum=1e-9, maximum=0.1, default=lib.THRESHOLD_COMPLIANCE_A
    )
    min_window_V = FloatParameter("Failure below threshold window", units="V", minimum=0.0, maximum=10.0, default=0.1)

    BENCH_LIMITS = {
        "set_amplitude_V": ("pulse", "voltage"),
        "reset_amplitude_V": ("pulse", "voltage"),
        "ramp_stop_V": ("smu", "voltage"),
        "ramp_compliance_A": ("smu", "current"),
    }

    def check_relations(self) -> None:
        if self.read_every > self.cycles:
            raise ParameterError("read_every", f"must be at most cycles ({self.cycles}); allowed: 1 to {self.cycles}")

    def threshold(self) -> float:
        return lib.measure_threshold(
            self.bench,
            stop_voltage_v=self.ramp_stop_V,
            step_v=self.ramp_step_V,
            compliance_a=self.ramp_compliance_A,
            series_resistance_ohm=self.read_settings()["series_resistance_ohm"],
        ).threshold_V

    def estimate(self) -> list[tuple[str, str]]:
        reads = read_cycles(self.cycles, self.read_every).size
        pulses = self.cycles * (self.set_pulses + 1)
        least = self.cycles * self.set_pulses * (self.set_width_s + self.set_interval_s) + reads * self.read_nplc / 50
        return [
            ("Cycles", f"{self.cycles} ({pulses} pulses)"),
            ("Rows", f"{reads} (two threshold staircases and a read at each)"),
            ("Time at least", duration_text(least)),
        ]

    def execute(self) -> None:
        marks = set(read_cycles(self.cycles, self.read_every).tolist())
        period = self.set_width_s + self.set_interval_s
        for cycle in range(self.cycles):
            if self.should_stop():
                return
            lib.set_pulse(self.bench, self.set_amplitude_V, self.set_width_s, count=self.set_pulses, period_s=period)
            read = cycle in marks
            if read:
                g_set = self.read().conductance_S
                vth_set = self.threshold()
            lib.reset_pulse(self.bench, self.reset_amplitude_V, self.reset_width_s)
            if read:
                vth_reset = self.threshold()
                self.emit(
                    "results",
                    {
                        "Cycle": cycle,
                        "Threshold SET (V)": vth_set,
                        "Threshold RESET (V)": vth_reset,
                        "Threshold window (V)": vth_reset - vth_set,
                        "Conductance SET (S)": g_set,
                    },
                )
            self.report_progress(cycle + 1, self.cycles)
