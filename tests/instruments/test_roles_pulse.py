"""PulseGenerator role on the 33500B/33521A and the 81160A: dialogues and safety."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from instruments.drivers.agilent33500 import Agilent33500Ext, Agilent33521AExt
from instruments.drivers.keysight81160a import Keysight81160AExt
from instruments.pulse import Agilent33500Pulse, Agilent33521APulse, Keysight81160APulse
from instruments.safety import Limits, SafetyError

LIMITS = Limits(max_voltage_v=2.0)
NO_ERROR = ("SYST:ERR?", '+0,"No error"')

BURST_CH1 = [
    ("SOUR1:BURS:MODE TRIG", None),
    ("SOUR1:BURS:NCYC 10", None),
    ("SOUR1:BURS:STAT 1", None),
    ("TRIG1:SOUR BUS", None),
    ("OUTP:SYNC:SOUR CH1", None),
    ("OUTP:SYNC 1", None),
]


def test_33500_pulse_train_then_output_then_trigger():
    with expected_protocol(
        Agilent33500Ext,
        [
            ("OUTP1:LOAD INF", None),
            ("SOUR1:FUNC PULS", None),
            ("SOUR1:VOLT:LOW?", "-5.0E-02"),  # the *RST default: high first is valid
            ("SOUR1:VOLT:HIGH 1.200000", None),
            ("SOUR1:VOLT:LOW 0.000000", None),
            ("SOUR1:FUNC:PULS:TRAN:BOTH 8.400000e-09", None),  # minimum edge and width fit any period
            ("SOUR1:FUNC:PULS:WIDT 1.600000e-08", None),
            ("SOUR1:FUNC:PULS:PER 1.000000e-05", None),
            ("SOUR1:FUNC:PULS:WIDT 1.000000e-06", None),
            ("SOUR1:FUNC:PULS:TRAN:BOTH 1.000000e-08", None),
            *BURST_CH1,
            NO_ERROR,
            ("OUTP1 1", None),
            ("*TRG;*WAI", None),
            ("OUTP1 0", None),
            ("OUTP1?", "0"),
        ],
    ) as driver:
        pulse = Agilent33500Pulse(driver, limits=LIMITS, channel=1)
        pulse.configure_pulse_train(1.2, 1e-6, period_s=10e-6, count=10, edge_s=10e-9)
        pulse.output_on()
        pulse.trigger()
        assert pulse.off() == []
    snap = pulse.snapshot()
    assert snap["settings"]["amplitude_v"] == 1.2 and snap["settings"]["count"] == 10
    assert snap["output_is_on"] is False


def test_33500_spike_train_upload_and_burst_of_arb():
    samples = np.zeros(16)
    samples[2:4] = 1.5
    samples[10:12] = 1.5
    codes = ", ".join(str(c) for c in np.where(samples > 0, 32767, -32767))
    with expected_protocol(
        Agilent33500Ext,
        [
            ("OUTP2:LOAD INF", None),
            ("SOUR2:VOLT:OFFS 0.000000", None),
            ("SOUR2:DATA:VOL:CLE", None),
            (f"SOUR2:DATA:ARB:DAC SPIKES, {codes}", None),
            ("SOUR2:FUNC:ARB SPIKES", None),
            ("SOUR2:FUNC ARB", None),
            ("SOUR2:FUNC:ARB:SRAT 1000000.000000", None),
            ("SOUR2:FUNC:ARB:FILT OFF", None),
            ("SOUR2:VOLT 1.500000", None),
            ("SOUR2:VOLT:OFFS 0.750000", None),
            ("SOUR2:BURS:MODE TRIG", None),
            ("SOUR2:BURS:NCYC 3", None),
            ("SOUR2:BURS:STAT 1", None),
            ("TRIG2:SOUR BUS", None),
            ("OUTP:SYNC:SOUR CH2", None),
            ("OUTP:SYNC 1", None),
            NO_ERROR,
        ],
    ) as driver:
        pulse = Agilent33500Pulse(driver, limits=LIMITS, channel=2)
        pulse.configure_spike_train(samples, 1e-6, count=3)
    assert pulse.settings["duration_s"] == pytest.approx(16e-6)


def test_single_pulse_is_a_burst_of_one():
    with expected_protocol(
        Agilent33521AExt,
        [
            ("OUTP1:LOAD INF", None),
            ("SOUR1:FUNC PULS", None),
            ("SOUR1:VOLT:LOW?", "+2.0E+00"),  # a previous pulse sat above the new one: low first
            ("SOUR1:VOLT:LOW 0.000000", None),
            ("SOUR1:VOLT:HIGH 1.000000", None),
            ("SOUR1:FUNC:PULS:TRAN:BOTH 8.400000e-09", None),
            ("SOUR1:FUNC:PULS:WIDT 1.600000e-08", None),
            ("SOUR1:FUNC:PULS:PER 2.400000e-07", None),
            ("SOUR1:FUNC:PULS:WIDT 1.000000e-07", None),
            ("SOUR1:FUNC:PULS:TRAN:BOTH 1.000000e-08", None),
            ("SOUR1:BURS:MODE TRIG", None),
            ("SOUR1:BURS:NCYC 1", None),
            ("SOUR1:BURS:STAT 1", None),
            ("TRIG1:SOUR BUS", None),
            ("OUTP:SYNC:SOUR CH1", None),
            ("OUTP:SYNC 1", None),
            NO_ERROR,
        ],
    ) as driver:
        Agilent33521APulse(driver, limits=LIMITS).configure_single_pulse(1.0, 100e-9, edge_s=10e-9)
    with pytest.raises(ValueError, match="channel"):
        Agilent33521APulse(None, limits=LIMITS, channel=2)


def test_pulse_safety_nothing_sent():
    with expected_protocol(Agilent33500Ext, []) as driver:
        pulse = Agilent33500Pulse(driver, limits=LIMITS)
        with pytest.raises(SafetyError, match="no waveform configured"):
            pulse.output_on()
        with pytest.raises(SafetyError, match="no waveform configured"):
            pulse.trigger()
        with pytest.raises(SafetyError, match="pulse amplitude 2.5 V exceeds the bench limit of 2 V"):
            pulse.configure_pulse_train(2.5, 1e-6, period_s=1e-5)
        with pytest.raises(SafetyError, match="spike-train sample 5 -2.2 V"):
            pulse.configure_spike_train([0, 0, 1, 0, 0, -2.2, 0, 0], 1e-6)
        with pytest.raises(ValueError, match="period_s must exceed"):
            pulse.configure_pulse_train(1.0, 1e-6, period_s=1e-6)
        with pytest.raises(ValueError, match="above base_v"):
            pulse.configure_pulse_train(-1.0, 1e-6, period_s=1e-5)
        with pytest.raises(ValueError, match="count"):
            pulse.configure_pulse_train(1.0, 1e-6, period_s=1e-5, count=0)
        with pytest.raises(ValueError, match=r"edge_s \(1e-07 s\) must be <= 0.625 x width_s"):
            pulse.configure_pulse_train(1.0, 100e-9, period_s=1e-5, edge_s=100e-9)


def test_81160a_pulse_train_and_user_waveform():
    with expected_protocol(
        Keysight81160AExt,
        [
            (":OUTP1:LOAD 1.000000e+06", None),
            (":FUNC1 PULS", None),
            (":VOLT1:HIGH 1.000000", None),
            (":VOLT1:LOW 0.000000", None),
            (":PULS:PER1 1.000000e-06", None),
            (":PULS:WIDT1 5.000000e-08", None),
            (":FUNC1:PULS:TRAN 2.000000e-09", None),
            (":ARM:SOUR1 MAN", None),
            (":TRIG1:COUN 5", None),
            NO_ERROR,
            (":OUTP1:LOAD 1.000000e+06", None),
            (":DATA1:DAC VOLATILE, -8191, 8191, -8191, -8191", None),
            (":FUNC1:USER VOLATILE", None),
            (":FUNC1 USER", None),
            (":FREQ1 250000", None),
            (":VOLT1 1.000000", None),
            (":VOLT1:OFFS 0.500000", None),
            (":ARM:SOUR1 MAN", None),
            (":TRIG1:COUN 1", None),
            NO_ERROR,
            ("OUTP1 1", None),
            ("*TRG;*WAI", None),
            ("OUTP1 0", None),
            ("OUTP1?", "0"),
        ],
    ) as driver:
        pulse = Keysight81160APulse(driver, limits=LIMITS)
        pulse.configure_pulse_train(1.0, 50e-9, period_s=1e-6, count=5, edge_s=2e-9)
        pulse.configure_spike_train([0, 1, 0, 0], 1e-6)
        pulse.output_on()
        pulse.trigger()
        assert pulse.off() == []


def test_33500_a_new_amplitude_on_the_same_timing_sends_the_levels_alone():
    """An amplitude calibration steps the level of one pulse train: with width, period, count and edges as
    the last configuration left them (only triggers and output switching since), the levels are sent
    (in the order the present low level, the one the role set last, allows: not read back) and errors
    checked; the same levels again send nothing but the error check; another timing, or off(), is sent
    in full again, the low level read back first."""
    timing = [
        ("SOUR1:FUNC:PULS:TRAN:BOTH 8.400000e-09", None),
        ("SOUR1:FUNC:PULS:WIDT 1.600000e-08", None),
        ("SOUR1:FUNC:PULS:PER 1.000000e-05", None),
        ("SOUR1:FUNC:PULS:WIDT 1.000000e-06", None),
        ("SOUR1:FUNC:PULS:TRAN:BOTH 1.000000e-08", None),
        *BURST_CH1,
    ]
    head = [("OUTP1:LOAD INF", None), ("SOUR1:FUNC PULS", None)]
    levels = [
        ("SOUR1:VOLT:HIGH 1.300000", None),
        ("SOUR1:VOLT:LOW 0.000000", None),
    ]
    with expected_protocol(
        Agilent33500Ext,
        [
            *head,
            ("SOUR1:VOLT:LOW?", "-5.0E-02"),
            ("SOUR1:VOLT:HIGH 1.200000", None),
            ("SOUR1:VOLT:LOW 0.000000", None),
            *timing,
            NO_ERROR,
            ("OUTP1 1", None),
            ("*TRG;*WAI", None),
            ("OUTP1 0", None),
            ("OUTP1?", "0"),
            *levels,  # the new amplitude alone
            NO_ERROR,
            NO_ERROR,  # the same amplitude again
            ("SOUR1:VOLT:HIGH 1.500000", None),  # levels up: the high level first, above the present low
            ("SOUR1:VOLT:LOW 1.000000", None),
            NO_ERROR,
            ("SOUR1:VOLT:LOW 0.000000", None),  # levels down below that low: the low level first
            ("SOUR1:VOLT:HIGH 0.800000", None),
            NO_ERROR,
            ("OUTP1 0", None),  # off()
            ("OUTP1?", "0"),
            *head,
            ("SOUR1:VOLT:LOW?", "+0.0E+00"),
            *levels,
            *timing,  # after off(): in full again
            NO_ERROR,
        ],
    ) as driver:
        pulse = Agilent33500Pulse(driver, limits=LIMITS, channel=1)
        pulse.configure_pulse_train(1.2, 1e-6, period_s=10e-6, count=10, edge_s=10e-9)
        pulse.output_on()
        pulse.trigger()
        pulse.output_off()
        pulse.configure_pulse_train(1.3, 1e-6, period_s=10e-6, count=10, edge_s=10e-9)
        assert pulse.settings["amplitude_v"] == 1.3 and pulse.settings["count"] == 10
        pulse.configure_pulse_train(1.3, 1e-6, period_s=10e-6, count=10, edge_s=10e-9)
        pulse.configure_pulse_train(1.5, 1e-6, period_s=10e-6, count=10, edge_s=10e-9, base_v=1.0)
        pulse.configure_pulse_train(0.8, 1e-6, period_s=10e-6, count=10, edge_s=10e-9)
        assert pulse.settings["amplitude_v"] == 0.8 and pulse.settings["base_v"] == 0.0
        assert pulse.off() == []
        pulse.configure_pulse_train(1.3, 1e-6, period_s=10e-6, count=10, edge_s=10e-9)
