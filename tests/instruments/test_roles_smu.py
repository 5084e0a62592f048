"""SMU role implementations: exact dialogues of their key operations, and the safety rules."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from instruments.drivers.keithley2400 import Keithley2400List
from instruments.drivers.keithley2450 import Keithley2450Native
from instruments.drivers.keithley2600 import Keithley2600Sweep
from instruments.safety import Limits, SafetyError
from instruments.smu import Keithley2400SMU, Keithley2450SMU, Keithley2600SMU

LIMITS = Limits(max_voltage_v=3.0, max_current_a=1e-3)
NO_ERROR_2450 = ("SYST:ERR?", '0,"No error;0;0 0"')
FORMAT_2400 = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)


def voltage_source_2450(limit: str) -> list:
    """The 2450's full voltage-source configuration at NPLC 1 with ``limit`` (A, as sent), before its error check."""
    return [
        (":SOUR:FUNC VOLT", None),
        (":SOUR:VOLT:RANG:AUTO 1", None),
        (f":SOUR:VOLT:ILIM {limit}", None),
        (':SENS:FUNC "CURR"', None),
        (":SENS:CURR:NPLC 1", None),
        (":SENS:CURR:RANG:AUTO 1", None),
    ]


def smu2450(driver):
    return Keithley2450SMU(driver, limits=LIMITS, resource="GPIB0::18::INSTR", driver_name="keithley2450")


# ------------------------------------------------------------------------------------------ 2450
def test_2450_compliance_is_sent_before_level_and_output():
    with expected_protocol(
        Keithley2450Native,
        [
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT:RANG:AUTO 1", None),
            (":SOUR:VOLT:ILIM 0.0001", None),
            (':SENS:FUNC "CURR"', None),
            (":SENS:CURR:NPLC 0.1", None),
            (":SENS:CURR:RANG:AUTO 1", None),
            NO_ERROR_2450,
            (":SOUR:VOLT:LEV 0.2", None),
            ("OUTPUT ON", None),
            (":READ?", "1.5e-08"),
            ("OUTPUT OFF", None),
        ],
    ) as driver:
        smu = smu2450(driver)
        smu.configure_voltage_source(compliance_a=100e-6, nplc=0.1)
        smu.set_voltage(0.2)
        smu.output_on()
        assert smu.measure_current() == pytest.approx(1.5e-8)
        smu.output_off()
    assert smu.snapshot()["settings"] == {
        "source_function": "voltage",
        "compliance_current_a": 1e-4,
        "nplc": 0.1,
        "source_voltage_v": 0.2,
        "output": False,
    }


def test_2450_current_source_uses_voltage_compliance():
    with expected_protocol(
        Keithley2450Native,
        [
            (":SOUR:FUNC CURR", None),
            (":SOUR:CURR:RANG:AUTO 1", None),
            (":SOUR:CURR:VLIM 2", None),
            (':SENS:FUNC "VOLT"', None),
            (":SENS:VOLT:NPLC 1", None),
            (":SENS:VOLT:RANG:AUTO 1", None),
            NO_ERROR_2450,
            (":SOUR:CURR:LEV 1e-06", None),
            (":READ?", "0.8"),
            (":SOUR:CURR:VLIM 3", None),  # the same source function and NPLC again: the new compliance alone
            NO_ERROR_2450,
        ],
    ) as driver:
        smu = smu2450(driver)
        smu.configure_current_source(compliance_v=2.0)
        smu.set_current(1e-6)
        assert smu.measure_voltage() == pytest.approx(0.8)
        smu.configure_current_source(compliance_v=3.0)


def test_2450_voltage_while_sourcing_voltage_is_the_source_readback():
    """:READ? alone would return the measured current; the voltage is the SOUR element."""
    with expected_protocol(
        Keithley2450Native,
        [
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT:RANG:AUTO 1", None),
            (":SOUR:VOLT:ILIM 1e-05", None),
            (':SENS:FUNC "CURR"', None),
            (":SENS:CURR:NPLC 1", None),
            (":SENS:CURR:RANG:AUTO 1", None),
            NO_ERROR_2450,
            (":SOUR:VOLT:LEV 2", None),
            (':READ? "defbuffer1", SOUR', "1.065831"),
        ],
    ) as driver:
        smu = smu2450(driver)
        smu.configure_voltage_source(compliance_a=10e-6)
        smu.set_voltage(2.0)
        assert smu.measure_voltage() == pytest.approx(1.065831)


