"""Keysight DSOX1102G model: PyMeasure's driver, our trigger extension, waveform formats."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.instruments.keysight import KeysightDSOX1102G as PmDSOX

from instruments.drivers.keysight_dsox1102g import KeysightDSOX1102GTrig

from tests.helpers.scpi import driver, queue_empty


def test_pymeasure_driver_operations_leave_queue_empty(scope):
    s = driver(PmDSOX, scope)
    steps = [
        lambda: s.id,
        lambda: s.ch1.setup(
            bwlimit=False,
            coupling="dc",
            display=True,
            invert=False,
            label="CELL",
            offset=0.1,
            probe_attenuation=1,
            scale=0.05,
        ),
        lambda: s.ch1.setup(vertical_range=0.8),
        lambda: s.ch2.setup(coupling="ac", display=False),
        lambda: s.ch1.current_configuration,
        lambda: s.timebase_setup(mode="main", offset=1e-6, horizontal_range=20e-6, scale=2e-6),
        lambda: s.timebase,
        lambda: setattr(s, "acquisition_type", "average"),
        lambda: setattr(s, "acquisition_mode", "realtime"),
        s.run,
        s.stop,
        s.single,
        lambda: s.digitize("channel1"),
        lambda: s.download_data("channel1", points=1000),
        lambda: setattr(s, "waveform_format", "word"),
        lambda: s.waveform_preamble,
        lambda: setattr(s, "waveform_points_mode", "maximum"),
        lambda: s.download_image(),
        lambda: setattr(s, "system_setup", s.system_setup),
        s.autoscale,
        s.clear_status,
        s.default_setup,
        s.factory_reset,
    ]
    for i, step in enumerate(steps):
        step()
        assert queue_empty(scope), f"step {i} left an error"
    assert s.ch2.coupling == "dc"  # factory reset restored the default


def test_channel_and_timebase_replies(scope):
    s = driver(PmDSOX, scope)
    s.ch1.probe_attenuation = 1
    s.ch1.scale = 0.02
    s.ch1.offset = 0.05
    conf = s.ch1.current_configuration
    assert conf["RANG"] == pytest.approx(0.16) and conf["OFFS"] == pytest.approx(0.05)
    assert conf["PROB"] == 1.0 and conf["CHAN"] == 1 and conf["COUP"] == "DC"
    s.ch1.offset = 100  # beyond the legal offset: set to the nearest legal value, no error
    assert s.ch1.offset == pytest.approx(2.0)
    s.timebase_scale = 1e-6
    tb = s.timebase
    assert tb["MAIN:RANG"] == pytest.approx(10e-6) and tb["REF"] == "CENT"
    assert queue_empty(scope)
    scope.handle(":CHAN1:SCAL 50")  # > 10 V/div at probe 1
    assert scope.handle("SYST:ERR?").startswith("-222,")
    assert s.ch1.scale == pytest.approx(0.02)
    scope.handle(":TIM:SCAL 1e-12")
    assert scope.handle("SYST:ERR?").startswith("-222,")
    assert s.timebase_scale == pytest.approx(1e-6)
    assert scope.handle(":CHAN3:SCAL 1") is None
    assert scope.handle("SYST:ERR?").startswith("-114,")  # header suffix out of range


@pytest.mark.parametrize("fmt", ["byte", "word", "ascii"])
def test_waveform_formats_decode_to_the_same_volts(scope, fmt):
    s = driver(PmDSOX, scope)
    s.ch1.probe_attenuation = 1
    s.ch1.scale = 0.1
    s.ch1.offset = 0.0
    s.timebase_scale = 1e-6
    s.digitize("channel1")
    x0, dt, volts = scope.record
    ramp = np.linspace(-0.3, 0.3, volts.size)
    scope.record = (x0, dt, ramp)  # a known input signal (V at the BNC) to check the encoding
    s.waveform_source = "channel1"
    s.waveform_points_mode = "raw"
    s.waveform_points = 1000
    s.waveform_format = fmt
    pre = s.waveform_preamble
    raw = scope.handle(":WAV:DATA?")
    assert isinstance(raw, bytes) and raw[:2] == b"#8"
    n = int(raw[2:10])
    payload = raw[10:]
    assert len(payload) == n
    if fmt == "byte":
        codes = np.frombuffer(payload, dtype=np.uint8).astype(float)
    elif fmt == "word":
        codes = np.frombuffer(payload, dtype=">u2").astype(float)
    if fmt == "ascii":
        got = np.array(payload.decode().split(","), dtype=float)
    else:
        got = (codes - pre["yreference"]) * pre["yincrement"] + pre["yorigin"]
    assert got.size == pre["points"] == 1000
    expected = ramp[(np.arange(1000) * ramp.size) // 1000]
    assert np.max(np.abs(got - expected)) <= pre["yincrement"] / 2 + 1e-7
    assert pre["xincrement"] == pytest.approx(10e-6 / 1000)
    assert pre["xorigin"] == pytest.approx(-5e-6)


def test_clipping_beyond_screen(scope):
    scope.handle(":CHAN1:PROB 1;:CHAN1:SCAL 0.01;:CHAN1:OFFS 0;:WAV:FORM BYTE;:DIG CHAN1")
    x0, dt, volts = scope.record
    scope.record = (x0, dt, np.full(volts.size, 1.0))  # 1 V on a 10 mV/div screen
    raw = scope.handle(":WAV:DATA?")
    assert set(np.frombuffer(raw[10:], dtype=np.uint8)) == {255}


def test_trigger_extension_and_single_status(scope):
    s = driver(KeysightDSOX1102GTrig, scope)
    s.trigger_mode = "EDGE"
    s.trigger_edge_source = "external"
    s.trigger_edge_level = 0.5
    s.trigger_edge_slope = "positive"
    s.trigger_sweep = "normal"
    s.timebase_reference = "left"
    s.timebase_position = 1e-6
    s.timebase_range_s = 2e-7
    assert s.trigger_edge_source == "external" and s.trigger_edge_level == pytest.approx(0.5)
    assert s.timebase_range_s == pytest.approx(2e-7) and s.timebase_reference == "left"
    s.single()
    assert s.capture_running  # armed, waiting for the AWG sync that never comes
    assert scope.handle(":TER?") == "+0"
    assert scope.handle(":WAV:DATA?") is None  # nothing acquired: -230, no reply
    assert scope.handle("SYST:ERR?").startswith("-230,")
    scope.handle(":TRIG:MODE TV")
    assert scope.handle("SYST:ERR?").startswith("-221,")
    assert queue_empty(scope)


def test_digitize_with_auto_sweep_takes_record_time(scope):
    scope.handle(":TIM:SCAL 1e-3;:TRIG:SWE AUTO;:TRIG:SOUR CHAN1")
    t0 = scope.link.now_s
    scope.handle(":DIG CHAN1")
    assert scope.link.now_s - t0 == pytest.approx(10e-3)
    assert scope.handle(":TER?") == "+1"
    assert scope.handle(":TER?") == "+0"
    assert scope.handle(":RST?") == "STOP"
    assert scope.handle(":ACQ:POIN?") == "+62500"
