"""33500B/33521A and 81160A extensions: absolute-level spike-train upload, per-channel trigger, sync."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from instruments.drivers.agilent33500 import Agilent33500Ext, Agilent33521AExt, scale_to_dac
from instruments.drivers.keysight81160a import Keysight81160AExt


def test_scaling_reproduces_the_sampled_voltages():
    samples = np.array([0.0, 0.0, 1.5, 1.5, 0.0, -0.3, 0.0, 0.0])
    scaling = scale_to_dac(samples, 32767)
    assert scaling.amplitude_vpp == pytest.approx(1.8)
    assert scaling.offset_v == pytest.approx(0.6)
    rebuilt = scaling.offset_v + scaling.codes / 32767 * scaling.amplitude_vpp / 2
    np.testing.assert_allclose(rebuilt, samples, atol=1.8 / 65534)
    assert scaling.codes.max() == 32767 and scaling.codes.min() == -32767


def test_constant_waveform_is_refused():
    with pytest.raises(ValueError, match="constant"):
        scale_to_dac([0.2] * 8, 32767)


def test_33500_spike_train_upload_on_channel_2():
    samples = [0, 0, 1, 1, 0, 0, 0, 0]  # 0 V base, 1 V spikes -> 1 Vpp around 0.5 V
    with expected_protocol(
        Agilent33500Ext,
        [
            ("SOUR2:DATA:VOL:CLE", None),
            ("SOUR2:DATA:ARB:DAC SPK1, -32767, -32767, 32767, 32767, -32767, -32767, -32767, -32767", None),
            ("SOUR2:FUNC:ARB SPK1", None),
            ("SOUR2:FUNC ARB", None),
            ("SOUR2:FUNC:ARB:SRAT 10000000.000000", None),
            ("SOUR2:FUNC:ARB:FILT OFF", None),
            ("SOUR2:VOLT 1.000000", None),
            ("SOUR2:VOLT:OFFS 0.500000", None),
        ],
    ) as awg:
        scaling = awg.ch_2.upload_arb_volts("SPK1", samples, 100e-9)
    assert scaling.amplitude_vpp == 1.0 and scaling.offset_v == 0.5


def test_33500_per_channel_trigger_sync_and_abort():
    with expected_protocol(
        Agilent33500Ext,
        [
            ("TRIG1:SOUR BUS", None),
            ("TRIG2:SOUR?", "EXT"),
            ("OUTP:SYNC:SOUR CH2", None),
            ("OUTP:SYNC 1", None),
            ("OUTP:SYNC?", "0"),
            ("SOUR1:FUNC:ARB:POIN?", "1000"),
            ("ABOR", None),
        ],
    ) as awg:
        awg.ch_1.trigger_source = "BUS"
        assert awg.ch_2.trigger_source == "EXT"
        awg.sync_source = "CH2"
        awg.sync_enabled = True
        assert awg.sync_enabled is False
        assert awg.ch_1.arb_points == 1000
        awg.abort()


def test_33500_arb_limits_are_checked_before_sending():
    with expected_protocol(Agilent33500Ext, []) as awg:
        with pytest.raises(ValueError, match="8 to 65536"):
            awg.ch_1.upload_arb_volts("SPK", [0, 1, 0], 1e-6)
        with pytest.raises(ValueError, match="name"):
            awg.ch_1.upload_arb_volts("2 bad", [0, 1] * 4, 1e-6)
        with pytest.raises(ValueError, match="sample_interval_s"):
            awg.ch_1.upload_arb_volts("SPK", [0, 1] * 4, 0)


def test_33521a_has_only_channel_1():
    with expected_protocol(Agilent33521AExt, [("SOUR1:FUNC PULS", None)]) as awg:
        awg.ch_1.shape = "PULS"
        assert awg.ch_2 is None


def test_81160a_user_waveform_keeps_absolute_levels():
    with expected_protocol(
        Keysight81160AExt,
        [
            (":DATA1:DAC VOLATILE, -8191, 8191, -8191, -8191", None),
            (":FUNC1:USER VOLATILE", None),
            (":FUNC1 USER", None),
            (":FREQ1 250000", None),
            (":VOLT1 2.000000", None),
            (":VOLT1:OFFS 1.000000", None),
        ],
    ) as gen:
        scaling = gen.ch_1.upload_user_volts([0, 2, 0, 0], 1e-6)
    assert scaling.offset_v == 1.0


def test_33500_burst_count_is_validated_as_a_range():
    """The 33500B's whole burst-count range (1 to 1e8) is accepted, and nothing outside it is sent."""
    with expected_protocol(
        Agilent33500Ext,
        [
            ("SOUR1:BURS:NCYC 100000000", None),
            ("SOUR2:BURS:NCYC 5", None),
            ("SOUR2:BURS:NCYC?", "+5.000000000000000E+00"),
            ("BURS:NCYC 1", None),
        ],
    ) as awg:
        awg.ch_1.burst_ncycles = 100_000_000  # upstream's range(1, 100000) refuses 100000 and above
        awg.ch_2.burst_ncycles = 5
        assert awg.ch_2.burst_ncycles == 5
        awg.burst_ncycles = 1
        for bad in (0, 100_000_001, -3):
            with pytest.raises(ValueError, match="not in range"):
                awg.ch_1.burst_ncycles = bad


def test_dynamic_properties_keep_pymeasures_reserved_names():
    """ReservedNamesAsSet (the reserved names of dynamic properties in a set, checked in one call) keeps
    PyMeasure's behaviour: an instance-level ``<property>_values`` narrows that property's range, the
    reserved name itself cannot be read, other attributes read and write as usual."""
    with expected_protocol(Agilent33500Ext, [("SOUR1:FUNC:PULS:WIDT 2.000000e-08", None)]) as awg:
        ch = awg.ch_1
        assert isinstance(ch._special_names, frozenset) and "pulse_width_values" in ch._special_names
        ch.pulse_width_values = [16e-9, 1e-6]  # stored under PyMeasure's reserved prefix
        assert ch.___pulse_width_values == [16e-9, 1e-6]
        with pytest.raises(AttributeError, match="reserved"):
            ch.pulse_width_values
        with pytest.raises(ValueError):
            ch.pulse_width = 2e-6  # outside the narrowed range: refused before anything is written
        ch.pulse_width = 20e-9
        ch.note = "kept"
        assert ch.note == "kept" and ch.id == 1
