"""Ctrl-C in a real subprocess, campaigns into a folder with an index, ``python -m tspcm_lab``."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tspcm_lab import cli
from tspcm_lab.store import open_run

from tests.helpers.runs import wait_for_rows

RUN_CHILD = Path(__file__).with_name("run_child.py")


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C at its default and not blocked, as a shell leaves it for a
    foreground command. A test process may have it ignored or blocked (an xdist worker after some library
    did so; both are inherited), and the child would then never see the Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


@pytest.mark.slow
def test_ctrl_c_aborts_cleanly_keeps_the_rows_and_turns_every_output_off(child_env, tmp_path):
    path = tmp_path / "long.h5"
    process = subprocess.Popen(
        [
            sys.executable,
            str(RUN_CHILD),
            "run",
            "smu-steps",
            "--sim",
            "--seed",
            "31",
            "--set",
            "points=1000000",
            "--set",
            "with_pulse=true",
            "-o",
            str(path),
        ],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )  # as a shell starts it, whatever this test process inherited
    try:
        wait_for_rows(path, process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, err
    assert "stopping: the procedure ends at its next check" in err and "every output is off" in err
    assert "Traceback" not in err
    assert "SMU_OUTPUT=0" in out and "AWG_OUTPUT=0" in out  # asked of the virtual instruments themselves
    run = open_run(path)
    assert run.status == "aborted"
    assert 0 < run.n_rows < 1_000_000
    steps = run.columns["Step"]
    assert list(steps) == list(range(run.n_rows))  # every row up to the stop, in order
    assert out.strip().splitlines()[-3] == str(path)


CAMPAIGN = """
[campaign]
title = "two steps"
seed = 41

[[run]]
procedure = "smu-steps"
title = "coarse"
parameters = { points = 5, level_V = "200 mV" }

[[run]]
procedure = "smu-steps"
title = "fine"
parameters = { points = 50 }
quick = { points = 7 }
"""


def test_a_campaign_runs_into_one_folder_with_an_index(capsys, plugin_site, tmp_path):
    file = tmp_path / "c.toml"
    file.write_text(CAMPAIGN)
    folder = tmp_path / "out"
    assert cli.main(["campaign", str(file), "--sim", "--quick", "-o", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == str(folder)
    index = json.loads((folder / "campaign.json").read_text())
    assert index["status"] == "completed" and index["seed"] == 41 and index["quick"] is True
    assert [(r["title"], r["status"], r["n_rows"]) for r in index["runs"]] == [
        ("coarse", "completed", 5),
        ("fine", "completed", 7),
    ]
    table = pd.read_csv(folder / "index.csv")
    assert list(table["file"]) == ["01_smu-steps.h5", "02_smu-steps.h5"]
    first, second = (open_run(folder / f) for f in table["file"])
    assert first.parameters["level_V"].value == pytest.approx(0.2) and second.parameters["points"].value == 7
    assert first.seed == second.seed == 41 and first.title == "two steps: coarse"
    # one bench for the campaign: the second run continues on the same simulated cell (virtual time runs on)
    assert first.bench["simulation"]["spec"] == second.bench["simulation"]["spec"] == "seed=41"


def test_a_campaign_with_a_bad_run_is_refused_before_anything_runs(capsys, plugin_site, tmp_path):
    file = tmp_path / "bad.toml"
    file.write_text(CAMPAIGN.replace("points = 50", "points = 0") + '\n[[run]]\nprocedure = "no-such"\n')
    assert cli.main(["campaign", str(file), "--sim", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "run 2 (smu-steps): points" in err and "1 .. 1000000" in err and "run 3: no procedure named" in err
    assert not (tmp_path / "out").exists()
    file.write_text("[campaign]\ntitle = 1\n")
    assert cli.main(["campaign", str(file)]) == 2
    assert "campaign.title: must be a string" in capsys.readouterr().err


def test_python_m_tspcm_lab_prints_errors_as_one_line(child_env):
    result = subprocess.run(
        [sys.executable, "-m", "tspcm_lab", "run", "no-such-procedure", "--sim"],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("tspcm run: error: no procedure named 'no-such-procedure'")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_ctrl_c_stops_a_campaign_and_its_index_says_so(child_env, tmp_path):
    file = tmp_path / "long.toml"
    file.write_text(CAMPAIGN.replace("points = 5,", "points = 1000000,"))
    folder = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, str(RUN_CHILD), "campaign", str(file), "--sim", "--seed", "42", "-o", str(folder)],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )  # as a shell starts it, whatever this test process inherited
    try:
        wait_for_rows(folder / "01_smu-steps.h5", process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, err
    assert "SMU_OUTPUT=0" in out and "campaign stopped: stopped by Ctrl-C" in out
    index = json.loads((folder / "campaign.json").read_text())
    assert index["status"] == "stopped"
    assert [r["status"] for r in index["runs"]] == ["aborted", "not run"]
    assert index["runs"][0]["n_rows"] == open_run(folder / "01_smu-steps.h5").n_rows > 0
    assert not (folder / "02_smu-steps.h5").exists()


def test_a_campaign_freezes_what_its_start_up_created_only_in_tspcms_own_process(capsys, tmp_path):
    """Planning (the procedures' imports) and opening the benches are kept from the collector and frozen, as for
    `tspcm run` (tspcm_lab.startup); in-process (cli.main from other code) the collector is left alone."""
    import gc
    import subprocess
    import sys

    file = tmp_path / "c.toml"
    file.write_text(
        '[campaign]\ntitle = "one"\nseed = 1\n\n[[run]]\nprocedure = "iv-sweep"\nparameters = { cycles = 1 }\n'
    )
    frozen = gc.get_freeze_count()
    assert cli.main(["campaign", str(file), "--sim", "-o", str(tmp_path / "a")]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    capsys.readouterr()

    child = (
        "import gc\nfrom tspcm_lab.cli import main\ncode = main()\n"
        "print('RESULT', code, gc.isenabled(), gc.get_freeze_count() > 100_000)"
    )
    argv = ["campaign", str(file), "--sim", "-o", str(tmp_path / "b")]
    done = subprocess.run([sys.executable, "-c", child, *argv], capture_output=True, text=True, timeout=300)
    assert done.stdout.splitlines()[-1] == "RESULT 0 True True", done.stdout + done.stderr
