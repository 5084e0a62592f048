"""The ``@tspcm`` PyVISA backend, driven through real PyVISA (and a real PyMeasure driver)."""

from __future__ import annotations

import time

import pytest
import pyvisa
from pyvisa.constants import StatusCode

import pyvisa_tspcm
from sim_backend.faults import DropConnection, Latency, PushError, StopAnswering
from sim_backend.visa import TspcmVisaLibrary

SMU = "GPIB0::18::INSTR"
AWG = "GPIB0::10::INSTR"


def _open(spec: str, resource: str = SMU, **kwargs):
    rm = pyvisa.ResourceManager(f"{spec}@tspcm")
    return rm, rm.open_resource(resource, **kwargs)


def test_resource_manager_lists_bench_resources_in_table_order(probe_spec):
    rm = pyvisa.ResourceManager(f"{probe_spec}@tspcm")
    assert isinstance(rm.visalib, TspcmVisaLibrary)
    assert rm.list_resources() == (SMU, AWG)  # SMU first, as in the shared table
    assert rm.list_resources("GPIB?*::10::INSTR") == (AWG,)


def test_query_reaches_the_instrument_and_seed_reaches_the_bench(probe_spec):
    _, smu = _open(probe_spec, read_termination="\n")
    seed = probe_spec.split("=")[1]
    assert smu.query("*IDN?") == f"TSPCM-TEST,Probe SMU,{seed},1.0"


def test_other_spellings_of_a_resource_open_the_same_instrument(probe_spec):
    rm, smu = _open(probe_spec, read_termination="\n")
    smu.write("VAL 4")
    assert rm.open_resource("GPIB::18", read_termination="\n").query("VAL?") == "4"


def test_unknown_resource_is_not_found(probe_spec):
    rm = pyvisa.ResourceManager(f"{probe_spec}@tspcm")
    with pytest.raises(pyvisa.VisaIOError) as info:
        rm.open_resource("GPIB0::5::INSTR")
    assert info.value.error_code == StatusCode.error_resource_not_found


@pytest.mark.parametrize("write_termination", ["\r\n", "\n", ""])
def test_write_terminations_all_give_the_same_messages(probe_spec, write_termination):
    _, smu = _open(probe_spec, read_termination="\n", write_termination=write_termination)
    smu.write("VAL 1.5")
    smu.write("*CLS")
    assert smu.query("MSG?") == "VAL 1.5|*CLS"
    assert smu.query("VAL?") == "1.5"


def test_several_messages_in_one_write_are_split(probe_spec):
    _, smu = _open(probe_spec, read_termination="\n")
    smu.write_raw(b"VAL 2\r\n*CLS\n\nVAL?")  # the last message ends with END, no newline
    assert smu.read() == "2"
    assert smu.query("MSG?") == "VAL 2|*CLS|VAL?"


def test_without_read_termination_the_reply_keeps_its_newline_as_on_gpib(probe_spec):
    _, smu = _open(probe_spec)
    assert smu.read_termination is None
    assert smu.query("VAL?") == "0\n"


def test_binary_block_reads(probe_spec):
    _, smu = _open(probe_spec, read_termination="\n")
    expected = [i % 256 for i in range(300)]  # holds 0x0A: must not end the read early
    assert list(smu.query_binary_values("DATA? 300", datatype="B")) == expected

    smu.write("DATA? 300")
    head = smu.read_bytes(5)
    rest = smu.read_bytes(301)
    assert head == b"#3300" and rest == bytes(expected) + b"\n"

    # as on real VISA, a read with the termination character enabled stops at the first 0x0A ...
    smu.write("DATA? 300")
    assert smu.read_raw() == b"#3300" + bytes(range(11))
    assert smu.read_bytes(290) == bytes(expected[11:]) + b"\n"  # ... and the rest stays readable

    # ... without it, a read ends with the message (END)
    smu.read_termination = None
    smu.write("DATA? 300")
    assert smu.read_raw() == b"#3300" + bytes(expected) + b"\n"
    assert list(smu.query_binary_values("DATA? 300", datatype="B")) == expected


