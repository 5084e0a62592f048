"""Tiny real PyMeasure procedures for the store tests (no instruments: sub-second virtual work)."""

import logging

import numpy as np
from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, Procedure

log = logging.getLogger(__name__)


class TinySweep(Procedure):
    """An ideal resistor swept in voltage: I = V / R, so every stored row can be checked exactly."""

    name = "tiny-sweep"
    start_voltage = FloatParameter("Start Voltage", units="V", default=0.0)
    stop_voltage = FloatParameter("Stop Voltage", units="V", default=1.0)
    points = IntegerParameter("Points", default=11, minimum=2, maximum=10_000_000)
    resistance = FloatParameter("Resistance", units="ohm", default=1000.0)
    batch = BooleanParameter("Batch", default=False)
    fail_after = IntegerParameter("Fail After", default=-1, minimum=-1, maximum=10_000_000)

    DATA_COLUMNS = ["Voltage (V)", "Current (A)", "Step"]
    KEY_PARAMETERS = ["stop_voltage", "points"]

    def execute(self):
        voltage = np.linspace(self.start_voltage, self.stop_voltage, self.points)
        current = voltage / self.resistance
        if self.batch:
            self.emit("batch results", {"Voltage (V)": voltage, "Current (A)": current, "Step": np.arange(self.points)})
        else:
            for step, (v, i) in enumerate(zip(voltage, current)):
                if step == self.fail_after:
                    raise RuntimeError(f"simulated instrument fault at step {step}")
                self.emit("results", {"Voltage (V)": v, "Current (A)": i, "Step": step})
                self.emit("progress", 100.0 * (step + 1) / self.points)
        self.emit(
            "waveform",
            {"name": "sweep", "y": current, "x": voltage, "y_label": "Current (A)", "x_label": "Voltage (V)"},
        )
        log.warning("compliance not reached (%d points)", self.points)