def test_2450_output_without_compliance_is_refused_and_nothing_sent():
    with expected_protocol(Keithley2450Native, []) as driver:
        smu = smu2450(driver)
        with pytest.raises(SafetyError, match="no compliance set"):
            smu.output_on()
        with pytest.raises(SafetyError, match="configure_voltage_source"):
            smu.set_voltage(0.1)
        with pytest.raises(SafetyError, match="configure_voltage_source"):
            smu.sweep_voltage([0, 0.1])
    assert smu.output_is_on is False


def test_2450_limits_are_checked_before_any_command():
    with expected_protocol(Keithley2450Native, []) as driver:
        smu = smu2450(driver)
        with pytest.raises(SafetyError, match="exceeds the bench limit of 0.001 A"):
            smu.configure_voltage_source(compliance_a=5e-3)
        with pytest.raises(SafetyError, match="must be > 0"):
            smu.configure_voltage_source(compliance_a=-1e-4)
        with pytest.raises(SafetyError, match="compliance voltage 4 V exceeds"):
            smu.configure_current_source(compliance_v=4)
        with pytest.raises(ValueError, match="nplc"):
            smu.configure_voltage_source(compliance_a=1e-4, nplc=50)


def test_2450_level_above_limit_refused_after_configuration():
    with expected_protocol(
        Keithley2450Native,
        [
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT:RANG:AUTO 1", None),
            (":SOUR:VOLT:ILIM 0.0001", None),
            (':SENS:FUNC "CURR"', None),
            (":SENS:CURR:NPLC 1", None),
            (":SENS:CURR:RANG:AUTO 1", None),
            NO_ERROR_2450,
        ],
    ) as driver:
        smu = smu2450(driver)
        smu.configure_voltage_source(compliance_a=1e-4)
        with pytest.raises(SafetyError, match="source voltage -3.5 V exceeds the bench limit of 3 V"):
            smu.set_voltage(-3.5)
        with pytest.raises(SafetyError, match="sweep point 2 3.1 V"):
            smu.sweep_voltage([0, 1, 3.1])


def test_2450_native_linear_sweep_and_output_restored():
    with expected_protocol(
        Keithley2450Native,
        [
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT:RANG:AUTO 1", None),
            (":SOUR:VOLT:ILIM 0.0001", None),
            (':SENS:FUNC "CURR"', None),
            (":SENS:CURR:NPLC 1", None),
            (":SENS:CURR:RANG:AUTO 1", None),
            NO_ERROR_2450,
            (':TRAC:CLE "defbuffer1"', None),
            (':SOUR:SWE:VOLT:LIN 0, 2, 3, 0, 1, BEST, OFF, OFF, "defbuffer1"', None),
            (":INIT", None),
            ("*WAI", None),
            (':TRAC:DATA? 1, 3, "defbuffer1", READ, SOUR', "1e-10,0,2e-9,1,1e-4,2"),
            ("OUTPUT OFF", None),  # the sweep turned the output on; it was off before
        ],
    ) as driver:
        smu = smu2450(driver)
        smu.configure_voltage_source(compliance_a=1e-4)
        result = smu.sweep_voltage_linear(0, 2, 3)
    np.testing.assert_allclose(result.source_v, [0, 1, 2])
    np.testing.assert_allclose(result.current_a, [1e-10, 2e-9, 1e-4])
    assert smu.output_is_on is False


