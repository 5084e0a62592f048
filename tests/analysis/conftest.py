"""Run files for the analysis tests, written once per session through the store's writer."""

import numpy as np
import pytest

from tspcm_lab.analysis.examples import PROCEDURES, write_example_run

N_BATCH = 90  # test_batch.py checks against the same number (ten runs of each procedure)


@pytest.fixture(scope="session")
def example_runs(tmp_path_factory):
    """{procedure: path} of one example run of every procedure."""
    folder = tmp_path_factory.mktemp("examples")
    return {p: write_example_run(folder / f"{p}.h5", p, seed=1) for p in PROCEDURES}


@pytest.fixture(scope="session")
def batch_folder(tmp_path_factory):
    """N_BATCH small runs (every procedure in turn) in nested folders, plus one corrupt file."""
    root = tmp_path_factory.mktemp("batch")
    for k in range(N_BATCH):
        sub = root / f"wafer{k % 3}" / f"die{k % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        write_example_run(sub / f"run{k:04d}.h5", PROCEDURES[k % len(PROCEDURES)], seed=k)
    bad = root / "wafer1" / "corrupt.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + np.random.default_rng(0).bytes(4000))  # HDF5 signature, garbage after
    (root / "notes.txt").write_text("not a run, not picked up")
    return root
