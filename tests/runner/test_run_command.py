"""``tspcm run`` on the simulated bench, in-process: completion, reproducibility, refusals before any output
is enabled, a dropped instrument connection, sequences and unknown names."""

import re

import numpy as np
import pytest

from tspcm_lab import cli
from tspcm_lab.bench import builtin_benches
from tspcm_lab.store import open_run

SMU = "GPIB0::18::INSTR"
AWG = "GPIB0::10::INSTR"


@pytest.fixture
def spy(plugin_site, spy):
    """The shared command spy (tests/conftest.py), with this module's plugin site installed."""
    return spy


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def output_on_commands(commands):
    return [c for c in commands if re.match(r"^:?OUTP(UT)?\d?\s+(ON|1)\b", c.strip(), re.I)]


def test_run_on_the_simulated_bench_completes_and_is_reproducible(capsys, spy, tmp_path):
    a, b, c = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"
    code, out, err = run_cli(
        capsys,
        "run",
        "smu-steps",
        "--sim",
        "--seed",
        "21",
        "--set",
        "points=25",
        "--set",
        "Level=250 mV",
        "--title",
        "cell A1",
        "-o",
        str(a),
    )
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(a)  # the last line is the run file
    run = open_run(a)
    assert (run.status, run.n_rows, run.seed, run.title, run.procedure) == ("completed", 25, 21, "cell A1", "smu-steps")
    assert run.parameters["points"].value == 25 and run.parameters["level_V"].value == pytest.approx(0.25)
    assert run.parameters["level_V"].units == "V"
    assert run.bench["simulation"]["spec"] == "seed=21"  # the seed went into the simulated bench
    assert run.bench["roles"]["smu"]["identity"].startswith("KEITHLEY")
    current = run.columns["Current (A)"]
    np.testing.assert_allclose(run.columns["Voltage (V)"], np.linspace(0.01, 0.25, 25))
    assert np.all(current > 0) and np.all(np.diff(current) > 0)  # sub-threshold: rises with V
    assert output_on_commands(spy["seed=21"][SMU])  # the run did enable the SMU ...
    assert spy["seed=21"]["bench"].instruments[SMU].handle(":OUTP?") == "0"  # ... and turned it off

    assert (
        run_cli(
            capsys,
            "run",
            "smu-steps",
            "--sim",
            "--seed",
            "21",
            "--set",
            "points=25",
            "--set",
            "level_V=0.25",
            "-o",
            str(b),
        )[0]
        == 0
    )
    np.testing.assert_array_equal(open_run(b).columns["Current (A)"], current)  # same seed, same data
    assert (
        run_cli(
            capsys,
            "run",
            "smu-steps",
            "--sim",
            "--seed",
            "22",
            "--set",
            "points=25",
            "--set",
            "level_V=0.25",
            "-o",
            str(c),
        )[0]
        == 0
    )
    assert not np.array_equal(open_run(c).columns["Current (A)"], current)  # another cell


def test_an_out_of_range_value_is_refused_with_its_range(capsys, spy, tmp_path):
    code, out, err = run_cli(
        capsys, "run", "smu-steps", "--sim", "--seed", "24", "--set", "level_V=3", "-o", str(tmp_path / "x.h5")
    )
    assert code == 2
    assert err.count("\n") == 1 and "level_V" in err and "0 .. 2 V" in err and "3 V" in err
    code, _, err = run_cli(capsys, "run", "smu-steps", "--sim", "--set", "points=many")
    assert code == 2 and "points" in err and "1 .. 1000000" in err
    code, _, err = run_cli(capsys, "run", "smu-steps", "--sim", "--set", "compliance_A=5 V")
    assert code == 2 and "compliance_A" in err and "'5 V' is not in A" in err
    assert not list(tmp_path.iterdir())
    assert spy == {}  # no bench was even built


