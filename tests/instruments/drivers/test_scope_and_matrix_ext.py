"""DSOX1102G trigger/single-capture extension and 2750/7709 multi-channel extension."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from instruments.drivers.keithley2750 import Keithley2750Matrix, channel_list, crosspoint
from instruments.drivers.keysight_dsox1102g import KeysightDSOX1102GTrig


def test_dsox_edge_trigger_on_external_and_left_reference():
    with expected_protocol(KeysightDSOX1102GTrig, [
        (":TRIGger:MODE EDGE", None),
        (":TRIGger:EDGE:SOURce EXT", None),
        (":TRIGger:EDGE:LEVel 1.5", None),
        (":TRIGger:EDGE:SLOPe POS", None),
        (":TRIGger:SWEep NORM", None),
        (":TIMebase:REFerence LEFT", None),
        (":TIMebase:POSition -1e-07", None),
        (":TIMebase:RANGe 2e-07", None),
        (":TRIGger:EDGE:SOURce?", "EXT"),
    ]) as scope:
        scope.trigger_mode = "EDGE"
        scope.trigger_edge_source = "external"
        scope.trigger_edge_level = 1.5
        scope.trigger_edge_slope = "positive"
        scope.trigger_sweep = "normal"
        scope.timebase_reference = "left"
        scope.timebase_position = -100e-9
        scope.timebase_range_s = 200e-9
        assert scope.trigger_edge_source == "external"


def test_dsox_run_bit_and_waveform_read():
    with expected_protocol(KeysightDSOX1102GTrig, [
        (":OPERegister:CONDition?", "+8"),
        (":OPERegister:CONDition?", "+0"),
        (":waveform:source CHAN1", None),
        (":waveform:points:mode RAW", None),
        (":waveform:points 100", None),
        (":waveform:format ASC", None),
        (":waveform:preamble?", "+4,+0,+3,+1,+1.0E-09,-1.0E-09,+0,+1.0E-03,+0.0E+00,+128"),
        (":waveform:data?", "#800000029 0.000E+00,5.000E-02,1.000E-02"),
    ]) as scope:
        assert scope.capture_running is True
        assert scope.capture_running is False
        t_s, volts, preamble = scope.read_waveform_volts("channel1", 100)
    np.testing.assert_allclose(t_s, [-1e-9, 0, 1e-9])
    np.testing.assert_allclose(volts, [0, 0.05, 0.01])
    assert preamble["points"] == 3


def test_7709_crosspoint_numbers():
    assert crosspoint(1, 1, 1) == 101
    assert crosspoint(1, 2, 3) == 111
    assert crosspoint(2, 6, 8) == 248
    with pytest.raises(ValueError, match="row 1-6"):
        crosspoint(1, 7, 1)
    assert channel_list([101, 113]) == "(@101,113)"


def test_2750_close_several_open_and_query():
    with expected_protocol(Keithley2750Matrix, [
        (":ROUTe:OPEN:ALL", None),
        (":ROUTe:MULTiple:CLOSe (@101,113)", None),
        (":ROUTe:MULTiple:CLOSe?", "(@101,113)"),
        (":ROUTe:MULTiple:OPEN (@113)", None),
        (":ROUTe:MULTiple:CLOSe?", "(@)"),
    ]) as matrix:
        matrix.open_all()
        matrix.close_channels([101, 113])
        assert matrix.closed_multiple == [101, 113]
        matrix.open_channels([113])
        assert matrix.closed_multiple == []


def test_channel_list_replies_with_ranges():
    from instruments.drivers.keithley2750 import parse_channel_list
    assert parse_channel_list("(@101:103,113)\n") == [101, 102, 103, 113]
    assert parse_channel_list("(@)") == []
