"""Every bad input of issue 10 gets one line on stderr naming what is wrong, exit code 2, and nothing
written: limits and timeouts that are not finite or absurd, malformed fault specs, paths that do not
exist."""

import pytest

from tspcm_lab import cli

BENCH = """
[bench]
visa_library = "@tspcm"
[smu]
driver = "keithley2450"
resource = "GPIB0::18::INSTR"
timeout = {timeout}
max_voltage = {max_voltage}
max_compliance_current = {current}
"""


def _bench(tmp_path, timeout='"10 s"', max_voltage='"5 V"', current='"10 mA"'):
    path = tmp_path / "bench.toml"
    path.write_text(BENCH.format(timeout=timeout, max_voltage=max_voltage, current=current))
    return str(path)


CASES = {
    "infinite voltage limit": (
        lambda t: ["run", "iv-sweep", "--bench", _bench(t, max_voltage='"1e400 V"')],
        "smu.max_voltage: '1e400 V' is not a finite number",
    ),
    "absurd voltage limit": (
        lambda t: ["run", "iv-sweep", "--bench", _bench(t, max_voltage='"1e6 V"')],
        "smu.max_voltage: '1e6 V' is beyond 3000 V",
    ),
    "absurd current limit": (
        lambda t: ["run", "iv-sweep", "--bench", _bench(t, current='"1e3 A"')],
        "smu.max_compliance_current: '1e3 A' is beyond 50 A",
    ),
    "absurd timeout": (
        lambda t: ["run", "iv-sweep", "--bench", _bench(t, timeout='"1e12 s"')],
        "smu.timeout: '1e12 s' is beyond 3600 s",
    ),
    "infinite timeout": (lambda t: ["run", "iv-sweep", "--bench", _bench(t, timeout="inf")], "smu.timeout: got inf"),
    "drop at 0": (
        lambda t: ["run", "iv-sweep", "--sim", "--sim-options", "fault=smu:drop=0"],
        "simulated bench options 'fault=smu:drop=0': fault 'smu:drop=0': bad value '0'",
    ),
    "fault without kind": (
        lambda t: ["run", "iv-sweep", "--sim", "--sim-options", "fault=smu"],
        "fault 'smu' must look like '<resource-or-role>:<kind>[=<value>]'",
    ),
    "fault on nothing": (
        lambda t: ["run", "iv-sweep", "--sim", "--sim-options", "fault=dmm:drop=1"],
        "fault target 'dmm' is not a resource of this bench",
    ),
    "infinite latency": (
        lambda t: ["run", "iv-sweep", "--sim", "--sim-options", "fault=smu:latency=1e400"],
        "fault 'smu:latency=1e400': bad value",
    ),
    "infinite wiring": (
        lambda t: ["run", "iv-sweep", "--sim", "--sim-options", "smu_series_ohm=1e400"],
        "bad value '1e400' for 'smu_series_ohm'",
    ),
    "serve with a bad fault": (
        lambda t: ["sim", "serve", "--port", "0", "--fault", "smu:drop=0"],
        "--fault: fault 'smu:drop=0': bad value '0'",
    ),
    "serve with a bad idle timeout": (
        lambda t: ["sim", "serve", "--port", "0", "--idle-timeout", "-1"],
        "--idle-timeout must be 0 (never) or a time up to 86400 s",
    ),
    "runs of nothing": (lambda t: ["runs", str(t / "nowhere")], "nowhere: no such file or folder"),
    "analyze nothing": (lambda t: ["analyze", str(t / "nowhere")], "nowhere: no such file or folder"),
    "repair nothing": (lambda t: ["repair", str(t / "nowhere.h5")], "nowhere.h5: no such file or folder"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_nothing_written(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, expected = CASES[case]
    argv = argv(tmp_path)
    if argv[0] == "run":
        argv += ["-o", str(tmp_path / "out.h5")]
    before = set(tmp_path.rglob("*"))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tspcm {argv[0]}: error: "), err
    assert expected in lines[0]
    assert "Traceback" not in err
    assert set(tmp_path.rglob("*")) == before  # no run file, no folder, nothing
