"""A small procedure for the runner tests, written to the procedures.base API: the SMU steps through
``points`` voltages on the simulated cell (read-level, below threshold) and reads the current each time.

It reaches the runner the way every procedure does: through an entry point (the tests install a
dist-info for it on sys.path, see tests/runner/conftest.py).
"""

from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter

from procedures.base import TspcmProcedure


class SmuSteps(TspcmProcedure):
    """SMU voltage steps with a current reading at each (test procedure)."""

    name = "smu-steps"
    REQUIRED_ROLES = ("smu",)
    KEY_PARAMETERS = ("level_V", "points")
    BENCH_LIMITS = {"level_V": ("smu", "voltage"), "compliance_A": ("smu", "current")}

    level_V = FloatParameter("Level", units="V", minimum=0.0, maximum=2.0, default=0.3)
    points = IntegerParameter("Points", minimum=1, maximum=1_000_000, default=20)
    compliance_A = FloatParameter("Compliance", units="A", minimum=1e-9, maximum=1e-3, default=1e-5)
    with_pulse = BooleanParameter("Pulse output on too", default=False)  # a second output to turn off

    DATA_COLUMNS = ["Step", "Voltage (V)", "Current (A)"]

    def execute(self):
        smu = self.bench.smu
        if self.with_pulse:  # programmed and on, never triggered: a second output the shutdown must turn off
            self.bench.pulse.configure_pulse_train(0.2, 1e-6, period_s=1e-5, count=1)
            self.bench.pulse.output_on()
        smu.configure_voltage_source(compliance_a=self.compliance_A, nplc=0.01)
        smu.set_voltage(0.0)
        smu.output_on()
        for step in range(self.points):
            if self.should_stop():
                return
            v = self.level_V * (step + 1) / self.points
            smu.set_voltage(v)
            self.emit("results", {"Step": step, "Voltage (V)": v, "Current (A)": smu.measure_current()})
            self.report_progress(step + 1, self.points)
