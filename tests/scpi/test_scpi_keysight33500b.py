"""Keysight 33522B model: PyMeasure's Agilent33500 (and channels), our extension, limits, bursts."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.instruments.agilent import Agilent33500

from instruments.drivers.agilent33500 import Agilent33500Ext

from tests.helpers.scpi import driver, queue_empty


def test_pymeasure_channel_and_instrument_operations(awg):
    g = driver(Agilent33500, awg)
    c = g.ch_1
    steps = [
        lambda: setattr(c, "shape", "PULS"),
        lambda: setattr(c, "voltage_high", 1.2),
        lambda: setattr(c, "voltage_low", 0.0),
        lambda: setattr(c, "pulse_period", 10e-6),
        lambda: setattr(c, "pulse_width", 1e-6),
        lambda: setattr(c, "pulse_transition", 10e-9),
        lambda: setattr(c, "pulse_hold", "WIDT"),
        lambda: setattr(c, "pulse_dutycycle", 20),
        lambda: setattr(c, "burst_state", True),
        lambda: setattr(c, "burst_mode", "TRIGGERED"),
        lambda: setattr(c, "burst_ncycles", 10),
        lambda: setattr(c, "burst_period", 1e-3),
        lambda: setattr(c, "output_load", 50),
        lambda: setattr(c, "output", True),
        lambda: setattr(g, "trigger_source", "BUS"),
        g.trigger,
        lambda: g.wait_for_trigger(timeout=1),
        lambda: setattr(c, "frequency", 2e3),
        lambda: setattr(c, "phase", 90),
        lambda: setattr(c, "amplitude_unit", "VPP"),
        lambda: setattr(c, "square_dutycycle", 30),
        lambda: setattr(c, "ramp_symmetry", 40),
        c.data_volatile_clear,
        lambda: c.data_arb("spikes", [0, 1000, 32767, 0, -32767, 0, 0, 0]),
        lambda: c.data_arb("flt", [0.0, 0.5, 1.0, 0.5, 0.0, -0.5, -1.0, 0.0], data_format="float"),
        lambda: setattr(c, "arb_file", "spikes"),
        lambda: setattr(c, "shape", "ARB"),
        lambda: setattr(c, "arb_srate", 1e6),
        lambda: setattr(c, "arb_advance", "SRAT"),
        lambda: setattr(c, "arb_filter", "STEP"),
        lambda: setattr(c, "amplitude", 1.0),
        lambda: setattr(c, "offset", 0.2),
        lambda: setattr(g.ch_2, "shape", "SIN"),
        lambda: setattr(g.ch_2, "amplitude", 2.0),
        lambda: setattr(g.ch_2, "output", False),
        lambda: setattr(g, "shape", "SQU"),
        lambda: setattr(g, "frequency", 1e3),
        lambda: setattr(g, "amplitude", 0.5),
        lambda: setattr(g, "offset", 0.1),
        lambda: setattr(g, "ext_trig_out", True),
        g.data_volatile_clear,
        lambda: g.data_arb("top", list(range(-800, 800, 100))),
        lambda: setattr(g, "arb_file", "top"),
        lambda: setattr(g, "display", "TSPCM"),
        g.clear_display,
        g.beep,
        g.phase_sync,
        lambda: g.id,
    ]
    for i, step in enumerate(steps):
        step()
        assert queue_empty(awg), f"step {i} left an error"
    assert c.shape == "SQU" and c.arb_file == '"top"'  # the instrument-level calls act on CH1
    assert c.arb_srate == pytest.approx(1e6)
    assert g.ch_2.amplitude == pytest.approx(2.0)
    assert g.trigger_source == "BUS"


def test_levels_follow_load_and_limits(awg):
    g = driver(Agilent33500, awg)
    c = g.ch_1
    c.shape = "PULS"
    c.voltage_high = 1.5
    c.voltage_low = -0.5
    assert (c.amplitude, c.offset) == pytest.approx((2.0, 0.5))
    c.output_load = "INF"  # same physical output, read as open-circuit volts
    assert c.output_load == pytest.approx(9.9e37)
    assert (c.voltage_high, c.voltage_low) == pytest.approx((3.0, -1.0))
    awg.handle("SOUR1:VOLT 19")  # 19 Vpp around 1 V offset: 10.5 V > 10 V open circuit
    assert awg.handle("SYST:ERR?").startswith("-222,")
    c.output_load = 50
    awg.handle("SOUR1:VOLT 9.5")  # 9.5 Vpp around 0.5 V: 5.25 V > 5 V into 50 Ohm
    assert awg.handle("SYST:ERR?").startswith("-222,")
    assert c.amplitude == pytest.approx(2.0)
    assert queue_empty(awg)


@pytest.mark.parametrize(
    "command, query",
    [
        ("SOUR1:FUNC:PULS:WIDT 10e-9", "SOUR1:FUNC:PULS:WIDT?"),  # < 16 ns
        ("SOUR1:FUNC:PULS:WIDT 2e-3", "SOUR1:FUNC:PULS:WIDT?"),  # > period - 16 ns
        ("SOUR1:FUNC:PULS:TRAN 2e-6", "SOUR1:FUNC:PULS:TRAN?"),  # > 1 us
        ("SOUR1:FUNC:PULS:TRAN:LEAD 5e-9", "SOUR1:FUNC:PULS:TRAN:LEAD?"),  # < 8.4 ns
        ("SOUR1:FREQ 40e6", "SOUR1:FREQ?"),
        ("SOUR1:VOLT:HIGH 6", "SOUR1:VOLT:HIGH?"),
        ("OUTP1:LOAD 0.5", "OUTP1:LOAD?"),
        ("SOUR1:BURS:NCYC 0", "SOUR1:BURS:NCYC?"),
    ],
)
def test_out_of_range_queues_222_and_keeps_setting(awg, command, query):
    awg.handle("SOUR1:FUNC PULS;:SOUR1:FUNC:PULS:PER 1e-3;WIDT 1e-4")
    before = awg.handle(query)
    assert awg.handle(command) is None
    assert awg.handle(query) == before
    assert awg.handle("SYST:ERR?").startswith("-222,")
    assert queue_empty(awg)


def test_edge_longer_than_width_fraction_refused(awg):
    awg.handle("FUNC PULS;:FUNC:PULS:PER 1e-6;:FUNC:PULS:WIDT 100e-9")
    awg.handle("FUNC:PULS:TRAN 80e-9")  # > 0.625 x 100 ns
    assert awg.handle("SYST:ERR?").startswith("-222,")
    awg.handle("FUNC:PULS:TRAN 60e-9")
    assert float(awg.handle("FUNC:PULS:TRAN?")) == pytest.approx(60e-9)
    awg.handle("FUNC:PULS:PER 100e-9")  # width no longer fits: the instrument shortens it
    assert float(awg.handle("FUNC:PULS:WIDT?")) == pytest.approx(100e-9 - 16e-9)
    assert float(awg.handle("FUNC:PULS:TRAN?")) <= 0.625 * (100e-9 - 16e-9)
    assert queue_empty(awg)


def test_bus_triggered_burst_takes_its_virtual_time(awg):
    awg.handle("SOUR1:FUNC PULS;:SOUR1:FUNC:PULS:PER 10e-6;:SOUR1:FUNC:PULS:WIDT 1e-6")
    awg.handle("SOUR1:BURS:STAT ON;:SOUR1:BURS:NCYC 25;:TRIG1:SOUR BUS;:TRIG1:DEL 1e-6;:OUTP1 ON")
    t0 = awg.links[1].now_s
    awg.handle("*TRG;*WAI")
    assert awg.links[1].now_s - t0 == pytest.approx(1e-6 + 25 * 10e-6)
    awg.handle("OUTP1 OFF")
    awg.handle("*TRG")  # output off: nothing plays, no time passes
    assert awg.links[1].now_s - t0 == pytest.approx(1e-6 + 25 * 10e-6)
    awg.handle("OUTP1 ON;:TRIG1:SOUR IMM;:TRIG1:DEL 0")
    awg.handle("TRIG1")  # forced trigger plays whatever the source
    assert awg.links[1].now_s - t0 == pytest.approx(1e-6 + 50 * 10e-6)
    assert queue_empty(awg)


def test_burst_waveform_shape(awg):
    awg.handle("FUNC PULS;:FUNC:PULS:PER 1e-3;:FUNC:PULS:WIDT 100e-6;:FUNC:PULS:TRAN 20e-9")
    awg.handle("VOLT:HIGH 1;:VOLT:LOW 0")
    t, v = awg._one_cycle(awg.ch[1])
    assert v[0] == 0 and v.max() == pytest.approx(1.0)
    # width measured at the 50 % points, as the instrument defines it
    t_up = np.interp(0.5, v[:2], t[:2])
    t_down = np.interp(0.5, v[2:4][::-1], t[2:4][::-1])
    assert t_down - t_up == pytest.approx(100e-6)
    assert t[-1] == pytest.approx(1e-3)


def test_arb_upload_catalog_and_duplicate_name(awg):
    awg.handle("SOUR1:DATA:ARB:DAC pulse1, 0, 32767, 32767, 0, 0, 0, 0, 0")
    awg.handle("SOUR1:DATA:ARB pulse2, 0, 1, 1, 0, 0, 0, 0, -1")
    assert awg.handle("SOUR1:DATA:VOL:CAT?") == '"pulse1","pulse2"'
    awg.handle("SOUR1:DATA:ARB:DAC pulse1, 0, 1, 2, 3, 4, 5, 6, 7")
    assert awg.handle("SYST:ERR?").startswith("-221,")
    awg.handle("SOUR1:DATA:ARB:DAC shorty, 0, 1, 2")  # fewer than 8 points
    assert awg.handle("SYST:ERR?").startswith("-222,")
    awg.handle("SOUR1:DATA:ARB:DAC big, 0, 40000, 2, 3, 4, 5, 6, 7")
    assert awg.handle("SYST:ERR?").startswith("-222,")
    awg.handle("SOUR1:FUNC:ARB nothere")
    assert awg.handle("SYST:ERR?").startswith("-224,")
    awg.handle("SOUR1:FUNC:ARB pulse1;:SOUR1:FUNC ARB;:SOUR1:FUNC:ARB:SRAT 1e6")
    assert awg.handle("SOUR1:FUNC:ARB:POIN?") == "8"
    # a binary block of big-endian int16 DAC codes (FORM:BORD NORM)
    codes = np.array([0, 100, -100, 32767, -32767, 0, 5, 6], dtype=">i2").tobytes()
    block = f"#2{len(codes):02d}".encode() + codes
    awg.handle(b"SOUR1:DATA:ARB:DAC blk, " + block)
    assert queue_empty(awg)
    assert np.allclose(awg.ch[1].arbs["blk"] * 32767, [0, 100, -100, 32767, -32767, 0, 5, 6])
    awg.handle("SOUR1:DATA:VOL:CLE")
    assert awg.handle("SOUR1:DATA:VOL:CAT?") == '""'


def test_extension_driver_uploads_sampled_volts(awg):
    g = driver(Agilent33500Ext, awg)
    samples = np.zeros(64)
    samples[10:13] = 1.4
    scaling = g.ch_1.upload_arb_volts("spk", samples, 10e-9)
    assert queue_empty(awg)
    assert g.ch_1.arb_points == 64
    c = awg.ch[1]
    assert (c.high_v, c.low_v) == pytest.approx((1.4, 0.0))
    assert c.arb_srate == pytest.approx(1e8)
    assert scaling.amplitude_vpp == pytest.approx(1.4)
    g.sync_enabled = True
    g.sync_source = "CH1"
    g.ch_1.trigger_source = "BUS"
    assert g.ch_1.trigger_source == "BUS" and g.sync_source == "CH1"
    assert queue_empty(awg)
