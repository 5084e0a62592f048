"""Keithley 2400 list sweep and 2600 TSP sweep extensions."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from instruments.drivers.keithley2400 import Keithley2400List
from instruments.drivers.keithley2600 import Keithley2600Sweep

FORMAT = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)  # sent by the driver at start


def test_2400_list_sweep_reads_all_points_in_one_read():
    with expected_protocol(
        Keithley2400List,
        [
            FORMAT,
            (":SOUR:VOLT:MODE LIST", None),
            (":SOUR:LIST:VOLT 0, 0.5, 1", None),
            (":TRIG:COUN 3", None),
            (":SOUR:DEL 0.01", None),
            (":READ?", "0,1e-9,9.91e37,0.1,0,0.5,2e-9,9.91e37,0.2,0,1,5e-5,9.91e37,0.3,0"),
        ],
    ) as smu:
        smu.source_voltage_mode = "LIST"
        smu.set_voltage_list([0, 0.5, 1])
        smu.sweep_points = 3
        smu.source_delay_s = 0.01
        voltage, current = smu.read_points(3)
    np.testing.assert_allclose(voltage, [0, 0.5, 1])
    np.testing.assert_allclose(current, [1e-9, 2e-9, 5e-5])


def test_2400_trigger_count_range():
    with expected_protocol(Keithley2400List, [FORMAT]) as smu:
        with pytest.raises(ValueError):
            smu.sweep_points = 2501


def test_2600_tsp_list_sweep():
    with expected_protocol(
        Keithley2600Sweep,
        [
            ("smub.nvbuffer1.clear()", None),
            ("smub.nvbuffer1.collectsourcevalues = 1", None),
            ("smub.measure.delay = 0.001", None),
            ("smub.trigger.source.listv({0, 0.5, 1})", None),
            ("smub.trigger.source.action = smub.ENABLE", None),
            ("smub.trigger.measure.i(smub.nvbuffer1)", None),
            ("smub.trigger.measure.action = smub.ENABLE", None),
            ("smub.trigger.endsweep.action = smub.SOURCE_IDLE", None),
            ("smub.trigger.count = 3", None),
            ("smub.trigger.initiate()", None),
            ("waitcomplete()", None),
            (
                "printbuffer(1, 3, smub.nvbuffer1.readings, smub.nvbuffer1.sourcevalues)",
                "1.0e-09, 0.0e+00, 2.0e-09, 5.0e-01, 4.0e-05, 1.0e+00",
            ),
        ],
    ) as smu:
        smu.configure_voltage_list_sweep("b", [0, 0.5, 1], delay_s=1e-3)
        source, current = smu.run_sweep("b", 3)
    np.testing.assert_allclose(source, [0, 0.5, 1])
    np.testing.assert_allclose(current, [1e-9, 2e-9, 4e-5])


def test_2600_channel_names():
    with expected_protocol(Keithley2600Sweep, [("smua.abort()", None)]) as smu:
        smu.abort("A")
        with pytest.raises(ValueError, match="channel"):
            smu.smu("c")
