"""iv-sweep: threshold switching seen in DC (or SMU-pulsed) I-V sweeps, several cycles.

Each cycle is one buffered SMU sweep under a current compliance: 0 -> stop -> 0 (``polarity``
"positive"), 0 -> -stop -> 0 ("negative"), or both in turn ("both"). The TS fires on the way up
(the current jumps to the compliance) and turns off on the way down below its hold voltage. Per
cycle, Vth and Vhold are extracted right away with :func:`procedures.library.switching.analyze_cycle`
(the same extractor, criterion and series-resistance correction as ``tspcm analyze``) and written as
the columns ``Cycle Vth (V)`` / ``Cycle Vhold (V)`` of that cycle's rows.

Modes:

- ``dc``: a staircase, each point ``delay_s`` + one NPLC aperture long, the source staying on between
  points (so the down branch sees the on state and its hold).
- ``pulsed``: the SMU returns to 0 V between points (``off_time_s`` at 0 V), so every point starts
  from the off state with the TS recovered: a pulsed I-V at SMU time scales (ms), under the same
  compliance. The down branch then shows the threshold again rather than the hold (no on state is
  carried from point to point); Vhold is reported but means "lowest level that still fires".
  Sub-microsecond pulsed characterisation is delay-recovery's and spike-train's job (scope capture).

``Voltage (V)`` is the programmed (applied) source level, as the analysis wants it for branch
detection; ``Voltage readback (V)`` is what the SMU measured at its terminal (lower while the
compliance holds the current). Series-resistance correction: V_dev = V_app - I R_s with
``series_resistance_ohm`` (-1: the SMU path resistance of the bench file, resolved and recorded).
Defaults: 10 uA compliance, which does not SET the PCM on the simulated cell (<= 30 uA does not).
"""

from __future__ import annotations

import math

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, ListParameter

from procedures import library as lib
from procedures.base import ParameterError, TspcmProcedure, duration_text


def cycle_levels(stop_v: float, step_v: float, polarity: str, start_v: float = 0.0) -> np.ndarray:
    """The programmed levels of one cycle (V): start -> +stop -> start, and/or the negative mirror."""
    up = lib.ramp_levels(start_v, stop_v, step_v, down=True)
    if polarity == "positive":
        return up
    down = -up
    return down if polarity == "negative" else np.concatenate([up, down[1:]])


def pulsed_levels(levels: np.ndarray, base_v: float = 0.0) -> np.ndarray:
    """Each level preceded by a return to ``base_v``: [b, v0, b, v1, ...] (readings at odd indices)."""
    out = np.full(2 * levels.size, base_v, dtype=float)
    out[1::2] = levels
    return out


def directions(levels: np.ndarray) -> np.ndarray:
    """+1 where |V| rises (or at the turning point), -1 where it falls."""
    a = np.abs(levels)
    d = np.sign(np.diff(a, prepend=a[0]))
    d[d == 0] = 1
    return d.astype(int)


