"""endurance on the simulated bench: the window is kept over SET/RESET cycling; every way out turns outputs off."""

import numpy as np

import pyvisa_tspcm
from procedures.endurance import EnduranceProcedure, read_cycles
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run
from tspcm_lab.store.pymeasure_glue import HDF5Results, HDF5Worker


def outputs_reported_on(sim) -> dict:
    """Ask each virtual instrument itself whether its output is on."""
    return {
        "smu": sim.instruments["GPIB0::18::INSTR"].handle(":OUTP?").strip(),
        "awg": sim.instruments["GPIB0::10::INSTR"].handle("OUTP1?").strip(),
    }


def test_window_kept_over_cycling(tmp_path):
    with runner.BenchSession.open("sim", seed=71) as session:
        procedure = runner.build_procedure(EnduranceProcedure, {"cycles": 30, "read_every": 10}, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "end.h5", seed=71)
        assert outcome.status == "completed", outcome.message
    run = open_run(outcome.path)
    c = run.columns
    assert c["Cycle"].tolist() == read_cycles(30, 10).tolist() == [0, 10, 20, 29]
    window = c["Threshold RESET (V)"] - c["Threshold SET (V)"]
    assert np.allclose(window, c["Threshold window (V)"])
    # the RESET dome raises the threshold (each RESET-state threshold carries the cycle-to-cycle spread
    # the voltage division amplifies)
    assert np.all(window > 0.15) and np.median(window) > 0.3
    assert np.nanmin(c["Conductance SET (S)"][1:]) > 200e-6
    features = {f.name: f.value for f in get_analysis("endurance")(run).features}
    assert np.isnan(features["failure_cycle"]) and features["window_min"] > 0.15


class _CrashesMidRead(EnduranceProcedure):
    """Leaves the SMU and the pulse generator on, then fails, as a crash in the middle of a step would."""

    name = "endurance-crash"

    def execute(self):
        super().execute()
        self.bench.smu.configure_voltage_source(compliance_a=10e-6)
        self.bench.smu.set_voltage(0.5)
        self.bench.smu.output_on()
        self.bench.pulse.configure_single_pulse(1.0, 100e-9)
        self.bench.pulse.output_on()
        raise RuntimeError("simulated crash with outputs on")


def test_shutdown_turns_every_output_off_after_a_crash(tmp_path):
    """Straight through the store's worker (no runner, whose own all_off would hide a bad shutdown)."""
    with runner.BenchSession.open("sim", seed=72) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        procedure = _CrashesMidRead(cycles=2, read_every=1)
        procedure.bench = session.bench
        procedure.validate()
        results = HDF5Results(procedure, tmp_path / "crash.h5", bench=session.bench.snapshot(), seed=72)
        worker = HDF5Worker(results)
        worker.start()
        while worker.is_alive():
            worker.join(60)
        assert outputs_reported_on(sim) == {"smu": "0", "awg": "0"}
        assert not any(src.enabled for src in sim.sources.values())
        assert procedure.shutdown_problems == []
    run = open_run(tmp_path / "crash.h5")
    assert run.status == "failed" and "simulated crash" in run.error
    assert run.n_rows == 2  # the rows before the crash are kept


def test_abort_keeps_rows_and_turns_outputs_off(tmp_path):
    import threading

    stop = threading.Event()

    class StopAtFirstProgress(runner.Progress):
        def update(self, percent):
            if percent > 0:
                stop.set()

    with runner.BenchSession.open("sim", seed=73) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        procedure = runner.build_procedure(EnduranceProcedure, {"cycles": 100000, "read_every": 1}, session)
        runner.validate(procedure)
        outcome = runner.execute(
            procedure, session, tmp_path / "abort.h5", seed=73, progress=StopAtFirstProgress(), stop_event=stop
        )
        assert outcome.status == "aborted"
        assert outputs_reported_on(sim) == {"smu": "0", "awg": "0"}
    run = open_run(outcome.path)
    assert 1 <= run.n_rows < 100000
