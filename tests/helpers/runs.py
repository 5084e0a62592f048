"""Running a procedure headless into a run file, and waiting for a live run file to fill."""

import time
from pathlib import Path

import pytest


def run_headless(procedure, path, **kwargs):
    """Run `procedure` through HDF5Worker to completion; returns the HDF5Results."""
    from tspcm_lab.store import HDF5Results, HDF5Worker

    results = HDF5Results(procedure, path, **kwargs)
    worker = HDF5Worker(results)
    worker.start()
    while worker.is_alive():  # Worker.join(timeout) is a stop deadline: give a generous one
        worker.join(60)
    return results


def wait_for_rows(path, process=None, deadline_s=60.0):
    """Poll the live run file until it holds rows (the run is then mid-way); fail if the child ends."""
    from tspcm_lab.store import open_run

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {process.communicate()}")
        if Path(path).exists():
            try:
                if open_run(path).n_rows > 0:
                    return
            except Exception:  # not live yet
                pass
        time.sleep(0.05)
    pytest.fail("no rows appeared in the run file")


def make_run(path, procedure_class, seed, values):
    """A run file written by the headless runner (as `tspcm run` would)."""
    from tspcm_lab import runner

    session = runner.BenchSession.open("sim", seed=seed)
    try:
        procedure = runner.build_procedure(procedure_class, values, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, path, seed=seed, title="earlier run")
    finally:
        session.close()
    assert outcome.status == "completed"
    return path
