"""Ctrl-C on `tspcm run ... 2>&1 | tee log`: the reader of the pipe dies with the same Ctrl-C, so every
later line the run prints meets a broken pipe. The run must still stop cleanly: status "aborted", the
rows kept, exit code 1, no traceback."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tspcm_lab.store import open_run

from tests.helpers.runs import wait_for_rows

pytestmark = pytest.mark.slow

TSPCM = Path(sys.executable).with_name("tspcm")


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C at its default and not blocked, as a shell leaves it for a
    foreground command, whatever this test process inherited (an ignored or blocked SIGINT is inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


def _interrupt_through_a_dead_pipe(path: Path, stderr) -> int:
    reader = subprocess.Popen([sys.executable, "-c", "import sys\nfor line in sys.stdin: pass"], stdin=subprocess.PIPE)
    run = subprocess.Popen(
        [
            str(TSPCM),
            "run",
            "endurance",
            "--sim",
            "--seed",
            "2",
            "--set",
            "cycles=100000",
            "--set",
            "read_every=1",
            "-o",
            str(path),
        ],
        stdout=reader.stdin,
        stderr=stderr,
        preexec_fn=_default_sigint,
    )
    reader.stdin.close()
    try:
        wait_for_rows(path, run)
        reader.kill()  # tee goes first
        reader.wait()
        run.send_signal(signal.SIGINT)
        return run.wait(timeout=120)
    finally:
        run.kill()
        reader.kill()


@pytest.mark.parametrize("stderr_to_pipe", [True, False], ids=["2>&1 | tee", "2>err | tee"])
def test_ctrl_c_through_a_broken_pipe_aborts_cleanly(tmp_path, stderr_to_pipe):
    path = tmp_path / "run.h5"
    err_path = tmp_path / "err.txt"
    with open(err_path, "w") as err:
        code = _interrupt_through_a_dead_pipe(path, subprocess.STDOUT if stderr_to_pipe else err)
    run = open_run(path)
    assert (code, run.status) == (1, "aborted")
    assert run.n_rows > 0 and run.consistent  # closed properly with its rows
    if not stderr_to_pipe:
        text = err_path.read_text()
        assert "Traceback" not in text and "BrokenPipeError" not in text
        assert "every output is off" in text
