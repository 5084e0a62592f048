"""DSOX1102G trigger/single-capture extension and 2750/7709 multi-channel extension."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from instruments.drivers.keithley2750 import Keithley2750Matrix, channel_list, crosspoint
from instruments.drivers.keysight_dsox1102g import KeysightDSOX1102GTrig


def test_dsox_edge_trigger_on_external_and_left_reference():
    with expected_protocol(
        KeysightDSOX1102GTrig,
        [
            (":TRIGger:MODE EDGE", None),
            (":TRIGger:EDGE:SOURce EXT", None),
            (":TRIGger:EDGE:LEVel 1.5", None),
            (":TRIGger:EDGE:SLOPe POS", None),
            (":TRIGger:SWEep NORM", None),
            (":TIMebase:REFerence LEFT", None),
            (":TIMebase:POSition -1e-07", None),
            (":TIMebase:RANGe 2e-07", None),
            (":TRIGger:EDGE:SOURce?", "EXT"),
        ],
    ) as scope:
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
    with expected_protocol(
        KeysightDSOX1102GTrig,
        [
            (":OPERegister:CONDition?", "+8"),
            (":OPERegister:CONDition?", "+0"),
            (":waveform:source CHAN1", None),
            (":waveform:points:mode RAW", None),
            (":waveform:points 100", None),
            (":waveform:format ASC", None),
            (":waveform:preamble?", "+4,+0,+3,+1,+1.0E-09,-1.0E-09,+0,+1.0E-03,+0.0E+00,+128"),
            (":waveform:data?", "#800000029 0.000E+00,5.000E-02,1.000E-02"),
        ],
    ) as scope:
        assert scope.capture_running is True
        assert scope.capture_running is False
        t_s, volts, preamble = scope.read_waveform_volts("channel1", 100, fmt="ascii")
    np.testing.assert_allclose(t_s, [-1e-9, 0, 1e-9])
    np.testing.assert_allclose(volts, [0, 0.05, 0.01])
    assert preamble["points"] == 3


#: what read_waveform_volts("channel1", 100) sends before :waveform:data? in WORD format (3-point preamble)
WORD_READ_SETUP = [
    (":waveform:source CHAN1", None),
    (":waveform:points:mode RAW", None),
    (":waveform:points 100", None),
    (":waveform:format WORD", None),
    (":WAVeform:UNSigned 1", None),
    (":WAVeform:BYTeorder MSBF", None),
    (":waveform:preamble?", "+1,+0,+3,+1,+1.0E-09,-1.0E-09,+0,+1.0E-04,+2.0E-02,+32768"),
]


def test_dsox_waveform_read_is_binary_words_by_default():
    # codes 32768 (0 V), 32868 (+100 codes), 0x0A0A (a newline byte twice: read by count, not to a terminator)
    codes = np.array([32768, 32868, 0x0A0A], dtype=">u2").tobytes()
    with expected_protocol(
        KeysightDSOX1102GTrig,
        [
            *WORD_READ_SETUP,
            (":waveform:data?", b"#8%08d" % len(codes) + codes + b"\n"),
        ],
    ) as scope:
        t_s, volts, preamble = scope.read_waveform_volts("channel1", 100)
    np.testing.assert_allclose(t_s, [-1e-9, 0, 1e-9])
    np.testing.assert_allclose(volts, [0.02, 0.02 + 100e-4, 0.02 + (0x0A0A - 32768) * 1e-4])
    assert preamble["format"] == "WORD"


def test_dsox_waveform_read_in_bytes():
    codes = bytes([128, 0, 255, 10])
    with expected_protocol(
        KeysightDSOX1102GTrig,
        [
            (":waveform:source CHAN2", None),
            (":waveform:points:mode RAW", None),
            (":waveform:points 250", None),
            (":waveform:format BYTE", None),
            (":WAVeform:UNSigned 1", None),
            (":waveform:preamble?", "+0,+0,+4,+1,+2.0E-09,+0.0E+00,+0,+4.0E-03,+0.0E+00,+128"),
            (":waveform:data?", b"#14" + codes + b"\n"),
        ],
    ) as scope:
        t_s, volts, _ = scope.read_waveform_volts("channel2", 250, fmt="byte")
    np.testing.assert_allclose(t_s, [0, 2e-9, 4e-9, 6e-9])
    np.testing.assert_allclose(volts, [0, -128 * 4e-3, 127 * 4e-3, -118 * 4e-3])


def test_dsox_waveform_read_refuses_a_reply_that_is_not_a_block():
    with expected_protocol(
        KeysightDSOX1102GTrig,
        [
            *WORD_READ_SETUP,
            (":waveform:data?", b"1.0,2.0\n"),
        ],
    ) as scope:
        with pytest.raises(ValueError, match="definite-length block"):
            scope.read_waveform_volts("channel1", 100)


def test_7709_crosspoint_numbers():
    assert crosspoint(1, 1, 1) == 101
    assert crosspoint(1, 2, 3) == 111
    assert crosspoint(2, 6, 8) == 248
    with pytest.raises(ValueError, match="row 1-6"):
        crosspoint(1, 7, 1)
    assert channel_list([101, 113]) == "(@101,113)"


def test_2750_close_several_open_and_query():
    with expected_protocol(
        Keithley2750Matrix,
        [
            (":ROUTe:OPEN:ALL", None),
            (":ROUTe:MULTiple:CLOSe (@101,113)", None),
            (":ROUTe:MULTiple:CLOSe?", "(@101,113)"),
            (":ROUTe:MULTiple:OPEN (@113)", None),
            (":ROUTe:MULTiple:CLOSe?", "(@)"),
        ],
    ) as matrix:
        matrix.open_all()
        matrix.close_channels([101, 113])
        assert matrix.closed_multiple == [101, 113]
        matrix.open_channels([113])
        assert matrix.closed_multiple == []


def test_channel_list_replies_with_ranges():
    from instruments.drivers.keithley2750 import parse_channel_list

    assert parse_channel_list("(@101:103,113)\n") == [101, 102, 103, 113]
    assert parse_channel_list("(@)") == []