def test_validate_refuses_against_the_bench_before_any_output_is_enabled(capsys, spy, tmp_path):
    """The bench file allows 1 uA compliance; the procedure's default is 10 uA: validate() refuses it
    after the bench is open and before the run file exists or any output is on."""
    text = (
        builtin_benches()["sim"]
        .read_text()
        .replace('max_compliance_current = "10 mA"', 'max_compliance_current = "1 uA"')
    )
    bench_file = tmp_path / "tight.toml"
    bench_file.write_text(text)
    code, out, err = run_cli(
        capsys, "run", "smu-steps", "--bench", str(bench_file), "--seed", "23", "-o", str(tmp_path / "runs")
    )
    assert code == 2
    assert "compliance_A" in err and "1e-06 A" in err and err.count("\n") == 1
    commands = spy["seed=23"][SMU]
    assert commands and not output_on_commands(commands)  # the bench was opened, nothing enabled
    assert spy["seed=23"]["bench"].instruments[SMU].handle(":OUTP?") == "0"
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_dropped_connection_fails_the_run_keeps_the_rows_and_turns_the_rest_off(capsys, spy, tmp_path):
    path = tmp_path / "drop.h5"
    spec = "seed=25"  # the bench factory sees the bench part of the spec (the fault part is the link's)
    code, out, err = run_cli(
        capsys,
        "run",
        "smu-steps",
        "--sim",
        "--seed",
        "25",
        "--sim-options",
        "fault=smu:drop=40",
        "--set",
        "points=200",
        "--set",
        "with_pulse=true",
        "-o",
        str(path),
    )
    assert code == 1
    assert "run failed: smu (keithley2450 at GPIB0::18::INSTR)" in err and "VI_ERROR_CONN_LOST" in err
    # said plainly, once: the SMU could not be reached to turn it off; the others are off
    assert err.count("smu (GPIB0::18::INSTR): output may still be on") == 1 and "every other output is off" in err
    assert "Traceback" not in err
    run = open_run(path)
    assert run.status == "failed" and "VI_ERROR_CONN_LOST" in run.error
    assert 0 < run.n_rows < 200  # the rows before the drop are kept
    assert np.all(np.isfinite(run.columns["Current (A)"]))
    instruments = spy[spec]["bench"].instruments
    assert output_on_commands(spy[spec][AWG])  # the pulse output had been on ...
    assert instruments[AWG].handle("OUTP1?") == "0"  # ... and was turned off despite the lost SMU


def test_a_sequence_file_gives_one_run_per_point(capsys, spy, tmp_path):
    sequence = tmp_path / "seq.txt"
    sequence.write_text('- "Level", "[0.1, 0.2]"\n-- "points", "arange(3, 5)"\n')
    code, out, err = run_cli(
        capsys,
        "run",
        "smu-steps",
        "--sim",
        "--seed",
        "26",
        "--sequence",
        str(sequence),
        "-o",
        str(tmp_path / "seq"),
        "--title",
        "ladder",
    )
    assert code == 0, err
    files = sorted((tmp_path / "seq").glob("*.h5"))
    assert len(files) == 4 and all(str(f) in out for f in files)
    points = [(open_run(f).parameters["level_V"].value, open_run(f).parameters["points"].value) for f in files]
    assert points == [(0.1, 3), (0.1, 4), (0.2, 3), (0.2, 4)]
    assert [open_run(f).n_rows for f in files] == [3, 4, 3, 4]
    assert open_run(files[0]).title == "ladder [level_V=0.1, points=3]"
    assert all(open_run(f).status == "completed" for f in files)


def test_a_sequence_with_a_bad_point_is_refused_before_any_run(capsys, spy, tmp_path):
    sequence = tmp_path / "seq.txt"
    sequence.write_text('- "Level", "[0.1, 2.5]"\n')
    code, _, err = run_cli(capsys, "run", "smu-steps", "--sim", "--sequence", str(sequence), "-o", str(tmp_path / "s"))
    assert code == 2 and "level_V" in err and "2.5 V" in err
    sequence.write_text('- "Level", "__import__(\'os\')"\n')  # PyMeasure's safe evaluation refuses this
    code, _, err = run_cli(capsys, "run", "smu-steps", "--sim", "--sequence", str(sequence))
    assert code == 2 and "--sequence" in err
    sequence.write_text('- "Nonsense", "[1]"\n')
    code, _, err = run_cli(capsys, "run", "smu-steps", "--sim", "--sequence", str(sequence))
    assert code == 2 and "Nonsense" in err
    assert not (tmp_path / "s").exists()
    assert spy == {}