def test_2450_list_sweep_keeps_output_on_when_it_was_on():
    with expected_protocol(
        Keithley2450Native,
        [
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT:RANG:AUTO 1", None),
            (":SOUR:VOLT:ILIM 0.0001", None),
            (':SENS:FUNC "CURR"', None),
            (":SENS:CURR:NPLC 1", None),
            (":SENS:CURR:RANG:AUTO 1", None),
            NO_ERROR_2450,
            ("OUTPUT ON", None),
            (':TRAC:CLE "defbuffer1"', None),
            (":SOUR:LIST:VOLT 0.5, 1, 0.5", None),
            (':SOUR:SWE:VOLT:LIST 1, 0.01, 1, OFF, "defbuffer1"', None),
            (":INIT", None),
            ("*WAI", None),
            (':TRAC:DATA? 1, 3, "defbuffer1", READ, SOUR', "1e-9,0.5,2e-9,1,1e-9,0.5"),
        ],
    ) as driver:
        smu = smu2450(driver)
        smu.configure_voltage_source(compliance_a=1e-4)
        smu.output_on()
        result = smu.sweep_voltage([0.5, 1.0, 0.5], delay_s=0.01)
    assert len(result) == 3 and smu.output_is_on


def test_2450_configuration_error_from_the_instrument_is_raised():
    from instruments.safety import InstrumentError

    with expected_protocol(
        Keithley2450Native,
        [
            (":SOUR:FUNC VOLT", None),
            (":SOUR:VOLT:RANG:AUTO 1", None),
            (":SOUR:VOLT:ILIM 0.0001", None),
            (':SENS:FUNC "CURR"', None),
            (":SENS:CURR:NPLC 1", None),
            (":SENS:CURR:RANG:AUTO 1", None),
            ("SYST:ERR?", '-222,"Parameter data out of range;1;2 3"'),
            ("SYST:ERR?", '0,"No error;0;0 0"'),
        ],
    ) as driver:
        smu = smu2450(driver)
        with pytest.raises(InstrumentError, match="-222 Parameter data out of range"):
            smu.configure_voltage_source(compliance_a=1e-4)
        with pytest.raises(SafetyError):
            smu.output_on()  # the failed configuration does not count as a compliance


def test_2450_off_aborts_then_turns_output_off():
    with expected_protocol(Keithley2450Native, [(":ABOR", None), ("OUTPUT OFF", None)]) as driver:
        assert smu2450(driver).off() == []


def test_off_never_raises_and_tries_every_step():
    # an adapter with no dialogue left: each step of off() fails (as on a dead link) and is reported
    from pymeasure.adapters import ProtocolAdapter

    smu = smu2450(Keithley2450Native(ProtocolAdapter([])))
    smu.output_is_on = True
    problems = smu.off()
    assert len(problems) == 2
    assert "abort" in problems[0] and "output off" in problems[1]
    assert smu.output_is_on is True  # not confirmed off


# ------------------------------------------------------------------------------------------ 2400
def test_2400_configure_output_and_list_sweep():
    with expected_protocol(
        Keithley2400List,
        [
            FORMAT_2400,
            (":SOURCE:FUNCTION VOLT", None),
            (":SOUR:VOLT:MODE FIX", None),
            (":SOURCE:VOLTAGE:RANGE:AUTO 1", None),
            (":SENSE:CURRENT:PROTECTION 0.0001", None),
            (":SENS:FUNC 'CURR'", None),
            (":SENSE:CURRENT:NPLCYCLES 1", None),
            (":SENSE:CURRENT:RANGE:AUTO 1", None),
            ("SYST:ERR?", '0,"No error"'),
            (":SOUR:VOLT:MODE LIST", None),
            (":SOUR:LIST:VOLT 0, 1", None),
            (":TRIG:COUN 2", None),
            (":SOUR:DEL 0", None),
            ("OUTPUT 1", None),
            (":READ?", "0,1e-9,9.91e37,0.1,0,1,3e-6,9.91e37,0.2,0"),
            (":SOUR:VOLT:MODE FIX", None),
            (":TRIG:COUN 1", None),
            ("OUTPUT 0", None),
            (":ABORT", None),
            ("OUTPUT 0", None),
        ],
    ) as driver:
        smu = Keithley2400SMU(driver, limits=LIMITS)
        smu.configure_voltage_source(compliance_a=1e-4)
        result = smu.sweep_voltage([0, 1])
        np.testing.assert_allclose(result.current_a, [1e-9, 3e-6])
        assert smu.off() == []


