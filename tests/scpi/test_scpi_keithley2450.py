"""Keithley 2450 model: PyMeasure's driver, our native-sweep driver extension, errors, timing."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.instruments.keithley import Keithley2450 as PmKeithley2450

from instruments.drivers.keithley2450 import Keithley2450Native

from tests.helpers.scpi import driver, queue_empty


def test_pymeasure_driver_operations_leave_queue_empty(smu):
    k = driver(PmKeithley2450, smu)
    steps = [
        lambda: k.id,
        k.reset,
        lambda: k.apply_voltage(compliance_current=1e-3),
        lambda: setattr(k, "source_voltage", 0.5),
        lambda: k.measure_current(nplc=0.1),
        k.enable_source,
        lambda: k.current,
        lambda: k.source_enabled,
        lambda: setattr(k, "current_range", 1.05e-4),
        lambda: setattr(k, "compliance_current", 2e-3),
        lambda: setattr(k, "source_voltage_range", 2),
        lambda: setattr(k, "source_voltage_delay", 0.01),
        lambda: setattr(k, "source_voltage_delay_auto", True),
        lambda: k.apply_current(compliance_voltage=2),
        lambda: setattr(k, "source_current", 1e-6),
        lambda: setattr(k, "source_current_range", 1e-5),
        lambda: setattr(k, "source_current_delay", 0.001),
        lambda: setattr(k, "compliance_voltage", 3),
        lambda: k.measure_voltage(nplc=1),
        lambda: k.voltage,
        lambda: setattr(k, "voltage_range", 2),
        lambda: setattr(k, "voltage_nplc", 0.5),
        lambda: k.measure_resistance(),
        lambda: setattr(k, "resistance_range", 2e5),
        lambda: setattr(k, "resistance_nplc", 1),
        lambda: setattr(k, "wires", 4),
        lambda: setattr(k, "current_filter_type", "MOV"),
        lambda: setattr(k, "current_filter_count", 5),
        lambda: setattr(k, "current_filter_state", "ON"),
        lambda: setattr(k, "voltage_filter_type", "REP"),
        lambda: setattr(k, "voltage_filter_count", 3),
        lambda: setattr(k, "current_output_off_state", "HIMP"),
        lambda: setattr(k, "voltage_output_off_state", "NORM"),
        lambda: setattr(k, "buffer_points", 20),
        lambda: k.config_buffer(5),
        k.start_buffer,
        k.wait_for_buffer,
        lambda: k.buffer_data,
        lambda: k.means,
        lambda: k.maximums,
        lambda: k.minimums,
        lambda: k.standard_devs,
        k.reset_buffer,
        k.disable_buffer,
        k.stop_buffer,
        k.use_rear_terminals,
        k.use_front_terminals,
        lambda: k.beep(440, 0.1),
        k.trigger,
        lambda: k.auto_range_source(),
        k.disable_source,
        lambda: k.complete,
        lambda: k.status,
        k.clear,
    ]
    for i, step in enumerate(steps):
        step()
        assert queue_empty(smu), f"step {i} left an error"
    assert k.check_errors() == []


def test_settings_read_back_in_driver_units(smu):
    k = driver(PmKeithley2450, smu)
    k.apply_voltage(compliance_current=1e-3)
    k.source_voltage = 0.25
    assert k.source_mode == "voltage"
    assert k.source_voltage == pytest.approx(0.25)
    assert k.compliance_current == pytest.approx(1e-3)
    k.current_range = 1.05e-4  # the 2450 picks the range that holds the value
    assert k.current_range == pytest.approx(1e-3)
    k.apply_current(compliance_voltage=5)
    assert k.source_mode == "current"
    assert k.compliance_voltage == pytest.approx(5)
    assert smu.handle(":SENS:FUNC?") == '"CURR:DC"'
    assert smu.handle("OUTPUT?") == "0"
    k.enable_source()
    assert k.source_enabled is True
    k.wires = 4
    assert k.wires == 4
    k.current_output_off_state = "ZERO"
    assert k.current_output_off_state == "ZERO"


def test_config_buffer_fills_and_sets_buffer_full_bits(smu):
    k = driver(PmKeithley2450, smu)
    k.config_buffer(points=8)
    assert not k.is_buffer_full()
    k.start_buffer()
    k.wait_for_buffer(timeout=1)
    assert k.is_buffer_full()
    assert len(k.buffer_data) == 8
    k.reset_buffer()
    assert smu.handle(":TRAC:ACT?") == "0"


def test_unknown_header_no_reply_then_in_sync(smu):
    assert smu.handle(":SOUR:VOLT:FOO 1") is None
    assert smu.handle(":SOUR:VOLT:LEV?") == "0.000000E+00"
    assert smu.handle("SYST:ERR?").startswith('-113,"Undefined header;1;')
    assert queue_empty(smu)


@pytest.mark.parametrize(
    "command, query, before",
    [
        (":SOUR:VOLT:ILIM 5", ":SOUR:VOLT:ILIM?", "1.050000E-04"),
        (":SOUR:VOLT:ILIM 1e-12", ":SOUR:VOLT:ILIM?", "1.050000E-04"),
        (":SOUR:CURR:VLIM 500", ":SOUR:CURR:VLIM?", "2.100000E+01"),
        (":SENS:CURR:NPLC 20", ":SENS:CURR:NPLC?", "1.000000E+00"),
        (":SOUR:VOLT 300", ":SOUR:VOLT?", "0.000000E+00"),
        (":SOUR:CURR 2", ":SOUR:CURR?", "0.000000E+00"),
    ],
)
def test_out_of_range_queues_222_and_keeps_setting(smu, command, query, before):
    assert smu.handle(query) == before
    assert smu.handle(command) is None
    assert smu.handle(query) == before
    assert smu.handle("SYST:ERR?").startswith("-222,")
    assert queue_empty(smu)


def test_level_beyond_fixed_range_refused(smu):
    smu.handle(":SOUR:VOLT:RANG 2")
    assert smu.handle(":SOUR:VOLT:RANG?;:SOUR:VOLT:RANG:AUTO?") == "2.000000E+00;0"
    smu.handle(":SOUR:VOLT 5")
    assert smu.handle("SYST:ERR?").startswith("-222,")
    smu.handle(":SOUR:VOLT 2.1")
    assert smu.handle(":SOUR:VOLT?") == "2.100000E+00"


def test_native_linear_sweep_1000_points_in_three_exchanges_and_virtual_time(smu):
    k = driver(Keithley2450Native, smu)
    k.write(':SOUR:FUNC VOLT;:SENS:FUNC "CURR";:SENS:CURR:NPLC 0.1;:SOUR:VOLT:ILIM 1e-3')
    adapter = k.adapter
    before = adapter.exchanges
    t0 = smu.link.now_s
    k.sweep_voltage_linear(0.0, 2.0, 1000, delay_s=1e-3, fail_abort=False)
    k.write(":INIT;*WAI")
    readings, sources = k.buffer_readings(1000)
    assert adapter.exchanges - before == 3
    assert readings.size == 1000 and sources.size == 1000
    elapsed = smu.link.now_s - t0
    assert elapsed == pytest.approx(1000 * (1e-3 + 0.1 / 60.0), rel=1e-9)
    assert smu.handle(':TRAC:ACT? "defbuffer1"') == "1000"
    rel = np.array(smu.handle(':TRAC:DATA? 1, 3, "defbuffer1", REL').split(","), dtype=float)
    assert np.diff(rel) == pytest.approx([1e-3 + 0.1 / 60] * 2, abs=1.5e-6)  # 6 decimals
    assert queue_empty(smu)


def test_sweep_variants_and_list_in_chunks(smu):
    k = driver(Keithley2450Native, smu)
    levels = np.round(np.linspace(-1, 1, 250), 6)
    k.set_voltage_list(levels)
    assert k.source_list_voltage_points == 250
    k.sweep_voltage_list(start_index=1, delay_s=0, count=2)
    k.initiate()
    k.wait()
    assert k.buffer_actual == 500
    _, sources = k.buffer_readings(500)
    assert sources.size == 500
    smu.handle(':SOUR:SWE:VOLT:LIN:STEP 0, 1, 0.25, 0, 1, AUTO, OFF, ON, "defbuffer1"')
    smu.handle(":INIT")
    assert smu.handle(":TRAC:ACT?") == "10"  # 5 points up, 5 back (dual)
    smu.handle(":SOUR:SWE:VOLT:LOG 1e-3, 1, 4, 0")
    smu.handle(":INIT")
    assert smu.handle(":TRAC:ACT?") == "4"
    assert queue_empty(smu)


def test_sweep_needs_matching_source_function_and_valid_points(smu):
    smu.handle(":SOUR:SWE:CURR:LIN 0, 1e-6, 10")
    assert smu.handle("SYST:ERR?").startswith("-221,")
    smu.handle(":SOUR:SWE:VOLT:LIN 0, 1, 1")
    assert smu.handle("SYST:ERR?").startswith("-222,")
    smu.handle(':SOUR:SWE:VOLT:LIN 0, 1, 10, 0, 1, BEST, OFF, OFF, "nobuffer"')
    assert smu.handle("SYST:ERR?").startswith("-224,")
    smu.handle(":TRAC:DATA? 1, 5")
    assert smu.handle("SYST:ERR?").startswith("-222,")  # empty buffer: indices out of range


def test_read_with_elements_and_fetch(smu):
    smu.handle(":SOUR:VOLT 0.1;:OUTP ON;:SENS:CURR:NPLC 1")
    t0 = smu.link.now_s
    values = smu.handle(':READ? "defbuffer1", READ, SOUR, REL').split(",")
    assert len(values) == 3
    # autodelay (first reading after the level changed) plus one power-line cycle at 60 Hz
    assert smu.link.now_s - t0 == pytest.approx(1e-3 + 1 / 60)
    assert smu.handle(":FETC?") == values[0]
    smu.handle(":SENS:COUN 4;:READ?")
    assert smu.handle(":TRAC:ACT?") == "5"
    assert smu.handle(":SYST:LFR?") == "60"
    assert smu.handle("*LANG?") == "SCPI"


def test_buffer_fill_continuous_keeps_newest(smu):
    smu.handle(':TRAC:POIN 10, "defbuffer1";:SOUR:VOLT 0.5;:OUTP ON;:SENS:COUN 7')
    for _ in range(5):
        smu.handle(":TRAC:TRIG")
    assert smu.handle(":TRAC:ACT?") == "10"
    assert smu.handle(":TRAC:POIN?") == "10"
    rel = np.array(smu.handle(':TRAC:DATA? 1, 10, "defbuffer1", REL').split(","), dtype=float)
    assert rel[0] == 0 and np.all(np.diff(rel) > 0)  # the newest ten, oldest first
    assert queue_empty(smu)
