"""A full disk under a real `tspcm run` (a file size limit, RLIMIT_FSIZE, set in the child: no root
needed): no crash, status "failed" with a disk-full message, exit 1, every flushed row readable, every
simulated output off. Three levels of checks/disk_full.py (which runs ten)."""

import h5py
import pytest

from checks.disk_full import run_level

pytestmark = pytest.mark.slow


def test_too_little_room_to_start_writes_nothing(tmp_path):
    result = run_level(150 * 1024, tmp_path)
    assert result.problems == [], result.problems
    assert result.code == 1 and not result.file
    assert "disk full" in result.message and "not created" in result.message
    assert "no run file was written" in result.message


def test_disk_full_mid_run_ends_failed_with_the_rows_kept(tmp_path):
    result = run_level(3 * 1024 * 1024, tmp_path)
    assert result.problems == [], result.problems
    assert result.code == 1 and result.file and result.status == "failed" and result.rows > 0
    assert result.outputs and not any(v is True or v == "1" for v in result.outputs.values())
    path = next(tmp_path.glob("*-checked.h5"))
    with h5py.File(path, "r") as f:  # plain h5py: the file was closed properly
        assert f.attrs["error"].startswith("disk full:")
        assert f.attrs["n_rows"] == result.rows


def test_a_write_that_fails_anyway_does_not_crash_and_repair_ends_the_file(tmp_path):
    """With the room check off HDF5 itself hits the limit mid-flush (as when another program fills the
    disk between the check and the write): before, this ended in a segfault."""
    from tspcm_lab.store import repair_run

    result = run_level(2 * 1024 * 1024, tmp_path, check_room=False)
    assert result.problems == [], result.problems
    assert result.code == 1 and result.rows > 0 and "disk full" in result.message
    path = next(tmp_path.glob("*-unchecked.h5"))
    repaired = repair_run(path)
    assert repaired.ok and repaired.status == "interrupted" and repaired.n_rows == result.rows