def test_unknown_procedure_and_existing_output_are_usage_errors(capsys, plugin_site, tmp_path):
    code, _, err = run_cli(capsys, "run", "no-such-thing", "--sim")
    assert code == 2 and "no procedure named 'no-such-thing'" in err and "smu-steps" in err
    existing = tmp_path / "x.h5"
    existing.write_bytes(b"")
    code, _, err = run_cli(capsys, "run", "smu-steps", "--sim", "-o", str(existing))
    assert code == 2 and "already exists" in err
    code, _, err = run_cli(capsys, "run", "smu-steps", "--bench", "no-such-bench.toml")
    assert code == 2 and "no such bench file" in err


def test_procedures_lists_parameters_units_defaults_and_ranges(capsys, plugin_site):
    code, out, _ = run_cli(capsys, "procedures", "smu-steps")
    assert code == 0
    line = next(text for text in out.splitlines() if text.strip().startswith("level_V"))
    assert "Level" in line and "default 0.3 V" in line and "allowed 0 .. 2 V" in line
    assert "roles: smu" in out and "columns: Step, Voltage (V), Current (A)" in out
    code, out, _ = run_cli(capsys, "procedures", "--json")
    import json

    entry = next(e for e in json.loads(out) if e["name"] == "smu-steps")
    compliance = next(p for p in entry["parameters"] if p["key"] == "compliance_A")
    assert (compliance["units"], compliance["default"], compliance["maximum"]) == ("A", 1e-5, 1e-3)


def test_execute_into_an_existing_file_is_refused_and_the_file_kept(tmp_path):
    """A script that runs twice into one file name: the second run is refused before anything is applied,
    and the first run's file is untouched (before, the file was opened for reading: the second run's rows
    were dropped and its outcome pointed at the first run)."""
    from procedures.iv_sweep import IVSweepProcedure
    from tspcm_lab import runner

    path = tmp_path / "iv.h5"
    with runner.BenchSession.open("sim", seed=1) as session:
        first = runner.execute(runner.build_procedure(IVSweepProcedure, {"cycles": 1}, session), session, path, seed=1)
        assert first.status == "completed"
        before = path.read_bytes()
        with pytest.raises(FileExistsError, match="already exists"):
            runner.execute(runner.build_procedure(IVSweepProcedure, {"cycles": 2}, session), session, path, seed=1)
    assert path.read_bytes() == before and sorted(set(open_run(path).columns["Cycle"])) == [0]


def test_start_up_is_frozen_for_the_collector_only_in_tspcms_own_process(capsys, tmp_path):
    """`tspcm` as its process's command line freezes what opening the run imported (gc.freeze) and collects as
    usual afterwards; cli.main called from other code (here, in-process) leaves the collector alone."""
    import gc
    import subprocess
    import sys

    frozen = gc.get_freeze_count()
    code, _, _ = run_cli(
        capsys, "run", "iv-sweep", "--sim", "--seed", "1", "--set", "cycles=1", "-o", str(tmp_path / "a.h5")
    )
    assert code == 0 and gc.isenabled() and gc.get_freeze_count() == frozen

    child = (
        "import gc, sys\nfrom tspcm_lab.cli import main\ncode = main()\n"
        "print('RESULT', code, gc.isenabled(), gc.get_freeze_count() > 100_000)"
    )
    argv = ["run", "iv-sweep", "--sim", "--seed", "1", "--set", "cycles=1", "-o", str(tmp_path / "b.h5")]
    done = subprocess.run([sys.executable, "-c", child, *argv], capture_output=True, text=True, timeout=300)
    assert done.stdout.splitlines()[-1] == "RESULT 0 True True", done.stdout + done.stderr
