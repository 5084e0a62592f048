"""Keithley 2450 native sweep extension, against the 2450 Reference Manual's command strings."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from instruments.drivers.keithley2450 import Keithley2450Native


def test_linear_sweep_setup_run_and_buffer_read():
    with expected_protocol(
        Keithley2450Native,
        [
            (':TRAC:CLE "defbuffer1"', None),
            (':SOUR:SWE:VOLT:LIN 0, 2, 5, 0.001, 1, BEST, OFF, OFF, "defbuffer1"', None),
            (":INIT", None),
            ("*WAI", None),
            (':TRAC:DATA? 1, 5, "defbuffer1", READ, SOUR', "1e-9,0,2e-9,0.5,3e-9,1,1e-4,1.5,1e-4,2"),
        ],
    ) as smu:
        smu.clear_buffer()
        smu.sweep_voltage_linear(0, 2, 5, delay_s=1e-3)
        smu.initiate()
        smu.wait()
        readings, sources = smu.buffer_readings(5)
    np.testing.assert_allclose(sources, [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(readings, [1e-9, 2e-9, 3e-9, 1e-4, 1e-4])


def test_list_sweep_is_sent_in_chunks_of_100_then_appended():
    levels = [i * 0.01 for i in range(150)]
    first = ", ".join(f"{v:.9g}" for v in levels[:100])
    rest = ", ".join(f"{v:.9g}" for v in levels[100:])
    with expected_protocol(
        Keithley2450Native,
        [
            (f":SOUR:LIST:VOLT {first}", None),
            (f":SOUR:LIST:VOLT:APP {rest}", None),
            (':SOUR:SWE:VOLT:LIST 1, 0, 1, OFF, "defbuffer1"', None),
        ],
    ) as smu:
        smu.set_voltage_list(levels)
        smu.sweep_voltage_list()


def test_dual_sweep_and_fail_abort_flags():
    with expected_protocol(
        Keithley2450Native,
        [
            (':SOUR:SWE:VOLT:LIN -1, 1, 3, 0, 2, AUTO, ON, ON, "defbuffer1"', None),
        ],
    ) as smu:
        smu.sweep_voltage_linear(-1, 1, 3, count=2, range_type="AUTO", fail_abort=True, dual=True)


def test_sense_function_and_buffer_count():
    with expected_protocol(
        Keithley2450Native,
        [
            (':SENS:FUNC "CURR"', None),
            (":SENS:FUNC?", '"CURR:DC"'),
            (':TRAC:ACT? "defbuffer1"', "42"),
        ],
    ) as smu:
        smu.sense_function = "CURR"
        assert smu.sense_function == "CURR"
        assert smu.buffer_actual == 42


def test_bad_lists_are_refused_before_sending():
    with expected_protocol(Keithley2450Native, []) as smu:
        with pytest.raises(ValueError, match="1 to 2500"):
            smu.set_voltage_list([0.1] * 2501)
        with pytest.raises(ValueError, match="points must be 2 to 2500"):
            smu.sweep_voltage_linear(0, 1, 1)
        with pytest.raises(ValueError):
            smu.sweep_voltage_linear(0, 1, 5, range_type="SOMETIMES")


def test_short_buffer_reply_is_an_error():
    with expected_protocol(
        Keithley2450Native,
        [
            (':TRAC:DATA? 1, 3, "defbuffer1", READ, SOUR', "1e-9,0,2e-9,0.5"),
        ],
    ) as smu:
        with pytest.raises(ValueError, match="expected 6 values"):
            smu.buffer_readings(3)
