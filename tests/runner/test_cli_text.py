"""What the command line says: `tspcm run` ends with the run's key figures, `tspcm runs` is a
readable table, help is plain text, a mistyped name gets a "did you mean", a missing path exits 2."""

import re

import pytest

from tspcm_lab import cli
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.si import format_si
from tspcm_lab.store.reader import read_run


def tspcm(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    assert (
        cli.main(
            [
                "run",
                "iv-sweep",
                "--sim",
                "--seed",
                "5",
                "--set",
                "cycles=2",
                "--set",
                "compliance_A=10 uA",
                "--title",
                "die 3, cell A1",
                "-o",
                str(folder / "iv.h5"),
            ]
        )
        == 0
    )
    assert (
        cli.main(
            [
                "run",
                "pulse-train",
                "--sim",
                "--seed",
                "6",
                "--set",
                "cycles=1",
                "--set",
                "potentiation_pulses=10",
                "--set",
                "depression_pulses=5",
                "-o",
                str(folder / "pt.h5"),
            ]
        )
        == 0
    )
    return folder


def test_run_ends_with_the_key_figures_of_the_run(capsys, tmp_path):
    path = tmp_path / "iv.h5"
    code, out, _ = tspcm(capsys, "run", "iv-sweep", "--sim", "--seed", "4", "--set", "cycles=2", "-o", str(path))
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-1] == str(path)  # still the last line
    features = {f.name: f for f in get_analysis("iv-sweep")(read_run(path)).features}
    vth, vhold = features["vth_median_V"].value, features["vhold_mean_V"].value
    mean = features["vth_mean_V"].value
    assert lines[-2] == (
        f"iv-sweep: Vth median {format_si(vth, 'V')}; Vhold {format_si(vhold, 'V')}; cycles 2; "
        f"Vth mean {format_si(mean, 'V')}"
    )


def test_runs_is_a_readable_table_and_long_gives_the_rest(capsys, two_runs):
    code, out, _ = tspcm(capsys, "runs", str(two_runs))
    assert code == 0
    lines = out.rstrip("\n").splitlines()
    assert lines[0].split() == ["start", "procedure", "status", "result", "title", "seed", "file"]
    assert len(lines) == 4 and all(len(line) <= 140 for line in lines)
    iv = next(line for line in lines if line.endswith("iv.h5"))
    assert "completed" in iv and re.search(r"Vth median 1\.\d{1,3} V", iv) and " 5 " in iv and "die 3, cell A1" in iv
    assert not re.search(r"\d{6,}|e-0", out)  # no float noise like 2.9999999999999997e-05
    code, out, _ = tspcm(capsys, "runs", "--long", str(two_runs / "iv.h5"))
    assert code == 0
    assert "Compliance=10 µA" in out and "Cycles=2" in out and "rows            1002" in out
    assert "seed            5" in out and "simulated single cell" in out and "Vhold" in out


def test_a_missing_path_exits_2_for_runs_and_analyze(capsys, tmp_path):
    for command in ("runs", "analyze"):
        code, _, err = tspcm(capsys, command, str(tmp_path / "nowhere"))
        assert code == 2 and "nowhere" in err and len(err.strip().splitlines()) == 1, (command, err)


def test_help_is_plain_text_for_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    texts = [capsys.readouterr().out]
    for command in cli.COMMANDS:
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        texts.append(capsys.readouterr().out)
    for command, text in zip(["tspcm", *cli.COMMANDS], texts):
        assert "usage:" in text and "`" not in text, command


#: what registering the commands must not import (the instrument drivers, PyMeasure's Procedure with pint,
#: pandas and dask, the device model): a command imports them when it runs
NOT_FOR_HELP = ("pymeasure", "pint", "pandas", "dask", "numba", "h5py", "pyvisa", "sim_backend", "tspcm_lab.bench")


@pytest.mark.parametrize("argv", [["--help"], *([command, "--help"] for command in cli.COMMANDS)], ids=" ".join)
def test_help_imports_no_driver_no_pymeasure_no_model(argv):
    """`tspcm --help` and each command's --help, in a fresh interpreter: none of them imports what only running
    a command needs."""
    import subprocess
    import sys

    child = (
        "import sys\nfrom tspcm_lab.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {NOT_FOR_HELP!r} if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", child, *argv], capture_output=True, text=True, timeout=120)
    assert "usage:" in done.stdout, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]", (argv, done.stderr)


def test_a_mistyped_name_gets_a_did_you_mean(capsys):
    code, _, err = tspcm(capsys, "rnu")
    assert code == 2 and "did you mean 'run'?" in err
    code, _, err = tspcm(capsys, "run", "iv-swep", "--sim")
    assert code == 2 and "did you mean 'iv-sweep'?" in err
    code, _, err = tspcm(capsys, "run", "iv-sweep", "--sim", "--set", "cyles=3")
    assert code == 2 and "did you mean 'cycles'?" in err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["runs", "--lnog", "."])
    assert exit_info.value.code == 2 and "did you mean '--long'?" in capsys.readouterr().err
