"""``tspcm bench check`` without the simulated bench: bad files, unreachable instruments, missing roles."""

import pytest

from tspcm_lab.cli import CliError

from tests.helpers.bench_cli import run_bench_cli


def test_invalid_file_exits_2_and_connects_nothing(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[smu]\ndriver = "keithley2450"\nresource = "GPIB0::18::INSTR"\nmax_voltage = "-1 V"\n'
        'max_compliance_current = "1 mA"\n'
    )
    assert run_bench_cli(["bench", "check", str(path)]) == 2
    out = capsys.readouterr().out
    assert f"{path}: smu.max_voltage: must be > 0 V" in out
    assert "nothing was connected" in out


def test_unreachable_instrument_and_missing_roles_one_line_each(tmp_path, capsys):
    path = tmp_path / "station.toml"
    # port 9 (discard) on loopback is closed: the connection is refused at once
    path.write_text(
        '[smu]\ndriver = "keithley2450"\nresource = "TCPIP::127.0.0.1::9::SOCKET"\n'
        'visa_library = "@py"\ntimeout = "2 s"\nmax_voltage = "2 V"\nmax_compliance_current = "1 mA"\n'
    )
    assert run_bench_cli(["bench", "check", str(path), "--require", "smu,pulse"]) == 1
    lines = capsys.readouterr().out.splitlines()
    by_role = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert "PROBLEM" in by_role["smu"] and "TCPIP::127.0.0.1::9::SOCKET" in by_role["smu"]
    assert "PROBLEM  missing: required, but the bench has no [pulse] table" in by_role["pulse"]
    assert by_role["scope"].split()[1] == "-"  # not required here
    assert lines[-1] == "result: 2 problem(s); no output was touched"


def test_arguments_are_checked():
    with pytest.raises(CliError, match="--require: unknown role"):
        run_bench_cli(["bench", "check", "--sim", "--require", "lockin"])
    with pytest.raises(CliError, match="either a bench file or --sim"):
        run_bench_cli(["bench", "check", "sim", "--sim"])
    with pytest.raises(CliError, match="give a bench file"):
        run_bench_cli(["bench", "check"])


def test_list_builtins(capsys):
    assert run_bench_cli(["bench", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sim") and "sim-tcp" in out