def test_2400_refuses_output_without_compliance():
    with expected_protocol(Keithley2400List, [FORMAT_2400]) as driver:
        with pytest.raises(SafetyError):
            Keithley2400SMU(driver, limits=LIMITS).output_on()


# ------------------------------------------------------------------------------------------ 2600
def test_2600_channel_b_configure_set_output_measure_off():
    with expected_protocol(
        Keithley2600Sweep,
        [
            ("smub.source.func=1", None),
            ("smub.source.autorangev=1", None),
            ("smub.source.limiti=0.000100", None),
            ("smub.measure.nplc=1", None),
            ("smub.measure.autorangei=1", None),
            ("print(errorqueue.next())", "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00"),
            ("smub.source.levelv=1.250000", None),
            ("smub.source.output=1", None),
            ("print(smub.measure.i())", "2.5e-07"),
            ("smub.abort()", None),
            ("smub.source.output=0", None),
        ],
    ) as driver:
        smu = Keithley2600SMU(driver, channel="b", limits=LIMITS)
        smu.configure_voltage_source(compliance_a=1e-4)
        smu.set_voltage(1.25)
        smu.output_on()
        assert smu.measure_current() == pytest.approx(2.5e-7)
        assert smu.off() == []


def test_2600_sweep_turns_output_on_for_the_trigger_model_and_off_after():
    with expected_protocol(
        Keithley2600Sweep,
        [
            ("smua.source.func=1", None),
            ("smua.source.autorangev=1", None),
            ("smua.source.limiti=0.000100", None),
            ("smua.measure.nplc=1", None),
            ("smua.measure.autorangei=1", None),
            ("print(errorqueue.next())", "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00"),
            ("smua.nvbuffer1.clear()", None),
            ("smua.nvbuffer1.collectsourcevalues = 1", None),
            ("smua.measure.delay = 0", None),
            ("smua.trigger.source.listv({0, 1})", None),
            ("smua.trigger.source.action = smua.ENABLE", None),
            ("smua.trigger.measure.i(smua.nvbuffer1)", None),
            ("smua.trigger.measure.action = smua.ENABLE", None),
            ("smua.trigger.endsweep.action = smua.SOURCE_IDLE", None),
            ("smua.trigger.count = 2", None),
            ("smua.source.output=1", None),
            ("smua.trigger.initiate()", None),
            ("waitcomplete()", None),
            ("printbuffer(1, 2, smua.nvbuffer1.readings, smua.nvbuffer1.sourcevalues)", "1e-9, 0, 2e-6, 1"),
            ("smua.source.output=0", None),
        ],
    ) as driver:
        smu = Keithley2600SMU(driver, channel="a", limits=LIMITS)
        smu.configure_voltage_source(compliance_a=1e-4)
        result = smu.sweep_voltage([0, 1])
    np.testing.assert_allclose(result.source_v, [0, 1])
    np.testing.assert_allclose(result.current_a, [1e-9, 2e-6])


