"""A small procedure for the GUI tests, written to the procedures.base API: the SMU is turned on at
``level_V`` and read ``points`` times; then (``hold``) it stays on until the run is stopped, or
(``fail_after`` > 0) the procedure raises after that many readings, as a lost instrument would.
Shutdown is the base class's (every output off through ``bench.all_off()``), after
``shutdown_delay_s``, as an instrument that ramps its output down takes time."""

import threading

from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter

from procedures.base import TspcmProcedure


class SmuHold(TspcmProcedure):
    """SMU on at a read level, readings, then held on until stopped (test procedure)."""

    name = "smu-hold"
    REQUIRED_ROLES = ("smu",)
    KEY_PARAMETERS = ("level_V", "points")
    BENCH_LIMITS = {"level_V": ("smu", "voltage"), "compliance_A": ("smu", "current")}
    DATA_COLUMNS = ["Step", "Voltage (V)", "Current (A)"]

    level_V = FloatParameter("Level", units="V", minimum=0.0, maximum=10.0, default=0.2)
    points = IntegerParameter("Points", minimum=1, maximum=10_000, default=5)
    compliance_A = FloatParameter("Compliance", units="A", minimum=1e-9, maximum=1e-3, default=1e-5)
    hold = BooleanParameter("Hold the output on until stopped", default=False)
    fail_after = IntegerParameter("Fail after this many readings (0 = never)", minimum=0, maximum=10_000, default=0)
    shutdown_delay_s = FloatParameter(
        "Wait before turning the outputs off", units="s", minimum=0.0, maximum=1.0, default=0.0
    )  # a slow instrument's ramp-down

    def execute(self):
        smu = self.bench.smu
        smu.configure_voltage_source(compliance_a=self.compliance_A, nplc=0.01)
        smu.set_voltage(self.level_V)
        smu.output_on()
        for step in range(self.points):
            if self.should_stop():
                return
            if self.fail_after and step == self.fail_after:
                raise RuntimeError("smu-hold: simulated loss of the instrument")
            self.emit("results", {"Step": step, "Voltage (V)": self.level_V, "Current (A)": smu.measure_current()})
            self.report_progress(step + 1, self.points)
        idle = threading.Event()
        while self.hold and not self.should_stop():
            idle.wait(0.01)  # the output stays on: the abort must turn it off

    def shutdown(self):
        if self.shutdown_delay_s:
            threading.Event().wait(self.shutdown_delay_s)  # (wall time: the window must wait for it)
        super().shutdown()