def test_written_binary_block_with_newline_bytes_arrives_whole(probe_spec):
    _, smu = _open(probe_spec, read_termination="\n")
    smu.write_binary_values("BLOCK ", list(range(256)), datatype="B")
    assert smu.query("BLOCK?") == f"256,{sum(range(256))}"
    assert smu.query("SYST:ERR?") == '0,"No error"'


def test_unknown_command_gives_no_reply_queues_error_and_stays_in_sync(probe_spec):
    _, smu = _open(probe_spec, read_termination="\n")
    smu.write("FOO:BAR 1")
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.read()  # nothing will ever come: an immediate timeout, not a hang
    assert info.value.error_code == StatusCode.error_timeout
    assert smu.query("SYST:ERR?") == '-113,"Undefined header"'
    assert smu.query("VAL?") == "0"


def test_pymeasure_keithley2450_driver_unmodified(probe_spec):
    from pymeasure.instruments.keithley import Keithley2450

    smu = Keithley2450(SMU, visa_library=f"{probe_spec}@tspcm")
    seed = int(probe_spec.split("=")[1])
    assert smu.id.startswith("TSPCM-TEST,Probe SMU")
    assert smu.current == pytest.approx(1e-6 * (seed + 1))
    instrument = pyvisa_tspcm.get_bench(probe_spec).instruments[SMU]
    assert instrument.messages[-1] == ":READ?"  # no stray "\r" from PyVISA's default "\r\n"
    smu.adapter.close()


def test_pyvisa_library_environment_variable(probe_specs, monkeypatch):
    spec = probe_specs()
    monkeypatch.setenv("PYVISA_LIBRARY", f"{spec}@tspcm")
    rm = pyvisa.ResourceManager()
    assert isinstance(rm.visalib, TspcmVisaLibrary)
    assert rm.visalib.bench is pyvisa_tspcm.get_bench(spec)


def test_bare_tspcm_is_the_default_bench(probe_specs):
    rm = pyvisa.ResourceManager("@tspcm")
    assert rm.visalib.spec == ""
    assert rm.visalib.bench is pyvisa_tspcm.get_bench("") is pyvisa_tspcm.get_bench("default")
    assert pyvisa.ResourceManager("default@tspcm").visalib is rm.visalib


def test_each_library_path_has_its_own_bench_and_reset_clears_it(probe_specs):
    spec_a, spec_b = probe_specs(), probe_specs()
    _, a = _open(spec_a, read_termination="\n")
    _, b = _open(spec_b, read_termination="\n")
    a.write("VAL 11")
    assert b.query("VAL?") == "0"
    # the same path shares the bench (PyVISA caches the backend per path)
    assert _open(spec_a, read_termination="\n")[1].query("VAL?") == "11"

    pyvisa_tspcm.reset_bench(spec_a)
    assert a.query("VAL?") == "0"

    a.write("VAL 12")
    a.write("VAL?")  # a reply left unread ...
    pyvisa.ResourceManager(f"{spec_a}@tspcm").visalib.reset()
    assert a.query("VAL?") == "0"  # ... is gone after the reset, the next query is in sync


def test_discard_bench_gives_a_new_bench_on_the_same_path(probe_spec):
    rm, smu = _open(probe_spec, read_termination="\n")
    old = rm.visalib.bench
    smu.write("VAL 5")
    pyvisa_tspcm.discard_bench(probe_spec)
    assert rm.visalib.bench is not old
    assert smu.query("VAL?") == "0"


def test_bad_bench_spec_is_reported_at_resource_manager_creation(probe_specs):
    with pytest.raises(ValueError, match="bogus"):
        pyvisa.ResourceManager("bogus=1@tspcm")