def test_2450_reconfigure_with_only_a_new_compliance_sends_the_compliance_alone():
    """A read fires the TS under one compliance, then sweeps under another: with the source function and
    NPLC unchanged and only levels, readings and output switching sent since the full configuration, the
    second configuration sends the new limit (still before any new level) and checks errors; after a
    sweep (which leaves the source on a fixed range) the source's autorange and the limit; after off(),
    the next one is sent in full again."""

    def full(limit):
        return [*voltage_source_2450(limit), NO_ERROR_2450]

    with expected_protocol(
        Keithley2450Native,
        [
            *full("1e-05"),
            (":SOUR:VOLT:LEV 1.5", None),
            ("OUTPUT ON", None),
            (":READ?", "9e-06"),
            (":SOUR:VOLT:ILIM 0.0001", None),  # the new compliance alone
            NO_ERROR_2450,
            (":SOUR:VOLT:LEV 0.2", None),
            (":READ?", "2e-06"),
            ("OUTPUT OFF", None),
            (":SOUR:VOLT:ILIM 1e-05", None),  # output switching changes no setting
            NO_ERROR_2450,
            (':TRAC:CLE "defbuffer1"', None),
            (":SOUR:LIST:VOLT 0.5, 1", None),
            (':SOUR:SWE:VOLT:LIST 1, 0, 1, OFF, "defbuffer1"', None),
            (":INIT", None),
            ("*WAI", None),
            (':TRAC:DATA? 1, 2, "defbuffer1", READ, SOUR', "1e-9,0.5,2e-9,1"),
            ("OUTPUT OFF", None),
            (":SOUR:VOLT:RANG:AUTO 1", None),  # the sweep left the source on a fixed range
            (":SOUR:VOLT:ILIM 0.0001", None),
            NO_ERROR_2450,
            (":ABOR", None),
            ("OUTPUT OFF", None),
            *full("0.0001"),  # after off(): in full again
        ],
    ) as driver:
        smu = smu2450(driver)
        smu.configure_voltage_source(compliance_a=10e-6, nplc=1)
        smu.set_voltage(1.5)
        smu.output_on()
        smu.measure_current()
        smu.configure_voltage_source(compliance_a=100e-6, nplc=1)
        assert smu.settings["compliance_current_a"] == 100e-6
        smu.set_voltage(0.2)
        smu.measure_current()
        smu.output_off()
        smu.configure_voltage_source(compliance_a=10e-6, nplc=1)
        smu.sweep_voltage([0.5, 1.0])
        smu.configure_voltage_source(compliance_a=100e-6, nplc=1)
        assert smu.off() == []
        smu.configure_voltage_source(compliance_a=100e-6, nplc=1)


def test_2450_after_a_sweep_another_nplc_or_a_failed_sweep_is_configured_in_full():
    """What a sweep leaves is known only for the configuration it ran under: another NPLC after it, or any
    configuration after a sweep that failed, is sent in full."""
    sweep = [
        (':TRAC:CLE "defbuffer1"', None),
        (":SOUR:LIST:VOLT 0.5, 1", None),
        (':SOUR:SWE:VOLT:LIST 1, 0, 1, OFF, "defbuffer1"', None),
        (":INIT", None),
        ("*WAI", None),
    ]
    with expected_protocol(
        Keithley2450Native,
        [
            *voltage_source_2450("1e-05"),
            NO_ERROR_2450,
            *sweep,
            (':TRAC:DATA? 1, 2, "defbuffer1", READ, SOUR', "1e-9,0.5,2e-9,1"),
            ("OUTPUT OFF", None),
            *[(c.replace("NPLC 1", "NPLC 0.1"), r) for c, r in voltage_source_2450("1e-05")],  # another NPLC
            NO_ERROR_2450,
            *sweep,
            (':TRAC:DATA? 1, 2, "defbuffer1", READ, SOUR', "1e-9"),  # a short reply: the sweep fails
            *[(c.replace("NPLC 1", "NPLC 0.1"), r) for c, r in voltage_source_2450("1e-05")],
            NO_ERROR_2450,
        ],
    ) as driver:
        smu = smu2450(driver)
        smu.configure_voltage_source(compliance_a=10e-6, nplc=1)
        smu.sweep_voltage([0.5, 1.0])
        smu.configure_voltage_source(compliance_a=10e-6, nplc=0.1)
        with pytest.raises(Exception):  # whatever the driver raises on a short reply
            smu.sweep_voltage([0.5, 1.0])
        smu.configure_voltage_source(compliance_a=10e-6, nplc=0.1)


def test_2450_a_configuration_that_failed_is_sent_in_full_next_time():
    error = ("SYST:ERR?", '-222,"Data out of range;1;0 0"')
    with expected_protocol(
        Keithley2450Native,
        [*voltage_source_2450("1e-05"), error, NO_ERROR_2450, *voltage_source_2450("1e-05"), NO_ERROR_2450],
    ) as driver:
        smu = smu2450(driver)
        with pytest.raises(Exception, match="-222"):
            smu.configure_voltage_source(compliance_a=10e-6, nplc=1)
        smu.configure_voltage_source(compliance_a=10e-6, nplc=1)
