"""Bench files: built-ins load, every kind of bad input is named with file, key and what is allowed."""

import pytest

from instruments.units import UnitError, format_quantity, parse_quantity
from tspcm_lab.bench import BenchConfigError, load_bench_config

GOOD = """
[bench]
name = "probe station 2"
visa_library = "@py"

[smu]
driver = "keithley2600"
resource = "TCPIP::192.168.0.20::5025::SOCKET"
channel = "b"
timeout = "30 s"
max_voltage = "2.5 V"
max_compliance_current = "500 uA"
series_resistance = "1 kOhm"

[pulse]
driver = "keysight81160a"
resource = "GPIB0::12::INSTR"
visa_library = "@ivi"
channel = 2
max_voltage = 3

[scope]
driver = "dsox1102g"
resource = "USB0::0x2A8D::0x1797::CN5800000::INSTR"
sense_resistance = "50 Ω"

[matrix]
driver = "keithley2750"
resource = "GPIB0::16::INSTR"
row_channels = [101, 102, 103, 104]
col_channels = [113, 114, 115, 116]

[prober]
driver = "velox"
resource = "TCPIP::192.168.0.30::1412::SOCKET"
velocity_percent = 50
"""


def write(tmp_path, text, name="bench.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(BenchConfigError) as info:
        load_bench_config(path)
    assert all(str(path) in line for line in str(info.value).splitlines())
    return str(info.value)


def test_builtin_sim_benches_load():
    sim = load_bench_config("sim")
    assert {r: c.resource for r, c in sim.roles.items()} == {
        "smu": "GPIB0::18::INSTR",
        "pulse": "GPIB0::10::INSTR",
        "scope": "GPIB0::7::INSTR",
        "matrix": "GPIB0::16::INSTR",
    }
    assert {c.visa_library for c in sim.roles.values()} == {"@tspcm"}
    tcp = load_bench_config("sim-tcp")
    assert [c.resource for c in tcp.roles.values()] == [
        f"TCPIP::127.0.0.1::{port}::SOCKET" for port in (5025, 5026, 5027, 5028)
    ]
    assert {c.visa_library for c in tcp.roles.values()} == {"@py"}
    assert sim.roles["scope"].sense_resistance_ohm == 50.0


def test_full_bench_file_parses_units_and_defaults(tmp_path):
    config = load_bench_config(write(tmp_path, GOOD), require=("smu", "pulse", "prober"))
    smu = config.roles["smu"]
    assert (smu.channel, smu.timeout_s, smu.visa_library) == ("b", 30.0, "@py")
    assert smu.limits.max_voltage_v == 2.5 and smu.limits.max_current_a == pytest.approx(5e-4)
    assert smu.series_resistance_ohm == 1000.0
    assert config.roles["pulse"].visa_library == "@ivi" and config.roles["pulse"].max_voltage_v == 3.0
    assert config.roles["scope"].channel == 1  # default channel
    assert config.roles["matrix"].row_channels == (101, 102, 103, 104)
    assert config.roles["prober"].velocity_percent == 50.0
    assert config.as_dict()["roles"]["matrix"]["col_channels"] == [113, 114, 115, 116]


def test_malformed_toml_names_the_file_and_line(tmp_path):
    message = problems_of(tmp_path, "[smu]\ndriver = keithley2450\n")
    assert "malformed TOML" in message and "line 2" in message


def test_missing_file_lists_builtins(tmp_path):
    with pytest.raises(BenchConfigError, match="no such bench file .*sim"):
        load_bench_config(tmp_path / "nope.toml")


def test_unknown_driver_and_driver_of_another_role(tmp_path):
    message = problems_of(
        tmp_path,
        """
[smu]
driver = "keithley9999"
resource = "GPIB0::1::INSTR"
max_voltage = "1 V"
max_compliance_current = "1 mA"
[pulse]
driver = "dsox1102g"
resource = "GPIB0::2::INSTR"
max_voltage = "1 V"
""",
    )
    assert (
        "smu.driver: unknown driver 'keithley9999'; allowed for [smu]: keithley2400, keithley2450, keithley2600"
        in message
    )
    assert "pulse.driver: 'dsox1102g' is a scope driver, not a pulse; allowed for [pulse]: agilent33500" in message


def test_missing_resource_and_limits(tmp_path):
    message = problems_of(tmp_path, '[smu]\ndriver = "keithley2450"\n')
    assert "smu.resource: missing" in message
    assert "smu.max_voltage: missing; every output needs its safety limit" in message
    assert "smu.max_compliance_current: missing" in message


def test_limits_of_wrong_sign_or_unit(tmp_path):
    message = problems_of(
        tmp_path,
        """
[smu]
driver = "keithley2450"
resource = "GPIB0::18::INSTR"
max_voltage = "-2 V"
max_compliance_current = "10 mV"
timeout = "fast"
[scope]
driver = "dsox1102g"
resource = "GPIB0::7::INSTR"
sense_resistance = "50"
""",
    )
    assert "smu.max_voltage: must be > 0 V, got '-2 V'" in message
    assert "smu.max_compliance_current: '10 mV' is not in A" in message
    assert "smu.timeout: cannot read 'fast'" in message
    assert "scope.sense_resistance: '50' has no unit" in message


def test_unknown_keys_tables_and_channels(tmp_path):
    message = problems_of(
        tmp_path,
        """
[smu]
driver = "keithley2450"
resource = "GPIB0::18::INSTR"
max_volatge = "2 V"
max_voltage = "2 V"
max_compliance_current = "1 mA"
channel = 1
[pulse]
driver = "agilent33521a"
resource = "GPIB0::10::INSTR"
max_voltage = "2 V"
channel = 2
[lockin]
driver = "sr830"
""",
    )
    assert "smu.max_volatge: unknown key; allowed in [smu]:" in message
    assert "smu.channel: keithley2450 has no channels; remove the key" in message
    assert "pulse.channel: 2 is not a channel of agilent33521a; allowed: 1" in message
    assert "[lockin]: unknown table; allowed: bench, smu, pulse, scope, matrix, prober" in message


def test_matrix_channels_validated(tmp_path):
    message = problems_of(
        tmp_path,
        """
[matrix]
driver = "keithley2750"
resource = "GPIB0::16::INSTR"
row_channels = [101, 102]
col_channels = [102, "x"]
""",
    )
    assert "matrix.col_channels: must be a non-empty list of positive channel numbers" in message


def test_missing_role_that_a_procedure_requires(tmp_path):
    path = write(tmp_path, '[scope]\ndriver = "dsox1102g"\nresource = "GPIB0::7::INSTR"\nsense_resistance = "50 ohm"\n')
    with pytest.raises(BenchConfigError, match=r"\[smu\]: missing: this needs a smu .*keithley2450"):
        load_bench_config(path, require=("smu", "scope"))


def test_empty_file(tmp_path):
    assert "configures no instrument" in problems_of(tmp_path, "# nothing\n")


@pytest.mark.parametrize(
    "text, unit, value",
    [
        ("100 uA", "A", 1e-4),
        ("100µA", "A", 1e-4),
        ("2 V", "V", 2.0),
        ("1.5e-3 A", "A", 1.5e-3),
        ("10 kOhm", "ohm", 1e4),
        ("50 ohm", "ohm", 50.0),
        ("20 ms", "s", 0.02),
        (3, "V", 3.0),
        (0.5, "A", 0.5),
    ],
)
def test_quantities(text, unit, value):
    assert parse_quantity(text, unit) == pytest.approx(value)


@pytest.mark.parametrize(
    "text, unit",
    [
        ("2 mV", "A"),
        ("2", "V"),
        ("2 volts", "V"),
        (True, "V"),
        ("2 MV V", "V"),
        ("nan V", "V"),
        ([2], "V"),
    ],
)
def test_bad_quantities(text, unit):
    with pytest.raises(UnitError):
        parse_quantity(text, unit)


def test_format_quantity():
    assert format_quantity(1e-4, "A") == "100 uA"
    assert format_quantity(2.5, "V") == "2.5 V"


def test_matrix_wiring_forms(tmp_path):
    head = '[matrix]\ndriver = "keithley2750"\nresource = "GPIB0::16::INSTR"\n'
    config = load_bench_config(write(tmp_path, head + 'array = "2x3"\nslot = 2\n', "a.toml"))
    assert config.roles["matrix"].cell_channels == ((201, 202, 203), (209, 210, 211))
    assert load_bench_config("sim").roles["matrix"].cell_channels == ((101,),)
    message = problems_of(tmp_path, head + 'array = "2x2"\nrow_channels = [101]\ncol_channels = [113]\n')
    assert "matrix.array: give exactly one wiring" in message
    assert "a 7709 holds up to 6x8 cells" in problems_of(tmp_path, head + 'array = "7x2"\n')
    assert "rectangular table" in problems_of(tmp_path, head + "cell_channels = [[101, 102], [109]]\n")