def test_trigger_status_byte_and_device_clear(probe_spec):
    _, smu = _open(probe_spec, read_termination="\n")
    smu.assert_trigger()
    assert smu.query("TRIG:COUN?") == "1"
    assert smu.read_stb() & 0x10 == 0
    smu.write("VAL?")
    assert smu.read_stb() & 0x10  # MAV: a reply is waiting
    smu.clear()
    assert smu.read_stb() & 0x10 == 0
    with pytest.raises(pyvisa.VisaIOError):
        smu.read()


def test_gpib_bus_operations_are_accepted(probe_spec):
    _, smu = _open(probe_spec, read_termination="\n")
    smu.control_ren(pyvisa.constants.RENLineOperation.asrt)
    assert smu.primary_address == 18
    smu.timeout = 123
    assert smu.timeout == 123


# -- faults -------------------------------------------------------------------------------------


def test_latency_fault_times_out_then_the_late_reply_is_read(probe_spec):
    rm, smu = _open(probe_spec, read_termination="\n")
    rm.visalib.faults.add("smu", Latency(seconds=0.15))
    smu.timeout = 20
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.query("VAL?")
    assert info.value.error_code == StatusCode.error_timeout
    smu.timeout = 5000
    assert smu.read() == "0"  # the late reply still arrives, as from a slow instrument


def test_stop_answering_fault_waits_for_the_resource_timeout(probe_spec):
    rm, smu = _open(probe_spec, read_termination="\n")
    rm.visalib.faults.add(SMU, StopAnswering(at=2))
    assert smu.query("VAL?") == "0"
    smu.timeout = 50
    start = time.monotonic()
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.query("VAL?")
    assert info.value.error_code == StatusCode.error_timeout
    assert time.monotonic() - start >= 0.045  # it waited for the timeout, like a mute instrument


def test_drop_connection_at_nth_command_and_after(probe_spec):
    rm, smu = _open(probe_spec, read_termination="\n")
    rm.visalib.faults.add("smu", DropConnection(at=3))
    smu.write("VAL 1")
    smu.write("VAL 2")
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.write("VAL 3")
    assert info.value.error_code == StatusCode.error_connection_lost
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.query("VAL?")
    assert info.value.error_code == StatusCode.error_connection_lost
    with pytest.raises(pyvisa.VisaIOError):  # the instrument is gone for new sessions too
        rm.open_resource(SMU, read_termination="\n").query("VAL?")
    awg = rm.open_resource(AWG, read_termination="\n")
    assert awg.query("VAL?") == "0"  # other instruments are unaffected

    rm.visalib.faults.clear()
    assert rm.open_resource(SMU, read_termination="\n").query("VAL?") == "2"  # "VAL 3" never ran


def test_drop_once_kills_the_session_but_a_new_one_works(probe_spec):
    rm, smu = _open(probe_spec, read_termination="\n")
    rm.visalib.faults.add("smu", DropConnection(at=1, persistent=False))
    with pytest.raises(pyvisa.VisaIOError):
        smu.write("VAL 9")
    with pytest.raises(pyvisa.VisaIOError):
        smu.query("VAL?")
    assert rm.open_resource(SMU, read_termination="\n").query("VAL?") == "0"


def test_faults_from_the_library_path(probe_specs):
    spec = probe_specs("fault=smu:error=-350,Queue overflow;fault=awg:drop=1")
    rm, smu = _open(spec, read_termination="\n")
    assert smu.query("SYST:ERR?") == '-350,"Queue overflow"'
    awg = rm.open_resource(AWG, read_termination="\n")
    with pytest.raises(pyvisa.VisaIOError) as info:
        awg.query("*IDN?")
    assert info.value.error_code == StatusCode.error_connection_lost


def test_push_error_fault_object(probe_spec):
    rm, smu = _open(probe_spec, read_termination="\n")
    pyvisa_tspcm.get_faults(probe_spec).add(SMU, PushError(-222, "Data out of range"))
    assert smu.query("SYST:ERR?") == '-222,"Data out of range"'
    assert smu.query("SYST:ERR?") == '0,"No error"'