class IVSweepProcedure(TspcmProcedure):
    """DC staircase or SMU-pulsed I-V sweeps, several cycles, with Vth and Vhold per cycle."""

    name = "iv-sweep"
    REQUIRED_ROLES = ("smu",)
    KEY_PARAMETERS = ("mode", "stop_voltage_V", "compliance_A", "cycles")
    READ_METHOD = None
    BENCH_LIMITS = {"stop_voltage_V": ("smu", "voltage"), "compliance_A": ("smu", "current")}
    DATA_COLUMNS = [
        "Cycle",
        "Point",
        "Direction",
        "Voltage (V)",
        "Voltage readback (V)",
        "Current (A)",
        "Cycle Vth (V)",
        "Cycle Vhold (V)",
    ]
    #: the window's views and parameter groups (plain data, read by tspcm_lab.gui; see gui/viewspec.py)
    VIEWS = (
        {
            "title": "I-V per cycle (log |I|)",
            "x": "Voltage (V)",
            "y": "Current (A)",
            "series": "Cycle",
            "log_y": True,
            "abs_y": True,
            "marks": "auto",
        },
        {
            "title": "Thresholds per cycle",
            "x": "Cycle",
            "y": ["Cycle Vth (V)", "Cycle Vhold (V)"],
            "style": "both",
            "features": ["vth_mean_V", "vth_sigma_V", "vhold_mean_V"],
        },
    )
    PARAMETER_GROUPS = (
        (
            "Threshold extraction",
            ("series_resistance_ohm", "threshold_criterion", "current_criterion_A", "min_jump_decades"),
            True,
        ),
        ("Timing and storage", ("nplc", "delay_s", "off_time_s", "rest_s", "save_sweeps"), True),
    )

    mode = ListParameter("Mode", choices=["dc", "pulsed"], default="dc")
    polarity = ListParameter("Polarity", choices=["positive", "negative", "both"], default="positive")
    stop_voltage_V = FloatParameter("Stop voltage", units="V", minimum=0.05, maximum=20.0, default=2.5)
    step_V = FloatParameter("Voltage step", units="V", minimum=1e-4, maximum=0.5, default=0.01)
    cycles = IntegerParameter("Cycles", minimum=1, maximum=10000, default=5)
    compliance_A = FloatParameter("Compliance", units="A", minimum=1e-9, maximum=0.1, default=10e-6)
    nplc = FloatParameter("NPLC", minimum=0.01, maximum=10.0, default=0.01)
    delay_s = FloatParameter("Source delay per point", units="s", minimum=0.0, maximum=10.0, default=0.0)
    off_time_s = FloatParameter("Pulsed mode time at 0 V", units="s", minimum=0.0, maximum=10.0, default=1e-3)
    series_resistance_ohm = FloatParameter(
        "Series resistance (-1 = from bench file)", units="ohm", minimum=-1.0, maximum=1e7, default=-1.0
    )
    threshold_criterion = ListParameter("Threshold criterion", choices=["jump", "current", "slope"], default="jump")
    current_criterion_A = FloatParameter("Current criterion", units="A", minimum=1e-12, maximum=0.1, default=1e-6)
    min_jump_decades = FloatParameter("Minimum jump", units="decades", minimum=0.1, maximum=10.0, default=0.5)
    rest_s = FloatParameter("Rest between cycles", units="s", minimum=0.0, maximum=3600.0, default=0.0)
    save_sweeps = BooleanParameter("Store each cycle as a waveform", default=False)

    def check_relations(self) -> None:
        if self.step_V >= self.stop_voltage_V:
            raise ParameterError(
                "step_V",
                f"Voltage step = {self.step_V:g} V must be below stop_voltage_V "
                f"({self.stop_voltage_V:g} V); allowed: 0.0001 V to {self.stop_voltage_V:g} V",
            )
        points = cycle_levels(self.stop_voltage_V, self.step_V, self.polarity).size
        if self.mode == "pulsed":
            points *= 2
        if points > 2500:
            raise ParameterError(
                "step_V",
                f"gives {points} points per cycle, more than the 2500 an SMU "
                f"sweep holds; allowed: step_V >= "
                f"{self._min_step():.3g} V for this stop voltage and mode",
            )
        if self.compliance_A <= self.current_criterion_A and self.threshold_criterion == "current":
            raise ParameterError("current_criterion_A", f"must be below compliance_A ({self.compliance_A:g} A)")

    def estimate(self) -> list[tuple[str, str]]:
        points = cycle_levels(self.stop_voltage_V, self.step_V, self.polarity).size
        per_point = self.nplc / 50.0 + (self.off_time_s if self.mode == "pulsed" else self.delay_s)
        least = self.cycles * points * per_point + max(self.cycles - 1, 0) * self.rest_s
        return [
            ("Points", f"{self.cycles} cycles x {points} = {self.cycles * points}"),
            ("Time at least", f"{duration_text(least)} (integration, delays, rests)"),
        ]

    def _min_step(self) -> float:
        factor = {"positive": 2, "negative": 2, "both": 4}[self.polarity] * (2 if self.mode == "pulsed" else 1)
        return factor * self.stop_voltage_V / 2498

    def check_bench(self, bench) -> None:
        if self.series_resistance_ohm < 0:
            self.series_resistance_ohm = bench.series_resistance_ohm("smu")

    def execute(self) -> None:
        from procedures.library import switching

        smu = self.bench.smu
        clock = self.bench.clock
        levels = cycle_levels(self.stop_voltage_V, self.step_V, self.polarity)
        program = pulsed_levels(levels) if self.mode == "pulsed" else levels
        sweep_delay = self.off_time_s if self.mode == "pulsed" else self.delay_s
        direction = directions(levels)
        r_s = max(self.series_resistance_ohm, 0.0)
        smu.configure_voltage_source(compliance_a=self.compliance_A, nplc=self.nplc)
        for cycle in range(self.cycles):
            if self.should_stop():
                return
            try:
                result = smu.sweep_voltage(program, delay_s=sweep_delay)
            finally:
                smu.output_off()
            v_read = np.asarray(result.source_v, dtype=float)
            current = np.asarray(result.current_a, dtype=float)
            if self.mode == "pulsed":
                v_read, current = v_read[1::2], current[1::2]
            found = switching.analyze_cycle(
                levels,
                current,
                cycle=cycle,
                series_resistance_ohm=r_s,
                criterion=self.threshold_criterion,
                current_criterion_A=self.current_criterion_A,
                min_jump_decades=self.min_jump_decades,
                compliance_A=self.compliance_A,
            )
            head = next((r for r in found if r.polarity > 0), found[0] if found else None)
            vth = head.vth_V if head is not None else math.nan
            vhold = head.vhold_V if head is not None else math.nan
            n = levels.size
            self.emit(
                "batch results",
                {
                    "Cycle": np.full(n, cycle),
                    "Point": np.arange(n),
                    "Direction": direction,
                    "Voltage (V)": levels,
                    "Voltage readback (V)": v_read,
                    "Current (A)": current,
                    "Cycle Vth (V)": np.full(n, vth),
                    "Cycle Vhold (V)": np.full(n, vhold),
                },
            )
            if self.save_sweeps:
                self.emit(
                    "waveform",
                    {
                        "name": f"cycle{cycle}",
                        "y": current,
                        "x": levels,
                        "y_label": "Current (A)",
                        "x_label": "Voltage (V)",
                    },
                )
            self.report_progress(cycle + 1, self.cycles)
            if self.rest_s > 0 and cycle + 1 < self.cycles:
                if not clock.wait(self.rest_s, self.should_stop):
                    return
