"""Kill -9 of real `tspcm run` processes, then `tspcm repair`: every row a SWMR reader saw before the
kill is readable by plain h5py and h5dump, status "interrupted". A few kills of checks/crash_campaign.py
(which does 20 per procedure); plus a writer killed before its file went live (SWMR), which HDF5 refuses
to open at all until the superblock is fixed."""

import random
import subprocess
import sys

import h5py
import numpy as np
import pytest

from tspcm_lab.store import open_run, repair_run
from tspcm_lab.store.errors import NotARunError

from checks.crash_campaign import kill_and_repair

#: the pattern run with a given spike amplitude: no ~15 s calibration before its first row
FAST = {"pattern": ["--bench", "sim-4x4", "--set", "spike_amplitude_V=1.9"]}


@pytest.mark.slow
@pytest.mark.parametrize("procedure", ["endurance", "retention", "pattern"])
def test_kill_9_mid_run_then_repair_keeps_every_row_seen(procedure, tmp_path):
    moment = random.Random(procedure).uniform(0.0, 0.8)  # after the first flushed row
    result = kill_and_repair(procedure, moment, seed=11, folder=tmp_path, after_rows=1, run_args=FAST.get(procedure))
    assert result.problems == [], result.problems
    assert result.file and result.rows_seen >= 1
    assert result.rows_after >= result.rows_seen and result.status == "interrupted"
    assert "repaired (status running -> interrupted" in result.repair
    assert (tmp_path / f"{procedure}-11.h5.bak").exists()  # the original, as the crash left it


def test_a_writer_killed_before_going_live_is_repaired_too(tmp_path):
    path = tmp_path / "early.h5"
    child = (
        "import os, signal, sys\n"
        "from tspcm_lab.store import RunWriter\n"
        "w = RunWriter.create(sys.argv[1], columns=['Voltage (V)'], parameters={'amplitude': (1.5, 'V')},"
        " live=False, flush_interval_s=None)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", child, str(path)], timeout=60)
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r")
    with pytest.raises(NotARunError, match="tspcm repair"):
        open_run(path)  # not even SWMR readers get in
    result = repair_run(path)
    assert result.ok and result.status == "interrupted" and result.n_rows == 0
    with h5py.File(path, "r") as f:  # plain h5py, as any user
        assert f.attrs["status"] == "interrupted"
        assert f["parameters/amplitude"][()] == 1.5 and f["parameters/amplitude"].attrs["units"] == "V"
        assert f["data/voltage_V"].shape == (0,)
    out = subprocess.run(["h5dump", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_repair_refuses_to_claim_success_for_a_damaged_chunk(tmp_path, capsys):
    """A zeroed data page in a completed run: repair keeps every readable row, names the chunk it could
    not read (Fletcher-32), keeps the original, and exits 1."""
    from tspcm_lab.cli import main
    from tspcm_lab.store import RunWriter

    path = tmp_path / "damaged.h5"
    with RunWriter.create(path, columns=["Time (s)", "Current (A)"]) as w:
        w.append_columns({"Time (s)": np.arange(10_000.0), "Current (A)": np.ones(10_000)})
    with h5py.File(path, "r") as f:
        info = f["data/current_A"].id.get_chunk_info(1)  # rows 4096..8191
    raw = bytearray(path.read_bytes())
    raw[info.byte_offset : info.byte_offset + 4096] = bytes(4096)
    path.write_bytes(bytes(raw))
    with pytest.raises(Exception, match="/data/current_A is damaged"):
        open_run(path).columns
    assert main(["repair", str(path)]) == 1
    out = capsys.readouterr().out
    assert "partly repaired" in out and "/data/current_A rows 4096-8191" in out and "damaged.h5.bak" in out
    with h5py.File(path, "r") as f:
        current = f["data/current_A"][()]
        assert np.all(current[:4096] == 1) and np.all(current[8192:] == 1)  # every readable row kept
        assert np.isnan(current[4096:8192]).all()  # the damaged chunk: missing, not made up
        assert "current_A rows 4096-8191" in " ".join(f.attrs["repair_lost"].astype(str))
