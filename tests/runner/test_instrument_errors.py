"""An error pushed into any instrument's queue in the middle of a run is noticed: it is recorded in the
run file's /log, and an error on which the instrument would not go on (here -350 "Queue overflow" on
the SMU, a device error; or any on an instrument the procedure does not even use) fails the run naming
that instrument. A query error (-4xx) is only recorded."""

import threading

import pytest

from sim_backend.faults import PushError
from tspcm_lab import plugins, runner
from tspcm_lab.store import open_run

from tests.helpers.runs import wait_for_rows


def _run_with_error_pushed(tmp_path, target, code, seed, points=40_000):
    import pyvisa_tspcm

    path = tmp_path / f"{target}{code}.h5"
    session = runner.BenchSession.open("sim", seed=seed)
    try:
        procedure = runner.build_procedure(plugins.load_procedure("smu-steps"), {"points": points}, session)
        runner.validate(procedure)

        def push():  # mid-run: once the file holds rows, as an instrument would raise it
            wait_for_rows(path)
            pyvisa_tspcm.get_faults(session.spec).add(target, PushError(code, "Injected"))

        pusher = threading.Thread(target=push, daemon=True)
        pusher.start()
        outcome = runner.execute(procedure, session, path, seed=seed)
        pusher.join()
    finally:
        session.close()
    return outcome, open_run(path)


@pytest.mark.parametrize("target, role", [("smu", "smu (GPIB0::18::INSTR)"), ("awg", "pulse (GPIB0::10::INSTR)")])
def test_a_device_error_mid_run_fails_the_run_and_is_in_the_log(plugin_site, tmp_path, target, role):
    # enough points that the error lands mid-run on the compiled bench (~2e4 readings a second; rows
    # appear in the file at its first flush, so the pusher sees them only after that)
    outcome, run = _run_with_error_pushed(tmp_path, target, -350, seed=61)
    assert (outcome.status, run.status) == ("failed", "failed"), outcome.message
    assert 0 < run.n_rows < 40_000  # stopped, rows kept
    assert f"{role} reported error -350" in outcome.message
    logged = [r for r in run.log if r["levelname"] == "ERROR" and f"{role} reported error -350" in r["message"]]
    assert logged
    assert not outcome.off_problems  # every output confirmed off


@pytest.mark.slow
def test_a_query_error_mid_run_is_recorded_and_the_run_completes(plugin_site, tmp_path):
    outcome, run = _run_with_error_pushed(tmp_path, "smu", -420, seed=62, points=60_000)
    assert (outcome.status, run.status, run.n_rows) == ("completed", "completed", 60_000), outcome.message
    assert any(
        r["levelname"] == "WARNING" and "smu (GPIB0::18::INSTR) reported error -420" in r["message"] for r in run.log
    )
