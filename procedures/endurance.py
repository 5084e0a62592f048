"""endurance: SET/RESET cycling with periodic reads; the memory window versus cycle.

Each cycle is one SET (``set_pulses`` pulses as one burst) and one RESET pulse from the pulse
generator. Every ``read_every`` cycles (and at the first and last cycle) the cell is read after the
SET and after the RESET (the SMU read of :mod:`procedures.common`). Rows: ``Cycle``,
``Resistance SET (Ohm)``, ``Resistance RESET (Ohm)``, ``Window`` (R_RESET / R_SET), and the
conductances.

The window the read can show is compressed: a fully amorphous (RESET) cell switches during the read
and reads as its amorphous ON state (~20 uS, ~45 kOhm on the simulated cell), while its low-field
resistance is ~500 kOhm. So on the simulated cell the read window is ~5-8 rather than the ~100 of
the PCM itself; ``min_window`` (read by ``tspcm analyze`` for the failure cycle) defaults to 3 for
that reason. A failing cell shows as the window collapsing towards 1.
"""

from __future__ import annotations

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from procedures import common
from procedures.base import ParameterError, TspcmProcedure


def read_cycles(cycles: int, read_every: int) -> np.ndarray:
    """The cycles (from 0) after which the cell is read: every ``read_every``-th, the first and the last."""
    marks = set(range(0, cycles, read_every)) | {0, cycles - 1}
    return np.array(sorted(marks), dtype=np.int64)


class EnduranceProcedure(common.ConductanceReadMixin, TspcmProcedure):
    """SET/RESET cycling; the read window versus cycle."""

    name = "endurance"
    REQUIRED_ROLES = ("smu", "pulse")
    KEY_PARAMETERS = ("cycles", "read_every", "set_amplitude_V", "reset_amplitude_V")
    DATA_COLUMNS = ["Cycle", "Resistance SET (Ohm)", "Resistance RESET (Ohm)", "Window",
                    "Conductance SET (S)", "Conductance RESET (S)"]

    cycles = IntegerParameter("Cycles", minimum=1, maximum=10_000_000, default=100)
    read_every = IntegerParameter("Read every k cycles", minimum=1, maximum=10_000_000, default=10)
    set_amplitude_V = FloatParameter("SET amplitude", units="V", minimum=0.1, maximum=20.0,
                                     default=common.SET_AMPLITUDE_V)
    set_width_s = FloatParameter("SET width", units="s", minimum=16e-9, maximum=1e-3, default=1e-6)
    set_pulses = IntegerParameter("SET pulses per cycle", minimum=1, maximum=10000, default=10)
    set_interval_s = FloatParameter("Interval between SET pulses", units="s", minimum=50e-9, maximum=1.0,
                                    default=1e-6)
    reset_amplitude_V = FloatParameter("RESET amplitude", units="V", minimum=0.1, maximum=20.0,
                                       default=common.RESET_AMPLITUDE_V)
    reset_width_s = FloatParameter("RESET width", units="s", minimum=16e-9, maximum=1e-3,
                                   default=common.RESET_WIDTH_S)
    min_window = FloatParameter("Failure below window", minimum=1.0, maximum=1e6, default=3.0)

    BENCH_LIMITS = {"set_amplitude_V": ("pulse", "voltage"), "reset_amplitude_V": ("pulse", "voltage")}

    def check_relations(self) -> None:
        if self.read_every > self.cycles:
            raise ParameterError("read_every", f"must be at most cycles ({self.cycles}); allowed: 1 to {self.cycles}")

    def execute(self) -> None:
        marks = set(read_cycles(self.cycles, self.read_every).tolist())
        period = self.set_width_s + self.set_interval_s
        for cycle in range(self.cycles):
            if self.should_stop():
                return
            common.set_pulse(self.bench, self.set_amplitude_V, self.set_width_s, count=self.set_pulses,
                             period_s=period)
            g_set = self.read().conductance_S if cycle in marks else None
            common.reset_pulse(self.bench, self.reset_amplitude_V, self.reset_width_s)
            if g_set is not None:
                g_reset = self.read().conductance_S
                r_set, r_reset = 1.0 / g_set, 1.0 / g_reset
                self.emit("results", {"Cycle": cycle, "Resistance SET (Ohm)": r_set,
                                      "Resistance RESET (Ohm)": r_reset, "Window": r_reset / r_set,
                                      "Conductance SET (S)": g_set, "Conductance RESET (S)": g_reset})
            self.report_progress(cycle + 1, self.cycles)
