"""The one shutdown path, on exact dialogues: every output off, each instrument tried even when
another one's connection is gone, problems collected and reported."""

import pytest
from pymeasure.adapters import ProtocolAdapter
from pymeasure.test import expected_protocol

from instruments.drivers.agilent33500 import Agilent33500Ext
from instruments.drivers.keithley2450 import Keithley2450Native
from instruments.drivers.keithley2750 import Keithley2750Matrix
from instruments.matrix import Keithley2750MatrixRole
from instruments.pulse import Agilent33500Pulse
from instruments.safety import Limits
from instruments.smu import Keithley2450SMU
from tspcm_lab.bench import Bench, ShutdownError, load_bench_config

LIMITS = Limits(max_voltage_v=3.0, max_current_a=1e-3)


#: the built-in simulated bench with no instrument where the SMU should be: reconnecting to it fails
UNREACHABLE_SMU = load_bench_config("sim").with_resources({"smu": "GPIB0::30::INSTR"})


def make_bench(smu_driver, pulse_driver, matrix_driver, config=UNREACHABLE_SMU):
    roles = {
        "smu": Keithley2450SMU(smu_driver, limits=LIMITS, resource="GPIB0::18::INSTR"),
        "pulse": Agilent33500Pulse(pulse_driver, limits=LIMITS, resource="GPIB0::10::INSTR"),
        "matrix": Keithley2750MatrixRole(
            matrix_driver, row_channels=[101], col_channels=[113], resource="GPIB0::16::INSTR"
        ),
    }
    bench = Bench(config, roles)
    roles["matrix"].outputs_on = bench.outputs_on
    return bench


def test_all_off_turns_everything_off_in_order():
    with (
        expected_protocol(Keithley2450Native, [(":ABOR", None), ("OUTPUT OFF", None)]) as smu,
        expected_protocol(Agilent33500Ext, [("OUTP1 0", None), ("OUTP1?", "0")]) as awg,
        expected_protocol(Keithley2750Matrix, [(":ROUTe:OPEN:ALL", None)]) as matrix,
    ):
        bench = make_bench(smu, awg, matrix)
        bench.smu.output_is_on = True
        assert bench.outputs_on() == ["smu"]
        assert bench.all_off() == []
        assert bench.outputs_on() == []
        bench.close()


def test_lost_connection_to_one_instrument_spares_the_others():
    dead = Keithley2450Native(ProtocolAdapter([]))  # every command to the SMU fails
    with (
        expected_protocol(Agilent33500Ext, [("OUTP1 0", None), ("OUTP1?", "0")]) as awg,
        expected_protocol(Keithley2750Matrix, [(":ROUTe:OPEN:ALL", None)]) as matrix,
    ):
        bench = make_bench(dead, awg, matrix)
        problems = bench.all_off()
        bench.close()
    assert len(problems) == 3 and all(p.startswith("smu (GPIB0::18::INSTR)") for p in problems[:2])
    assert problems[2].startswith("smu: reconnecting to GPIB0::30::INSTR failed")


def test_a_dropped_connection_is_reopened_once_to_confirm_the_output_off(caplog):
    """The connection in use is dead, the instrument is not: all_off() opens a new connection (here to
    the simulated 2450 the bench file names), checks its identity and turns the output off through it."""
    import pyvisa_tspcm

    pyvisa_tspcm.discard_bench("")
    sim_smu = pyvisa_tspcm.get_bench("").instruments["GPIB0::18::INSTR"]
    sim_smu.handle(":SOUR:VOLT:LEV 1;:OUTP ON")
    assert sim_smu.handle(":OUTP?") == "1"
    dead = Keithley2450Native(ProtocolAdapter([]))
    with (
        expected_protocol(Agilent33500Ext, [("OUTP1 0", None), ("OUTP1?", "0")]) as awg,
        expected_protocol(Keithley2750Matrix, [(":ROUTe:OPEN:ALL", None)]) as matrix,
    ):
        bench = make_bench(dead, awg, matrix, config=load_bench_config("sim"))
        bench.smu.output_is_on = True
        assert bench.all_off() == []
        assert bench.smu.driver is not dead and bench.roles["smu"] is bench.smu
        bench.close()
    assert sim_smu.handle(":OUTP?") == "0"
    assert "reconnected and confirmed the output off" in caplog.text


def test_context_manager_turns_off_on_exception_and_notes_problems():
    dead = Keithley2450Native(ProtocolAdapter([]))
    with (
        expected_protocol(Agilent33500Ext, [("OUTP1 0", None), ("OUTP1?", "0")]) as awg,
        expected_protocol(Keithley2750Matrix, [(":ROUTe:OPEN:ALL", None)]) as matrix,
    ):
        with pytest.raises(KeyError) as info:
            with make_bench(dead, awg, matrix):
                raise KeyError("mid-script failure")
    assert any("outputs may have stayed on" in note for note in info.value.__notes__)


def test_context_manager_raises_when_shutdown_is_not_confirmed():
    dead = Keithley2450Native(ProtocolAdapter([]))
    with (
        expected_protocol(Agilent33500Ext, [("OUTP1 0", None), ("OUTP1?", "0")]) as awg,
        expected_protocol(Keithley2750Matrix, [(":ROUTe:OPEN:ALL", None)]) as matrix,
    ):
        with pytest.raises(ShutdownError, match="outputs may still be on: smu"):
            with make_bench(dead, awg, matrix):
                pass


def test_snapshot_is_plain_data():
    import json

    with (
        expected_protocol(Keithley2450Native, [("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,1,1")]) as smu,
        expected_protocol(Agilent33500Ext, [("*IDN?", "Agilent Technologies,33522B,1,1")]) as awg,
        expected_protocol(Keithley2750Matrix, [("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 2750,1,1")]) as m,
    ):
        bench = make_bench(smu, awg, m)
        snap = bench.snapshot()
        bench.close()
    json.dumps(snap)
    assert snap["roles"]["smu"]["identity"].startswith("KEITHLEY INSTRUMENTS,MODEL 2450")
    assert snap["roles"]["matrix"]["row_channels"] == [101]
    assert snap["config"]["roles"]["smu"]["max_voltage_v"] == 5.0


def test_open_reports_unreachable_instrument_and_connects_nothing_else(tmp_path):
    from tspcm_lab.bench import BenchOpenError

    path = tmp_path / "station.toml"
    path.write_text(
        '[smu]\ndriver = "keithley2450"\nresource = "TCPIP::127.0.0.1::9::SOCKET"\n'
        'visa_library = "@py"\ntimeout = "2 s"\nmax_voltage = "2 V"\nmax_compliance_current = "1 mA"\n'
    )
    with pytest.raises(BenchOpenError) as info:
        Bench.open(path, require=("smu",))
    assert list(info.value.problems) == ["smu"]
    assert "TCPIP::127.0.0.1::9::SOCKET" in info.value.problems["smu"]
