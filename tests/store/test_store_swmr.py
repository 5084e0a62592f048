"""Streaming and crash safety, with the writer in its own process: a reader sees a growing file;
after kill -9 the flushed rows survive, the run reads as interrupted, and `tspcm repair` makes it
readable by plain h5py and h5dump."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from tspcm_lab.cli import main
from tspcm_lab.store import RunBusyError, open_run, repair_run, write_analysis
from tspcm_lab.store.reader import read_ending

CHILD = Path(__file__).with_name("writer_child.py")


def _start(path, mode):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _expect(proc, line):
    got = proc.stdout.readline().strip()
    assert got == line, f"writer said {got!r}, stderr: {proc.stderr.read() if not got else ''}"


def test_second_process_sees_rows_grow(tmp_path):
    path = tmp_path / "grow.h5"
    proc = _start(path, "grow")
    try:
        seen = []
        for k in range(3):
            _expect(proc, f"flushed {100 * (k + 1)}")
            run = open_run(path)
            assert run.status == "running" and not run.consistent  # flagged open by a live writer
            seen.append(run.n_rows)
            with pytest.raises(RunBusyError):  # never "repair" a file under a live writer
                repair_run(path)
            with pytest.raises(RunBusyError, match="still being written"):  # nor write analysis into it
                write_analysis(path, "threshold", {"vth_V": 1.0})
            assert "threshold" not in open_run(path).analysis
            proc.stdin.write("next\n")
            proc.stdin.flush()
        assert seen == [100, 200, 300]
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    run = open_run(path)
    assert run.status == "completed" and run.consistent and run.n_rows == 300


def test_kill_9_keeps_flushed_rows_and_repair_makes_it_plain_readable(tmp_path, capsys):
    path = tmp_path / "crash.h5"
    proc = _start(path, "crash")
    try:
        _expect(proc, "flushed 250")
        _expect(proc, "buffered")
        proc.kill()  # SIGKILL: no Python cleanup, no HDF5 close
        proc.wait(timeout=30)
    finally:
        proc.kill()
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r")  # what plain h5py users see before the repair
    run = open_run(path)
    assert run.status == "interrupted"
    assert run.n_rows == 250  # every flushed row, none of the 50 buffered ones
    assert read_ending(path) == ("interrupted", 250)  # the runner's light read agrees
    t = run.columns["Time (s)"]
    np.testing.assert_array_equal(t, np.arange(250) * 1e-6)
    assert [r["message"] for r in run.log] == ["about to be killed"]
    with pytest.raises(RunBusyError, match="left open by a writer that died; run 'tspcm repair"):
        write_analysis(path, "threshold", {"vth_V": 1.0})
    assert open_run(path).analysis == {}

    assert main(["repair", str(path)]) == 0
    assert "repaired" in capsys.readouterr().out
    dump = subprocess.run(["h5dump", "-a", "/status", str(path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    assert '"interrupted"' in dump.stdout
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "interrupted" and f["data/time_s"].shape == (250,)
        assert f.attrs["end_time"] and f.attrs["repaired_time"]
    assert open_run(path).consistent
    write_analysis(path, "threshold", {"vth_V": 1.0}, {"vth_V": "V"})  # a repaired run takes analysis
    assert open_run(path).analysis["threshold"]["values"] == {"vth_V": 1.0}
    assert main(["repair", str(path)]) == 0  # a second repair changes nothing
    assert "nothing to repair" in capsys.readouterr().out


def test_repair_keeps_the_original_and_refuses_to_touch_a_good_file(tmp_path, capsys):
    path = tmp_path / "crash2.h5"
    proc = _start(path, "crash")
    try:
        _expect(proc, "flushed 250")
        proc.kill()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    before = path.read_bytes()
    result = repair_run(path, backup=False)
    assert result.rebuilt and result.ok and result.status == "interrupted" and result.n_rows == 250
    assert result.backup is None and not list(tmp_path.glob("*.bak*"))
    with h5py.File(path, "r") as f:
        assert f["data/current_A"].shape == (250,)
        assert f["parameters/amplitude"].attrs["units"] == "V"
        assert f["data/current_A"].fletcher32  # the checksums survive the copy
    again = repair_run(path)
    assert not again.rebuilt and again.backup is None and "nothing to repair" in str(again)
    assert before != path.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left
