"""Fixtures of the store tests: run a tiny real PyMeasure procedure headless into a run file."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # store_procedures must import by name (class path stored in files)
    sys.path.insert(0, str(HERE))


def run_headless(procedure, path, **kwargs):
    """Run `procedure` through HDF5Worker to completion; returns the HDF5Results."""
    from tspcm_lab.store import HDF5Results, HDF5Worker

    results = HDF5Results(procedure, path, **kwargs)
    worker = HDF5Worker(results)
    worker.start()
    while worker.is_alive():  # Worker.join(timeout) is a stop deadline: give a generous one
        worker.join(60)
    return results


@pytest.fixture
def headless():
    return run_headless
